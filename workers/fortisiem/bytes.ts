// The FortiSIEM fast path's byte helpers (fast.ts, keys.ts, plans.ts): the SWAR tests that find where a
// key's or a value's plain run ends, the reference's way of finding a string's end, the format's escapes
// as bytes, and growing scratch arrays. JSON's own byte grammar is in ../json-bytes.ts.

import { Byte } from '../json-bytes.ts'

const pieceDecoder = new TextDecoder('utf-8', { ignoreBOM: true })
const HEX = new TextEncoder().encode('0123456789abcdef')

export type Bytes = Uint8Array<ArrayBuffer>
export type Ints = Int32Array<ArrayBuffer>

/**
 * Where a plain run of a key ends (SWAR: byte b is flagged by (b - m) & ~b & 0x80; never when no such byte
 * is there): a quote, a backslash, a control character, or a byte of a multi-byte UTF-8 sequence (checked
 * one by one: rare in CloudTrail). The high bit of each flagged byte of the word; the first
 * (lowest-addressed) flagged byte is always a real one, flags may be spurious only after it. Measured:
 * scanning 4 bytes a word through a DataView is 2.8x faster than byte by byte.
 */
export function specialOrHigh(x: number): number {
  const q = x ^ 0x22222222
  const s = x ^ 0x5c5c5c5c
  return (((q - 0x01010101) & ~q) | ((s - 0x01010101) & ~s) | ((x - 0x20202020) & ~x) | x) & 0x80808080
}

/**
 * specialOrHigh() for string values: also `[` and `]` (a value's `]=` and ` [` may need escapes) and DEL.
 * `[`, `\` and `]` are one range, 0x5b-0x5d, flagged without borrows: with each byte's high bit set first
 * (y), y - 0x5b has it still set for bytes >= 0x5b and y - 0x5e for bytes >= 0x5e (bytes < 0x80; the
 * others are flagged by `x` anyway); y - 0x7f keeps it for DEL alone.
 */
export function valueStop(x: number): number {
  const q = x ^ 0x22222222
  const y = x | 0x80808080
  return (((q - 0x01010101) & ~q) | ((x - 0x20202020) & ~x) | x | (y - 0x7f7f7f7f) | ((y - 0x5b5b5b5b) & ~(y - 0x5e5e5e5e))) & 0x80808080
}

/** The index of the quote closing the string opened at buf[open], found as the reference finds it; -1 if none. */
export function stringEnd(buf: Uint8Array, open: number, end: number): number {
  for (let q = open + 1; q < end; q++) {
    if (buf[q] !== Byte.QUOTE) continue
    let run = 0
    for (let k = q - 1; k > open && buf[k] === Byte.BACKSLASH; k--) run++
    if ((run & 1) === 0) return q
  }
  return -1
}

/** The string whose JSON text (quotes included) is buf[open, close]; null when JSON.parse rejects it. */
export function parseString(buf: Uint8Array, open: number, close: number): string | null {
  try {
    return JSON.parse(pieceDecoder.decode(buf.subarray(open, close + 1))) as string
  } catch {
    return null
  }
}

/** A character the format escapes (C0, DEL, C1, U+2028, U+2029) as it writes it: \n \r \t or \uXXXX. */
export function writeEscape(dst: Uint8Array, o: number, c: number): number {
  dst[o++] = Byte.BACKSLASH
  if (c === 0x0a) dst[o++] = 0x6e
  else if (c === 0x0d) dst[o++] = 0x72
  else if (c === 0x09) dst[o++] = 0x74
  else {
    dst[o++] = 0x75
    dst[o++] = HEX[c >> 12]
    dst[o++] = HEX[(c >> 8) & 15]
    dst[o++] = HEX[(c >> 4) & 15]
    dst[o++] = HEX[c & 15]
  }
  return o
}

/**
 * In the value written at dst[start, o), each `[` after a space with no `]` after it becomes \u005b (the
 * reference's escapeValue()); returns the value's new end. Rare: only values with such a ` [` come here.
 */
export function openBrackets(dst: Uint8Array, start: number, o: number): number {
  let from = o
  while (from > start && dst[from - 1] !== Byte.CLOSE_BRACKET) from--
  const tail = new Uint8Array(dst.subarray(from, o)) // a copy (a Buffer's slice() is a view)
  let w = from
  for (let k = 0; k < tail.length; k++) {
    if (tail[k] === Byte.OPEN_BRACKET && k > 0 && tail[k - 1] === Byte.SPACE) {
      dst[w++] = Byte.BACKSLASH
      dst[w++] = 0x75 // u
      dst[w++] = 0x30
      dst[w++] = 0x30
      dst[w++] = 0x35
      dst[w++] = 0x62
    } else dst[w++] = tail[k]
  }
  return w
}

/** Scratch arrays grown to hold `need` entries (at least twice as many as before), their contents kept. */
export function grownInt32(a: Ints, need: number): Ints {
  const b = new Int32Array(Math.max(need, a.length * 2))
  b.set(a)
  return b
}

export function grownUint8(a: Bytes, need: number): Bytes {
  const b = new Uint8Array(Math.max(need, a.length * 2))
  b.set(a)
  return b
}

