// The single-pass FortiSIEM flattener: one walk over a record's UTF-8 bytes that writes `[path]=value`
// straight into the output buffer, with no JSON.parse, no tree and no strings on the way. Its output is the
// reference's (flatten.ts), byte for byte: TextEncoder(flattenRecord(TextDecoder(bytes))); it rejects
// exactly the records the reference rejects. test/workers/flatten-fast.test.ts holds it to that.
//
// How:
// - Every field is written as `[path]=value ` (trailing space, dropped at the end of the record), so an
//   object's children are contiguous segments of the output that can be moved as wholes.
// - Keys are interned: raw key bytes -> Key (its text, its bytes as written, its rank among all keys known
//   so far in UTF-16 order). CloudTrail has a few hundred distinct keys, so after the first records a key
//   costs a hash and a compare. Ranks make "are this object's keys sorted?" an integer compare.
// - The path is a byte stack; containers are an explicit stack of frames (no recursion).
// - When an object closes and its keys were not strictly increasing, its children's segments are put in
//   order (and earlier duplicates dropped: the last one wins, as in JSON.parse) by moving bytes within the
//   output buffer. CloudTrail writes keys in its own order, so this happens for most objects.
// - String bytes are copied as they are; only escapes are undone (\uXXXX to UTF-8, surrogate pairs joined,
//   lone surrogates to U+FFFD as TextEncoder writes them) and control characters written as the format
//   says (\n \r \t \u00XX).
// - Invalid UTF-8 is left to the reference (decoded with U+FFFD, flattened, encoded): rare, and that is
//   what the reference does with it. isUtf8 costs about a tenth of a microsecond per record.
// - The top-level eventSource is upper-cased here when it is printable ASCII without escapes; otherwise
//   (escapes, non-ASCII: toUpperCase is Unicode-aware) the reference's serviceName() does it.

import { isUtf8 } from 'node:buffer'
import { RecordSyntaxError, escapeControls, flattenRecord, serviceName } from './flatten.ts'
import type { OutputBuilder } from './output.ts'

// As object-parser.ts decodes a record (a leading byte order mark dropped), and for pieces inside one
// (a U+FEFF there is a character like any other).
const decoder = new TextDecoder('utf-8')
const pieceDecoder = new TextDecoder('utf-8', { ignoreBOM: true })
const encoder = new TextEncoder()

const QUOTE = 0x22
const BACKSLASH = 0x5c
const SLASH = 0x2f
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const SPACE = 0x20
const EQUALS = 0x3d

const OBJECT = 0
const ARRAY = 1

/** Bytes kept free beyond "what is left of the record" (see the room invariant in run()). */
const SLACK = 16

const AMAZONAWS_COM = encoder.encode('.amazonaws.com')
const HEX = encoder.encode('0123456789abcdef')

/** An object key: its text (order and identity) and its bytes as the format writes them. */
class Key {
  /** Place among the interned keys in UTF-16 order; -1 for a key that is not interned. */
  rank = -1
  /** Its bytes as the format writes them, as little-endian 32-bit words (padded), and their count. */
  readonly out: Int32Array
  readonly length: number
  readonly eventSource: boolean
  constructor(readonly text: string) {
    const bytes = encoder.encode(escapeControls(text))
    this.length = bytes.length
    this.out = new Int32Array((bytes.length + 3) >> 2)
    new Uint8Array(this.out.buffer).set(bytes)
    this.eventSource = text === 'eventSource'
  }
}

/** JavaScript's default sort order (UTF-16 code units): by rank when both keys have one. */
function compareKeys(a: Key, b: Key): number {
  if (a.rank >= 0 && b.rank >= 0) return a.rank - b.rank
  return a.text < b.text ? -1 : a.text === b.text ? 0 : 1
}

/** A key as it appears in records (between the quotes, escapes and all), and what usually follows it. */
class RawKey {
  /** The bytes as little-endian 32-bit words (the last one padded with zeros), for compares 4 at a time. */
  readonly words: Int32Array
  /** The key that followed this one last time, in the same object. */
  next: RawKey | null = null
  /** The first key of the object that was this key's value (or of its array's elements) last time. */
  first: RawKey | null = null
  constructor(
    readonly hash: number,
    readonly bytes: Uint8Array,
    readonly key: Key,
  ) {
    this.words = new Int32Array((bytes.length + 3) >> 2)
    new Uint8Array(this.words.buffer).set(bytes)
  }
}

const TABLE_BITS = 14
/** Distinct keys kept; past this a key is decoded each time, and the cache starts over after the record. */
const MAX_KEYS = 4096
/** Spellings kept (a key may be written with and without escapes); at most half the table. */
const MAX_RAW = 1 << (TABLE_BITS - 1)

const HASH_SEED = 0x811c9dc5 | 0
const HASH_PRIME = 0x01000193

/** FNV-1a over 32-bit words, then the last bytes one by one: the key scan in run() computes the same. */
function hashRange(view: DataView, buf: Uint8Array, s: number, e: number): number {
  let h = HASH_SEED
  let k = s
  for (; k + 4 <= e; k += 4) h = Math.imul(h ^ view.getInt32(k, true), HASH_PRIME)
  for (; k < e; k++) h = Math.imul(h ^ buf[k], HASH_PRIME)
  return h
}

