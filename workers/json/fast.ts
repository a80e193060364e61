// The json format's fast path: the record's bytes are checked to be one valid JSON object and copied to
// the output as they are — no parse into objects, no decode and re-encode. Whitespace outside strings is
// dropped (CloudTrail writes none, so usually the record is copied in one piece). Byte for byte the same
// as the reference (reference.ts: JSON.parse, then the source text minified), which the tests check.
//
// Strings are scanned byte by byte: a JSON string may not hold raw control characters and its escapes
// must be valid, and both need a look at every byte (bench/json-slice.bench.ts). Invalid UTF-8 is left to
// the caller (isUtf8 first): the reference decodes it with replacement characters.

import type { OutputBuilder } from '../frames.ts'
import { isDigit, isHex, skipSpace } from '../json-bytes.ts'

const enum T {
  Value, // a value must come
  FirstValue, // after '[': a value or ']'
  FirstKey, // after '{': a key or '}'
  Key, // after ',' in an object: a key
  Colon,
  After, // after a value: ',' or the container's close
}

/** -1: not valid JSON; -2: the bytes ran out before the token (or record) ended. */
const INVALID = -1
const INCOMPLETE = -2

/** Words in platform order; computed here, not imported, as ../json-bytes.ts says why. */
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1
/**
 * The index (0-3) within a word read in platform order of the first byte flagged in `t` (not 0): SWAR
 * tests flag a byte by its top bit. Here, not imported: ../json-bytes.ts says why.
 */
const firstFlagged = LE ? (t: number): number => (31 - Math.clz32(t & -t)) >> 3 : (t: number): number => Math.clz32(t) >> 3

/**
 * Flags (top bit of each byte) the bytes of a 4-byte word that may be '"', '\\' or below 0x20: SWAR, four
 * bytes per step. Borrows can flag a byte that is none of them; the caller looks at the byte itself.
 */
function special(x: number): number {
  const q = x ^ 0x22222222
  const b = x ^ 0x5c5c5c5c
  return (((q - 0x01010101) & ~q) | ((b - 0x01010101) & ~b) | ((x - 0x20202020) & ~x)) & 0x80808080
}

/**
 * Index after the string starting at `i` (its opening quote), INVALID or INCOMPLETE. Four bytes at a time
 * up to the next byte that may matter (parse --threads 1 --format json over the bench data set, 200 files:
 * 2.19 s with the byte loop, 1.84 s with this; single runs on a quiet machine).
 */
function skipString(buf: Uint8Array, view: DataView, i: number, end: number): number {
  for (i++; i < end; i++) {
    while (i + 4 <= end) {
      const t = special(view.getInt32(i, LE))
      if (t !== 0) {
        i += firstFlagged(t)
        break
      }
      i += 4
    }
    if (i >= end) return INCOMPLETE
    const c = buf[i]
    if (c === 0x22) return i + 1
    if (c < 0x20) return INVALID
    if (c === 0x5c) {
      if (++i >= end) return INCOMPLETE
      const e = buf[i]
      if (e === 0x75) {
        if (i + 4 >= end) return INCOMPLETE
        if (!isHex(buf[i + 1]) || !isHex(buf[i + 2]) || !isHex(buf[i + 3]) || !isHex(buf[i + 4])) return INVALID
        i += 4
      } else if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
        return INVALID
      }
    }
  }
  return INCOMPLETE
}

/**
 * Index after the number starting at `i`, INVALID or INCOMPLETE (JSON's grammar: no leading zeros, no
 * bare dot). A number is never last in a record, so one that reaches `end` is INCOMPLETE.
 */
function skipNumber(buf: Uint8Array, i: number, end: number): number {
  if (buf[i] === 0x2d) i++
  if (i >= end) return INCOMPLETE
  if (buf[i] === 0x30) i++
  else if (isDigit(buf[i])) while (i < end && isDigit(buf[i])) i++
  else return INVALID
  if (i < end && buf[i] === 0x2e) {
    i++
    if (i >= end) return INCOMPLETE
    if (!isDigit(buf[i])) return INVALID
    while (i < end && isDigit(buf[i])) i++
  }
  if (i < end && (buf[i] === 0x65 || buf[i] === 0x45)) {
    i++
    if (i < end && (buf[i] === 0x2b || buf[i] === 0x2d)) i++
    if (i >= end) return INCOMPLETE
    if (!isDigit(buf[i])) return INVALID
    while (i < end && isDigit(buf[i])) i++
  }
  return i >= end ? INCOMPLETE : i
}

function literal(buf: Uint8Array, i: number, end: number, word: readonly number[]): number {
  for (let k = 0; k < word.length; k++) {
    if (i + k >= end) return INCOMPLETE
    if (buf[i + k] !== word[k]) return INVALID
  }
  return i + word.length
}

const TRUE = [0x74, 0x72, 0x75, 0x65]
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65]
const NULL = [0x6e, 0x75, 0x6c, 0x6c]

