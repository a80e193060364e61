// JSON's grammar over UTF-8 bytes, as both fast paths read it (fortisiem/fast.ts and json/fast.ts): the
// byte values, whitespace, digits, hex digits, escapes, UTF-8 sequences.
//
// The byte values are a const enum, so tsc writes each one into the module that uses it as a literal: a
// value imported from another module is read through that module's binding at run time, which made the
// flattener about 27% slower when the endianness flag LE came from here (bench/flatten.bench.ts). For the
// same reason each hot module computes its own LE, and its own firstFlagged (where a SWAR word's first
// flagged byte is): a function value chosen by LE and imported from here was not inlined in the string
// scans (callgrind over json-slice.bench's files: 6,558M instructions imported, 6,356M local, 6,337M when
// it was local before the modules were split). Functions declared here cost 0-2% and are shared.

export const enum Byte {
  TAB = 0x09,
  LF = 0x0a,
  CR = 0x0d,
  SPACE = 0x20,
  QUOTE = 0x22,
  COMMA = 0x2c,
  SLASH = 0x2f,
  COLON = 0x3a,
  EQUALS = 0x3d,
  OPEN_BRACKET = 0x5b,
  BACKSLASH = 0x5c,
  CLOSE_BRACKET = 0x5d,
  OPEN_BRACE = 0x7b,
  CLOSE_BRACE = 0x7d,
  DEL = 0x7f,
}


export function isSpace(c: number): boolean {
  return c === Byte.SPACE || c === Byte.LF || c === Byte.CR || c === Byte.TAB
}

/**
 * The first index from `i` on that is not JSON whitespace, or `end`. Nothing at or past `end` is read: a
 * record that runs on into the next chunk ends at the buffer's end, and one read past it made TurboFan
 * throw the flattener's scan() away ("out of bounds").
 */
export function skipSpace(buf: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = buf[i]
    if (c > Byte.SPACE || !isSpace(c)) break
    i++
  }
  return i
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

export function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66)
}

/** The value of a hex digit, or -1. */
export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10
  return -1
}

/** Four hex digits at buf[i, i + 4) (all before `end`), or -1. */
export function hex4(buf: Uint8Array, i: number, end: number): number {
  if (i + 4 > end) return -1
  const a = hexValue(buf[i])
  const b = hexValue(buf[i + 1])
  const c = hexValue(buf[i + 2])
  const d = hexValue(buf[i + 3])
  if ((a | b | c | d) < 0) return -1
  return (a << 12) | (b << 8) | (c << 4) | d
}

/** The length of the escape at buf[i] (a backslash) as JSON has it, or -1. */
export function escapeLength(buf: Uint8Array, i: number, end: number): number {
  if (i + 1 >= end) return -1
  switch (buf[i + 1]) {
    case Byte.QUOTE:
    case Byte.BACKSLASH:
    case Byte.SLASH:
    case 0x62 /* b */:
    case 0x66 /* f */:
    case 0x6e /* n */:
    case 0x72 /* r */:
    case 0x74 /* t */:
      return 2
    case 0x75 /* u */:
      return hex4(buf, i + 2, end) < 0 ? -1 : 6
    default:
      return -1
  }
}

/**
 * The length of the UTF-8 sequence starting at buf[i] (a byte >= 0x80), or -1 when it is not valid UTF-8
 * (overlong, a surrogate, past U+10FFFF, cut short): what isUtf8() and the WHATWG decoder call invalid.
 */
export function utf8Length(buf: Uint8Array, i: number, end: number): number {
  const b = buf[i]
  let n: number
  let lo = 0x80
  let hi = 0xbf
  if (b >= 0xc2 && b <= 0xdf) n = 2
  else if (b >= 0xe0 && b <= 0xef) {
    n = 3
    if (b === 0xe0) lo = 0xa0
    else if (b === 0xed) hi = 0x9f
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4
    if (b === 0xf0) lo = 0x90
    else if (b === 0xf4) hi = 0x8f
  } else return -1
  if (i + n > end) return -1
  const b1 = buf[i + 1]
  if (b1 < lo || b1 > hi) return -1
  for (let k = 2; k < n; k++) if ((buf[i + k] & 0xc0) !== 0x80) return -1
  return n
}

/** Whether buf[s, e) is valid UTF-8. */
export function validUtf8(buf: Uint8Array, s: number, e: number): boolean {
  while (s < e) {
    if (buf[s] < 0x80) s++
    else {
      const n = utf8Length(buf, s, e)
      if (n < 0) return false
      s += n
    }
  }
  return true
}


/**
 * The same bytes as a plain Uint8Array. Callers hand over Buffers (a chunk of the inflated object) and
 * Uint8Arrays (the cutter's carry, for a record across two chunks); every function that reads the record
 * then saw two maps, and TurboFan threw its code for the flattener's scan() away on the second
 * (--trace-deopt: "wrong map"; scan() costs 60 ms of compilation each time, on V8's helper threads).
 */
export function plainBytes(buf: Uint8Array): Uint8Array {
  return buf.constructor === Uint8Array ? buf : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}