/** True when buf[s, s + raw length) spells `raw` and a quote follows (all before `end`). */
function spells(raw: RawKey, view: DataView, buf: Uint8Array, s: number, end: number): boolean {
  const bytes = raw.bytes
  const n = bytes.length
  if (s + n >= end || buf[s + n] !== QUOTE) return false
  const words = raw.words
  let k = 0
  for (; k + 4 <= n; k += 4) if (view.getInt32(s + k, true) !== words[k >> 2]) return false
  for (; k < n; k++) if (buf[s + k] !== bytes[k]) return false
  return true
}

/**
 * Whether a 32-bit word holds a byte that ends a plain run of string: a quote, a backslash or a control
 * character (SWAR: a byte b is flagged by (b - m) & ~b & 0x80; no false positives when none is there).
 */
function special(x: number): boolean {
  const q = x ^ 0x22222222
  const s = x ^ 0x5c5c5c5c
  return ((((q - 0x01010101) & ~q) | ((s - 0x01010101) & ~s) | ((x - 0x20202020) & ~x)) & 0x80808080) !== 0
}

class KeyCache {
  private table: (RawKey | undefined)[] = new Array<RawKey | undefined>(1 << TABLE_BITS).fill(undefined)
  private raws = 0
  private readonly byText = new Map<string, Key>()
  private readonly sorted: Key[] = []
  /** The first key of the last record. */
  first: RawKey | null = null

  /** Between records: a cache filled with one-off keys starts over (ranks must not change within a record's walk but may between). */
  trim(): void {
    if (this.raws >= MAX_RAW || this.sorted.length >= MAX_KEYS) {
      this.table.fill(undefined)
      this.raws = 0
      this.byText.clear()
      for (const k of this.sorted) k.rank = -1
      this.sorted.length = 0
      this.first = null
    }
  }

  find(view: DataView, buf: Uint8Array, s: number, e: number, hash: number): RawKey | undefined {
    const mask = (1 << TABLE_BITS) - 1
    const table = this.table
    const n = e - s
    for (let slot = (hash ^ (hash >>> TABLE_BITS)) & mask; ; slot = (slot + 1) & mask) {
      const raw = table[slot]
      if (raw === undefined) return undefined
      if (raw.hash === hash && raw.bytes.length === n && spells(raw, view, buf, s, e + 1)) return raw
    }
  }

  /** The key whose text is `text`, spelled buf[s, e) in the record. */
  add(buf: Uint8Array, s: number, e: number, hash: number, text: string): RawKey {
    let key = this.byText.get(text)
    if (key === undefined) {
      key = new Key(text)
      if (this.sorted.length < MAX_KEYS) {
        const sorted = this.sorted
        let lo = 0
        let hi = sorted.length
        while (lo < hi) {
          const mid = (lo + hi) >>> 1
          if (sorted[mid].text < text) lo = mid + 1
          else hi = mid
        }
        sorted.splice(lo, 0, key)
        for (let r = lo; r < sorted.length; r++) sorted[r].rank = r
        this.byText.set(text, key)
      } // else: not interned, compared by text
    }
    const raw = new RawKey(hash, buf.slice(s, e), key)
    if (this.raws < MAX_RAW) {
      const mask = (1 << TABLE_BITS) - 1
      let slot = (hash ^ (hash >>> TABLE_BITS)) & mask
      while (this.table[slot] !== undefined) slot = (slot + 1) & mask
      this.table[slot] = raw
      this.raws++
    }
    return raw
  }
}

function isSpace(c: number): boolean {
  return c === SPACE || c === 0x0a || c === 0x0d || c === 0x09
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

/** The value of a hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10
  return -1
}

/** Four hex digits at buf[i, i + 4) (all before `end`), or -1. */
function hex4(buf: Uint8Array, i: number, end: number): number {
  if (i + 4 > end) return -1
  const a = hexValue(buf[i])
  const b = hexValue(buf[i + 1])
  const c = hexValue(buf[i + 2])
  const d = hexValue(buf[i + 3])
  if ((a | b | c | d) < 0) return -1
  return (a << 12) | (b << 8) | (c << 4) | d
}

/** The index of the quote closing the string opened at buf[open], found as the reference finds it; -1 if none. */
function stringEnd(buf: Uint8Array, open: number, end: number): number {
  for (let q = open + 1; q < end; q++) {
    if (buf[q] !== QUOTE) continue
    let run = 0
    for (let k = q - 1; k > open && buf[k] === BACKSLASH; k--) run++
    if ((run & 1) === 0) return q
  }
  return -1
}

/** The string whose JSON text (quotes included) is buf[open, close]; null when JSON.parse rejects it. */
function parseString(buf: Uint8Array, open: number, close: number): string | null {
  try {
    return JSON.parse(pieceDecoder.decode(buf.subarray(open, close + 1))) as string
  } catch {
    return null
  }
}

type Bytes = Uint8Array<ArrayBuffer>
type Ints = Int32Array<ArrayBuffer>

function grownInt32(a: Ints, need: number): Ints {
  const b = new Int32Array(Math.max(need, a.length * 2))
  b.set(a)
  return b
}

function grownUint8(a: Bytes, need: number): Bytes {
  const b = new Uint8Array(Math.max(need, a.length * 2))
  b.set(a)
  return b
}