export class JsonSlicer {
  /** Open containers: 1 for an object, 0 for an array; as many as maxDepth (the record itself is one). */
  private readonly stack: Uint8Array

  constructor(maxDepth: number) {
    // maxDepth + 1 here let a record nested one deeper than max_depth through, which the cutter, and so
    // the reference path, skip as record_too_deep.
    this.stack = new Uint8Array(maxDepth)
  }

  /** Whether the last scan() saw whitespace outside strings. */
  hasSpace = false
  /** Where the last record's top-level eventTime string is (without quotes): start -1 when it had none. */
  timeStart = -1
  timeEnd = -1
  private viewBuf: Uint8Array | null = null
  private view: DataView = new DataView(new ArrayBuffer(0) as ArrayBufferLike)

  private viewOf(buf: Uint8Array): DataView {
    if (buf !== this.viewBuf) {
      this.viewBuf = buf
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    }
    return this.view
  }

  /**
   * Reads one JSON object starting at `start` (its '{'), no further than `limit`: the index after its
   * closing brace when it is valid, INVALID (-1), or INCOMPLETE (-2) when the bytes run out first.
   * Sets hasSpace. Nesting deeper than maxDepth is INVALID.
   */
  scan(buf: Uint8Array, start: number, limit: number): number {
    const stack = this.stack
    const view = this.viewOf(buf)
    if (buf[start] !== 0x7b || stack.length === 0) return INVALID
    stack[0] = 1
    let depth = 1
    let state = T.FirstKey
    let space = false
    let timeValue = false
    this.timeStart = -1
    for (let i = start + 1; i < limit; ) {
      const c = buf[i]
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        space = true
        i++
        continue
      }
      switch (state) {
        case T.FirstValue:
          if (c === 0x5d) {
            depth--
            i++
            state = T.After
            continue
          }
        // falls through: a value
        case T.Value:
          if (c === 0x7b || c === 0x5b) {
            if (depth >= stack.length) return INVALID
            stack[depth++] = c === 0x7b ? 1 : 0
            state = c === 0x7b ? T.FirstKey : T.FirstValue
            i++
            continue
          }
          if (c === 0x22) {
            const s = i
            i = skipString(buf, view, i, limit)
            if (timeValue && depth === 1 && i > 0) {
              this.timeStart = s + 1
              this.timeEnd = i - 1
            }
          } else if (c === 0x74) i = literal(buf, i, limit, TRUE)
          else if (c === 0x66) i = literal(buf, i, limit, FALSE)
          else if (c === 0x6e) i = literal(buf, i, limit, NULL)
          else i = skipNumber(buf, i, limit)
          if (i < 0) return i
          state = T.After
          continue
        case T.FirstKey:
          if (c === 0x7d) {
            if (--depth === 0) {
              this.hasSpace = space
              return i + 1
            }
            i++
            state = T.After
            continue
          }
        // falls through: a key
        case T.Key:
          if (c !== 0x22) return INVALID
          {
            const s = i
            i = skipString(buf, view, i, limit)
            if (i < 0) return i
            // The top-level eventTime, noted for cloudtrail_event_lag_seconds: `"eventTime"` is 11 bytes.
            timeValue = depth === 1 && i - s === 11 && isEventTime(buf, s + 1)
          }
          state = T.Colon
          continue
        case T.Colon:
          if (c !== 0x3a) return INVALID
          i++
          state = T.Value
          continue
        case T.After:
          if (c === 0x2c) {
            state = stack[depth - 1] === 1 ? T.Key : T.Value
            i++
            continue
          }
          if (c !== (stack[depth - 1] === 1 ? 0x7d : 0x5d)) return INVALID
          if (--depth === 0) {
            this.hasSpace = space
            return i + 1
          }
          i++
          continue
      }
    }
    return INCOMPLETE
  }

  /** True when buf[start, end) is exactly one valid JSON object (whitespace around it allowed). */
  valid(buf: Uint8Array, start: number, end: number): boolean {
    const close = this.scan(buf, skipSpace(buf, start, end), end)
    return close >= 0 && skipSpace(buf, close, end) === end
  }

  /** Writes the record without whitespace outside strings. Call after valid(). */
  copy(buf: Uint8Array, start: number, end: number, hasSpace: boolean, out: OutputBuilder): void {
    if (!hasSpace) {
      out.writeBytes(buf, start, end)
      return
    }
    let from = start
    let i = start
    while (i < end) {
      const c = buf[i]
      if (c === 0x22) {
        i = skipString(buf, this.viewOf(buf), i, end)
        continue
      }
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        if (i > from) out.writeBytes(buf, from, i)
        from = i + 1
      }
      i++
    }
    if (end > from) out.writeBytes(buf, from, end)
  }
}

const EVENT_TIME = new TextEncoder().encode('eventTime')

function isEventTime(buf: Uint8Array, at: number): boolean {
  for (let k = 0; k < EVENT_TIME.length; k++) if (buf[at + k] !== EVENT_TIME[k]) return false
  return true
}
