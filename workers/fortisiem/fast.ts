// The fast FortiSIEM flattener: one pass over a record's UTF-8 bytes that checks it and notes where each
// value is, then the fields written straight into the output buffer in their final (sorted) order. No
// JSON.parse, no tree of objects, no strings on the way. The output is the reference's (flatten.ts), byte
// for byte — TextEncoder(flattenRecord(TextDecoder(bytes))) — and it rejects exactly the records the
// reference rejects; test/workers/fortisiem/fast.test.ts holds it to that.
//
// 1. scan(): the grammar, as the reference applies it, over bytes. It records the record's *shape* (a
//    token per `{` `[` `}`/`]`, per key — an interned spelling — and per scalar, string or not) and, per
//    scalar, where its bytes are and whether a string has escapes. Strings are checked 4 bytes at a time.
// 2. The shape's plan: for each field in output order, its prefix (` [path]=`, or the whole field for {} and
//    []) and which scalar fills it. Building it sorts each object's keys in UTF-16 order and drops earlier
//    duplicates (the last one wins, as in JSON.parse). CloudTrail has a few thousand shapes (event type ×
//    identity type × optional fields), so plans are cached by shape and almost every record finds its own.
// 3. emit(): per field, the prefix and the value's bytes, copied 4 at a time; the string values the scan
//    marked (JSON escapes, or characters the format escapes) a character at a time: JSON escapes undone
//    (\uXXXX to UTF-8, surrogate pairs joined, lone surrogates to U+FFFD as TextEncoder writes them), and
//    written as the format's grammar says (flatten.ts, README "Output": \\, \n \r \t \uXXXX for
//    C0, DEL, C1, U+2028 and U+2029, ]\= for `]=`, \u005b for a `[` after a space with no `]` after it).
// The fields of one record may come to at most `maxBytes` (max_record_size): checked while the plan's
// prefixes are built (one long key over a long array makes gigabytes of them) and while the fields are
// written; such a record is refused with RecordTooLargeError and the output left as it was.
//
// Measured choices (bench/flatten.bench.ts's file, µs per record on this 2-core machine, JSON.parse ~4.1):
// - Plans instead of writing fields as they come and reordering each object's segments when it closes
//   (the first version of this file): CloudTrail's key order is not sorted, so nearly every object needed
//   it, and moving the bytes was 38% of the time (6.6 in place; 4.2 with the moves left out).
// - Words of 4 bytes through DataView for scanning and copying: 0.48 ns/byte to find a string's end
//   against 1.23 byte by byte, 0.34 against 1.12 to copy. Flagging `[` `]` and DEL in the same words too
//   (valueStop(), for the grammar's escapes): within the benchmark's noise on the file and on the corpus
//   (5.5-6.1 µs before, 5.6-5.8 after; corpus 4.2-4.8, 4.1-4.3); the word test alone costs about 0.2 µs
//   per record of the file's 1,209 bytes of strings, nothing measurable of the corpus's 787.
// - UTF-8 checked in the scan (only strings may hold bytes >= 0x80) rather than by isUtf8() over the record
//   first: that call and its view cost 0.3-0.4 of the 4.7 it took then.
// - Keys interned (raw spelling -> Key: text, bytes as written, rank among known keys in UTF-16 order); the
//   key that followed the previous one last time in the same kind of object is tried first, 4 bytes at a
//   time, before any hashing: 4.1 lookups per record are left of 40 keys (6.9 when the prediction did not
//   depend on the parent key).
// Invalid UTF-8 goes to the reference (decoded with U+FFFD as the WHATWG decoder does): rare, and exact.
// The top-level eventSource is upper-cased here when it is printable ASCII without escapes; otherwise
// (escapes, non-ASCII: toUpperCase is Unicode-aware) the reference's serviceName() does it.
// Nothing recurses: containers are an explicit stack of frames. One instance keeps its caches from record
// to record and file to file: use one per thread, not one per file.

import { RecordSyntaxError, RecordTooLargeError, escapeKey, escapeValue, flattenRecord, isStackOverflow, serviceName } from './reference.ts'
import type { OutputBuilder } from '../frames.ts'

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
const DEL = 0x7f

/** Bytes of room kept beyond what a field needs: word copies may write up to 3 bytes past their end. */
const SLACK = 16
/** The most a byte of a marked string value can become: DEL is \u007f. */
const EXPANSION = 6

const AMAZONAWS_COM = encoder.encode('.amazonaws.com')
const HEX = encoder.encode('0123456789abcdef')

// Shape tokens. A key's token is T_KEY + the id of its spelling.
const T_OBJECT = 1
const T_ARRAY = 2
const T_CLOSE = 3
const T_STRING = 4
const T_RAW = 5 // a number, true, false or null: written as it is
const T_KEY = 8

/** Plan item flag: the top-level eventSource string. */
const EVENT_SOURCE = 1

// What scan() makes of a record.
const REJECTED = 0
const SCANNED = 1
const NOT_UTF8 = 2 // left to the reference
const UNSEEN = 3 // too many keys never seen before: left to the reference too

/**
 * New keys one record may bring before it goes to the reference instead. Learning keys pays when they come
 * back; records of 4,000 one-off keys each (data used as keys) took 2.8x the reference's time here, and
 * 1.1x this way (the reference, plus the scan up to the 257th new key).
 */
const MAX_NEW_KEYS = 256

/**
 * Words are read and written in the platform's byte order, so that DataView words, Int32Array words and
 * the bytes under them agree everywhere.
 */
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

type Bytes = Uint8Array<ArrayBuffer>
type Ints = Int32Array<ArrayBuffer>

// ---------------------------------------------------------------------------------------------------------
// Keys

/**
 * bytes[0, n) as 32-bit words in platform order, zero-padded. (No typed array over the same buffer: small
 * typed arrays live on the heap, and asking one for its buffer moves it off: slow.)
 */
function toWords(bytes: Uint8Array, n: number): Int32Array {
  const words = new Int32Array((n + 3) >> 2)
  for (let k = 0; k < n; k++) {
    const shift = LE ? 8 * (k & 3) : 24 - 8 * (k & 3)
    words[k >> 2] |= bytes[k] << shift
  }
  return words
}

/** An object key: its text (order and identity) and its bytes as the format writes them. */
class Key {
  /** Place among the interned keys in UTF-16 order; -1 for a key that is not interned. */
  rank = -1
  /** Its bytes as the format writes them, as 32-bit words (padded), and their count. */
  readonly words: Int32Array
  readonly length: number
  readonly eventSource: boolean
  /** The top-level eventTime is noted on the way, for cloudtrail_event_lag_seconds. */
  readonly eventTime: boolean
  constructor(readonly text: string) {
    const bytes = encoder.encode(escapeKey(text))
    this.length = bytes.length
    this.words = toWords(bytes, bytes.length)
    this.eventSource = text === 'eventSource'
    this.eventTime = text === 'eventTime'
  }
}

/** JavaScript's default sort order (UTF-16 code units): by rank when both keys have one. */
function compareKeys(a: Key, b: Key): number {
  if (a.rank >= 0 && b.rank >= 0) return a.rank - b.rank
  return a.text < b.text ? -1 : a.text === b.text ? 0 : 1
}

/** A key as it appears in records (between the quotes, escapes and all), and what usually follows it. */
class RawKey {
  /**
   * The bytes and the closing quote as 32-bit words, for compares 4 at a time; the last
   * word padded with zeros, and `mask` keeps the bytes of it that count.
   */
  readonly words: Int32Array
  readonly mask: number
  /**
   * The key that followed this one last time in an object that was the value of `parent`: pairs
   * [parent, next, parent, next…] (a few: accountId is followed by accessKeyId in userIdentity, by
   * userName in sessionIssuer, by type in resources).
   */
  readonly successors: (RawKey | null)[] = []
  /** The first key of the object that was this key's value (or of its array's elements) last time. */
  first: RawKey | null = null
  constructor(
    readonly id: number,
    readonly hash: number,
    readonly bytes: Uint8Array,
    readonly key: Key,
    /** In the cache: the same spelling gives this object (and this id) again. */
    readonly cached: boolean,
  ) {
    const n = bytes.length + 1
    const withQuote = new Uint8Array(n)
    withQuote.set(bytes)
    withQuote[n - 1] = QUOTE
    this.words = toWords(withQuote, n)
    const r = n & 3 // bytes that count in the last word
    this.mask = r === 0 ? -1 : LE ? (1 << (8 * r)) - 1 : -1 << (8 * (4 - r))
  }
}

const TABLE_BITS = 14
/** Distinct keys kept; past this a key is decoded each time, and the cache starts over after the record. */
const MAX_KEYS = 4096
/** Spellings kept (a key may be written with and without escapes); at most half the table. */
const MAX_RAW = 1 << (TABLE_BITS - 1)
/** Spelling ids stay well inside a token's 32 bits. */
const MAX_ID = 1 << 30

const HASH_SEED = 0x811c9dc5 | 0
const HASH_PRIME = 0x01000193

/** FNV-1a over 32-bit words, then the last bytes one by one: the key scan in scan() computes the same. */
function hashRange(view: DataView, buf: Uint8Array, s: number, e: number): number {
  let h = HASH_SEED
  let k = s
  for (; k + 4 <= e; k += 4) h = Math.imul(h ^ view.getInt32(k, LE), HASH_PRIME)
  for (; k < e; k++) h = Math.imul(h ^ buf[k], HASH_PRIME)
  return h
}

/** True when buf[s, s + raw length) spells `raw` and a quote follows (all before `end`). */
function spells(raw: RawKey, view: DataView, buf: Uint8Array, s: number, end: number): boolean {
  const words = raw.words
  const w = words.length - 1
  if (s + 4 * w + 4 > end) {
    // Near the end of the record: byte by byte.
    const bytes = raw.bytes
    const n = bytes.length
    if (s + n >= end || buf[s + n] !== QUOTE) return false
    for (let k = 0; k < n; k++) if (buf[s + k] !== bytes[k]) return false
    return true
  }
  for (let k = 0; k < w; k++) if (view.getInt32(s + 4 * k, LE) !== words[k]) return false
  return (view.getInt32(s + 4 * w, LE) & raw.mask) === words[w]
}

/** After `prev`, in an object that is the value of `parent`, came `raw`. */
function learnSuccessor(prev: RawKey, parent: RawKey | null, raw: RawKey): void {
  const successors = prev.successors
  for (let k = 0; k < successors.length; k += 2) {
    if (successors[k] === parent) {
      successors[k + 1] = raw
      return
    }
  }
  if (successors.length >= 16) successors.length = 0 // a key in many places: start over
  successors.push(parent, raw)
}

class KeyCache {
  private table: (RawKey | undefined)[] = new Array<RawKey | undefined>(1 << TABLE_BITS).fill(undefined)
  private raws = 0
  private readonly byText = new Map<string, Key>()
  /** Interned keys in order (ranked), and those interned since the last ranking. */
  private sorted: Key[] = []
  private readonly unranked: Key[] = []
  private nextId = 0
  /** The first key of the last record. */
  first: RawKey | null = null

  /** Between records: true when the cache filled up with one-off keys and started over. */
  trim(): boolean {
    if (this.raws < MAX_RAW && this.byText.size < MAX_KEYS && this.nextId < MAX_ID) return false
    this.table.fill(undefined)
    this.raws = 0
    this.byText.clear()
    for (const k of this.sorted) k.rank = -1
    this.sorted = []
    this.unranked.length = 0
    this.first = null
    this.nextId = 0
    return true
  }

  /**
   * Gives the keys interned since last time their ranks (before keys are compared): one merge, rather than
   * renumbering on every insertion (a record of 4,000 new keys took 48 ms that way; the reference 12 ms).
   */
  rank(): void {
    const fresh = this.unranked
    if (fresh.length === 0) return
    fresh.sort((a, b) => (a.text < b.text ? -1 : 1)) // distinct texts
    const old = this.sorted
    const merged: Key[] = new Array<Key>(old.length + fresh.length)
    let i = 0
    let j = 0
    for (let r = 0; r < merged.length; r++) {
      const key = j >= fresh.length || (i < old.length && old[i].text < fresh[j].text) ? old[i++] : fresh[j++]
      key.rank = r
      merged[r] = key
    }
    this.sorted = merged
    fresh.length = 0
  }

  /** The spelling buf[s, e) (a quote at e), or undefined. */
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
      if (this.byText.size < MAX_KEYS) {
        this.byText.set(text, key)
        this.unranked.push(key) // ranked by rank() before any comparison
      } // else: not interned, compared by text
    }
    const cached = this.raws < MAX_RAW
    // A copy: a Buffer's slice() is a view, and the key would keep the whole document it came from alive.
    const raw = new RawKey(this.nextId++, hash, new Uint8Array(buf.subarray(s, e)), key, cached)
    if (cached) {
      const mask = (1 << TABLE_BITS) - 1
      let slot = (hash ^ (hash >>> TABLE_BITS)) & mask
      while (this.table[slot] !== undefined) slot = (slot + 1) & mask
      this.table[slot] = raw
      this.raws++
    }
    return raw
  }
}

// ---------------------------------------------------------------------------------------------------------
// Bytes

function isSpace(c: number): boolean {
  return c === SPACE || c === 0x0a || c === 0x0d || c === 0x09
}

/**
 * The first index from `i` on that is not JSON whitespace, or `end`. Nothing at or past `end` is read: a
 * record that runs on into the next chunk ends at the buffer's end, and one read past it made TurboFan
 * throw scan()'s code away ("out of bounds").
 */
function skipSpace(buf: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = buf[i]
    if (c > SPACE || !isSpace(c)) break
    i++
  }
  return i
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

/**
 * Where a plain run of a key ends (SWAR: byte b is flagged by (b - m) & ~b & 0x80; never when no such byte
 * is there): a quote, a backslash, a control character, or a byte of a multi-byte UTF-8 sequence (checked
 * one by one: rare in CloudTrail). The high bit of each flagged byte of the word; the first
 * (lowest-addressed) flagged byte is always a real one, flags may be spurious only after it. Measured:
 * scanning 4 bytes a word through a DataView is 2.8x faster than byte by byte.
 */
function specialOrHigh(x: number): number {
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
function valueStop(x: number): number {
  const q = x ^ 0x22222222
  const y = x | 0x80808080
  return (((q - 0x01010101) & ~q) | ((x - 0x20202020) & ~x) | x | (y - 0x7f7f7f7f) | ((y - 0x5b5b5b5b) & ~(y - 0x5e5e5e5e))) & 0x80808080
}

/** The index (0-3) within a word read in platform order of the first byte flagged in `t` (not 0). */
const firstFlagged = LE ? (t: number): number => (31 - Math.clz32(t & -t)) >> 3 : (t: number): number => Math.clz32(t) >> 3

/**
 * The length of the UTF-8 sequence starting at buf[i] (a byte >= 0x80), or -1 when it is not valid UTF-8
 * (overlong, a surrogate, past U+10FFFF, cut short): what isUtf8() and the WHATWG decoder call invalid.
 */
function utf8Length(buf: Uint8Array, i: number, end: number): number {
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
function validUtf8(buf: Uint8Array, s: number, e: number): boolean {
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

/** The length of the escape at buf[i] (a backslash) as JSON has it, or -1. */
function escapeLength(buf: Uint8Array, i: number, end: number): number {
  if (i + 1 >= end) return -1
  switch (buf[i + 1]) {
    case QUOTE:
    case BACKSLASH:
    case SLASH:
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

/** A character the format escapes (C0, DEL, C1, U+2028, U+2029) as it writes it: \n \r \t or \uXXXX. */
function writeEscape(dst: Uint8Array, o: number, c: number): number {
  dst[o++] = BACKSLASH
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
function openBrackets(dst: Uint8Array, start: number, o: number): number {
  let from = o
  while (from > start && dst[from - 1] !== CLOSE_BRACKET) from--
  const tail = new Uint8Array(dst.subarray(from, o)) // a copy (a Buffer's slice() is a view)
  let w = from
  for (let k = 0; k < tail.length; k++) {
    if (tail[k] === OPEN_BRACKET && k > 0 && tail[k - 1] === SPACE) {
      dst[w++] = BACKSLASH
      dst[w++] = 0x75 // u
      dst[w++] = 0x30
      dst[w++] = 0x30
      dst[w++] = 0x35
      dst[w++] = 0x62
    } else dst[w++] = tail[k]
  }
  return w
}

/**
 * The same bytes as a plain Uint8Array. Callers hand over Buffers (a chunk of the inflated object) and
 * Uint8Arrays (the cutter's carry, for a record across two chunks); every function that reads the record
 * then saw two maps, and TurboFan threw its code for scan() away on the second (--trace-deopt: "wrong
 * map"; scan() costs 60 ms of compilation each time, on V8's helper threads).
 */
export function plainBytes(buf: Uint8Array): Uint8Array {
  return buf.constructor === Uint8Array ? buf : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

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

// ---------------------------------------------------------------------------------------------------------
// Plans

/**
 * How to write the records of one shape. Its numbers live in a shared slab (`mem`): one typed array per
 * plan would cost a backing-store allocation each, which was most of the time of building one.
 */
class Plan {
  /** Same hash, other shape. */
  next: Plan | null = null
  constructor(
    readonly mem: Int32Array,
    /** The shape, mem[tokens, tokens + tokenCount), to tell it from others with the same hash. */
    readonly tokens: number,
    readonly tokenCount: number,
    /**
     * Per field, 4 numbers from mem[items, itemsEnd): where its prefix starts in mem (words,
     * each prefix on a word of its own, copied a word at a time), its length in bytes, the scalar that
     * follows it or -1, flags.
     */
    readonly items: number,
    readonly itemsEnd: number,
  ) {}
}

/** Shapes kept, and the bytes of their plans; past either the cache starts over. */
const MAX_PLANS = 4096
const MAX_PLAN_BYTES = 16 << 20
/** Plans are cut out of slabs of this many 32-bit numbers. */
const SLAB = 1 << 18
/**
 * Scratch arrays with more entries than this are given back before the next record (as records.ts gives
 * back its carry): they take 13-60 bytes per byte or token of the largest record, and one record of 8 MiB
 * of zeros (max_record_size) left 260 MiB of them behind, in every thread it passed through.
 */
const SCRATCH_KEPT = 1 << 20

// ---------------------------------------------------------------------------------------------------------

export class FastFlattener {
  private readonly keys = new KeyCache()
  private plans = new Map<number, Plan>()
  private planBytes = 0
  private slab: Ints
  private slabBytes: Bytes
  private slabUsed = 0

  // The last record's shape (tokens, the spelling of each key token), its hash and its scalars: where each
  // one's bytes are (a string's without the quotes) and whether it has escapes.
  private tokens: Ints = new Int32Array(1024)
  private tokenRaw: (RawKey | null)[] = []
  private tokenCount = 0
  private shapeHash = 0
  private shapeCached = true
  private slotStart: Ints = new Int32Array(512)
  private slotEnd: Ints = new Int32Array(512)
  private slotEscaped: Bytes = new Uint8Array(512)

  // scan()'s open containers: object or array, the previous key's spelling (to predict the next) and the
  // key whose value the container is (to predict its first key).
  private frameArray: Bytes = new Uint8Array(16)
  private frameRaw: (RawKey | null)[] = []
  private frameParent: (RawKey | null)[] = []

  // build()'s scratch: the values of the shape as a tree, the depth-first walk, the plan being written.
  private nodeKind: Bytes = new Uint8Array(256)
  private nodeKey: (Key | null)[] = []
  private nodeSlot: Ints = new Int32Array(256)
  private nodeFirst: Ints = new Int32Array(256)
  private nodeNext: Ints = new Int32Array(256)
  private nodeLast: Ints = new Int32Array(256)
  private walkNode: Ints = new Int32Array(256)
  private walkChild: Ints = new Int32Array(256)
  private walkIndex: Ints = new Int32Array(256)
  private walkPath: Ints = new Int32Array(256)
  private children: Ints = new Int32Array(64)
  private path: Bytes = new Uint8Array(256)
  private pathView = new DataView(this.path.buffer)
  private prefixes: Bytes = new Uint8Array(4096)
  private prefixView = new DataView(this.prefixes.buffer)
  private items: Ints = new Int32Array(256)

  // Views of the last input and output buffers (DataView reads and writes 4 bytes at a time), and the input
  // as a plain Uint8Array (plainBytes()).
  private inBuf: Uint8Array | null = null
  private input: Uint8Array = new Uint8Array(0)
  private inView: DataView = new DataView(new ArrayBuffer(0))
  private outBuf: Uint8Array | null = null
  private outView: DataView = new DataView(new ArrayBuffer(0))

  // Out-of-line helpers' results: where the input continues; whether a key was not UTF-8.
  private next = 0
  /** unescaped() wrote a `[` (so a ` [` may need its escape). */
  private openBracket = false
  private keyNotUtf8 = false
  private keyAdded = false
  private lastNotUtf8 = false

  /** `slabSize`: 32-bit numbers per slab of plans (smaller for the warm-up, warm-up.ts, so that its slab fills). */
  constructor(
    private readonly maxDepth: number,
    private readonly slabSize = SLAB,
  ) {
    if (!Number.isInteger(maxDepth) || maxDepth < 0) throw new RangeError(`maxDepth must be a non-negative integer, got ${String(maxDepth)}`)
    if (!Number.isInteger(slabSize) || slabSize < 1) throw new RangeError(`slabSize must be a positive integer, got ${String(slabSize)}`)
    this.slab = new Int32Array(slabSize)
    this.slabBytes = new Uint8Array(this.slab.buffer)
  }

  /**
   * Whether the last record had invalid UTF-8 in a string, so that it went to the reference as the WHATWG
   * decoder reads it (for the invalid-UTF-8 count; a record rejected before its scan got there says false).
   */
  get notUtf8(): boolean {
    return this.lastNotUtf8
  }

  /** Where the last record's top-level eventTime string is (without quotes): start -1 when it had none. */
  timeStart = -1
  timeEnd = -1

  /** After flattenFrom() read a record: the index after it, also when it then threw RecordTooLargeError. */
  recordEnd = -1

  /**
   * Appends the fields of the record in buf[start, end) to `out`; false (and `out` unchanged) when the record
   * is not a valid JSON object. Throws RecordTooLargeError (`out` unchanged) when its fields would come to
   * more than `maxBytes`.
   */
  flatten(buf: Uint8Array, start: number, end: number, out: OutputBuilder, maxBytes = Infinity): boolean {
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= buf.length)) {
      throw new RangeError(`record bounds [${start}, ${end}) are outside the buffer (${buf.length} bytes)`)
    }
    const input = this.prepare(buf)
    const scanned = this.scan(input, start, end)
    this.lastNotUtf8 = scanned === NOT_UTF8
    if (scanned === REJECTED) return false
    if (scanned !== SCANNED) return this.reference(input.subarray(start, end), out, maxBytes)
    out.setPosition(this.emit(this.plan(maxBytes), input, out, out.position, maxBytes))
    return true
  }

  /**
   * The record that starts at `start` (its '{') and ends somewhere before `limit`, as the record cutter
   * would hand it over: its fields are appended to `out` and the index after its closing brace returned.
   * -1, with `out` unchanged, when it cannot be done in one pass here — the record is invalid, runs past
   * `limit`, is not valid UTF-8 or brings too many new keys — and the caller cuts it and calls flatten().
   * This lets the cutter skip its own pass over most records (records.ts, PreScanner). Throws
   * RecordTooLargeError as flatten() does.
   */
  flattenFrom(buf: Uint8Array, start: number, limit: number, out: OutputBuilder, maxBytes = Infinity): number {
    const input = this.prepare(buf)
    const scanned = this.scan(input, start, limit, true)
    if (scanned !== SCANNED) return -1
    const end = (this.recordEnd = this.next)
    this.lastNotUtf8 = false
    out.setPosition(this.emit(this.plan(maxBytes), input, out, out.position, maxBytes))
    return end
  }

  /** Caches in order for the next record, and the input as scan() and emit() read it. */
  private prepare(buf: Uint8Array): Uint8Array {
    if (this.tokens.length > SCRATCH_KEPT || this.nodeKind.length > SCRATCH_KEPT || this.prefixes.length > SCRATCH_KEPT || this.path.length > SCRATCH_KEPT) this.giveBack()
    if (this.keys.trim() || this.plans.size >= MAX_PLANS || this.planBytes >= MAX_PLAN_BYTES) {
      // Nothing refers to the plans any more: the slab can be written over (or given back, when a large
      // record's plan made it large).
      this.plans.clear()
      this.planBytes = 0
      this.slabUsed = 0
      if (this.slab.length > this.slabSize) {
        this.slab = new Int32Array(this.slabSize)
        this.slabBytes = new Uint8Array(this.slab.buffer)
      }
    }
    if (buf !== this.inBuf) {
      this.inBuf = buf
      this.input = plainBytes(buf)
      this.inView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    }
    return this.input
  }

  /** The scratch a large record grew, back to its first size (nothing refers to it between records). */
  private giveBack(): void {
    this.tokens = new Int32Array(1024)
    this.tokenRaw = []
    this.slotStart = new Int32Array(512)
    this.slotEnd = new Int32Array(512)
    this.slotEscaped = new Uint8Array(512)
    this.nodeKind = new Uint8Array(256)
    this.nodeKey = []
    this.nodeSlot = new Int32Array(256)
    this.nodeFirst = new Int32Array(256)
    this.nodeNext = new Int32Array(256)
    this.nodeLast = new Int32Array(256)
    this.walkNode = new Int32Array(256)
    this.walkChild = new Int32Array(256)
    this.walkIndex = new Int32Array(256)
    this.walkPath = new Int32Array(256)
    this.children = new Int32Array(64)
    this.items = new Int32Array(256)
    this.path = new Uint8Array(256)
    this.pathView = new DataView(this.path.buffer)
    this.prefixes = new Uint8Array(4096)
    this.prefixView = new DataView(this.prefixes.buffer)
  }

  /**
   * Records that are not valid UTF-8 (or bring too many new keys): the reference, on the text the WHATWG
   * decoder makes of them. The reference recurses: nested some thousands deep (max_depth allows 10,000) it
   * runs out of stack, and that record is rejected too, as object-parser.ts does with it today.
   */
  private reference(bytes: Uint8Array, out: OutputBuilder, maxBytes: number): boolean {
    let fields: string
    try {
      fields = flattenRecord(decoder.decode(bytes), this.maxDepth, maxBytes)
    } catch (err) {
      if (err instanceof RecordSyntaxError || isStackOverflow(err)) return false
      throw err
    }
    out.writeString(fields)
    return true
  }

  // -------------------------------------------------------------------------------------------------------
  // 1. Scan

  /**
   * Checks the record as the reference's parser does and notes its shape and scalars. UTF-8 is checked on
   * the way (only strings can hold bytes >= 0x80; anywhere else they make the record invalid JSON for the
   * reference too). Returns SCANNED, REJECTED, NOT_UTF8 when a string is not valid UTF-8, or UNSEEN.
   */
  private scan(buf: Uint8Array, start: number, end: number, openEnd = false): number {
    const maxDepth = this.maxDepth
    let i = start
    // TextDecoder drops a leading byte order mark.
    if (end - i >= 3 && buf[i] === 0xef && buf[i + 1] === 0xbb && buf[i + 2] === 0xbf) i += 3
    while (i < end && isSpace(buf[i])) i++
    if (i >= end || buf[i] !== OPEN_BRACE || maxDepth < 1) return REJECTED
    i++

    // Every token and every scalar takes at least one byte of the record.
    if (this.tokens.length < end - start + 1) this.tokens = new Int32Array(Math.max(end - start + 1, this.tokens.length * 2))
    if (this.slotStart.length < end - start) {
      const n = Math.max(end - start, this.slotStart.length * 2)
      this.slotStart = new Int32Array(n)
      this.slotEnd = new Int32Array(n)
      this.slotEscaped = new Uint8Array(n)
    }
    const tokens = this.tokens
    const tokenRaw = this.tokenRaw
    const slotStart = this.slotStart
    const slotEnd = this.slotEnd
    const slotEscaped = this.slotEscaped
    const view = this.inView
    const keys = this.keys
    const frameRaw = this.frameRaw
    const frameParent = this.frameParent
    let frameArray = this.frameArray

    let nt = 0
    let ns = 0
    let h = Math.imul(HASH_SEED ^ T_OBJECT, HASH_PRIME)
    let cached = true
    let timeValue = false // the value coming is the top-level eventTime's
    this.timeStart = -1
    let newKeys = 0
    tokens[nt++] = T_OBJECT
    let f = 0
    frameArray[0] = 0
    frameRaw[0] = null
    frameParent[0] = null

    let opened = true // just after `{` or `[`
    for (;;) {
      i = skipSpace(buf, i, end)
      if (i >= end) return REJECTED
      let c = buf[i]
      const inArray = frameArray[f] === 1
      if (c === (inArray ? CLOSE_BRACKET : CLOSE_BRACE)) {
        i++
        tokens[nt++] = T_CLOSE
        h = Math.imul(h ^ T_CLOSE, HASH_PRIME)
        if (f === 0) break
        f--
        opened = false
        continue
      }
      if (!opened) {
        if (c !== COMMA) return REJECTED
        i = skipSpace(buf, i + 1, end)
        if (i >= end) return REJECTED
        c = buf[i]
      }
      opened = false

      let raw: RawKey | null
      if (!inArray) {
        if (c !== QUOTE) return REJECTED
        const s = i + 1
        const prevRaw = frameRaw[f]
        const parentRaw = frameParent[f]
        // Hot: the key that followed the previous one last time (CloudTrail keeps its order), compared
        // 4 bytes at a time, with no hashing. 83% of CloudTrail's keys.
        let predicted: RawKey | null = null
        if (prevRaw !== null) {
          const successors = prevRaw.successors
          for (let k = 0; k < successors.length; k += 2) {
            if (successors[k] === parentRaw) {
              predicted = successors[k + 1]
              break
            }
          }
        } else {
          predicted = parentRaw !== null ? parentRaw.first : f === 0 ? keys.first : null
        }
        if (predicted !== null && spells(predicted, view, buf, s, end)) {
          raw = predicted
          i = s + predicted.bytes.length + 1
        } else {
          // Find its end; a key without escapes is looked up by hash, one with escapes decoded.
          let j = s
          let b = 0
          for (;;) {
            while (j + 4 <= end) {
              const t = specialOrHigh(view.getInt32(j, LE))
              if (t !== 0) {
                j += firstFlagged(t)
                break
              }
              j += 4
            }
            if (j >= end) return REJECTED
            b = buf[j]
            if (b === QUOTE || b === BACKSLASH || b < 0x20) break
            if (b < 0x80) j++
            else {
              const n = utf8Length(buf, j, end)
              if (n < 0) return NOT_UTF8
              j += n
            }
          }
          if (b === QUOTE) {
            const kh = hashRange(view, buf, s, j)
            raw = keys.find(view, buf, s, j, kh) ?? null
            if (raw === null) {
              if (++newKeys > MAX_NEW_KEYS) return UNSEEN
              raw = keys.add(buf, s, j, kh, pieceDecoder.decode(buf.subarray(s, j)))
            }
            i = j + 1
          } else {
            raw = this.escapedKey(buf, i, end)
            if (raw === null) return this.keyNotUtf8 ? NOT_UTF8 : REJECTED
            if (this.keyAdded && ++newKeys > MAX_NEW_KEYS) return UNSEEN
            i = this.next
          }
          if (prevRaw !== null) learnSuccessor(prevRaw, parentRaw, raw)
          else if (parentRaw !== null) parentRaw.first = raw
          else if (f === 0) keys.first = raw
        }
        frameRaw[f] = raw
        timeValue = f === 0 && raw.key.eventTime
        tokenRaw[nt] = raw
        const token = T_KEY + raw.id
        tokens[nt++] = token
        h = Math.imul(h ^ token, HASH_PRIME)
        if (!raw.cached) cached = false

        i = skipSpace(buf, i, end)
        if (i >= end || buf[i] !== COLON) return REJECTED
        i = skipSpace(buf, i + 1, end)
        if (i >= end) return REJECTED
        c = buf[i]
      } else {
        raw = frameParent[f] // array elements share the array's key for predictions
      }

      // The value, at depth f + 2.
      if (f + 2 > maxDepth) return REJECTED
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        const token = c === OPEN_BRACE ? T_OBJECT : T_ARRAY
        tokens[nt++] = token
        h = Math.imul(h ^ token, HASH_PRIME)
        f++
        if (f >= frameArray.length) frameArray = this.frameArray = grownUint8(frameArray, f + 1)
        frameArray[f] = c === OPEN_BRACE ? 0 : 1
        frameRaw[f] = null
        frameParent[f] = raw
        opened = true
        i++
        continue
      }

      let token = T_RAW
      let escaped = 0
      const s = c === QUOTE ? i + 1 : i
      if (c === QUOTE) {
        // Hot: 4 bytes at a time to a word with a quote, a backslash, a control character, `[`, `]`, DEL
        // or a byte of a multi-byte character in it; then byte by byte past it. `escaped` marks the strings
        // that cannot be copied as they are: JSON escapes, and what the format escapes.
        token = T_STRING
        i++
        let open = false // a ` [` with no `]` after it so far
        for (;;) {
          // Whole words to the first that has something in it, then straight to that byte.
          while (i + 4 <= end) {
            const t = valueStop(view.getInt32(i, LE))
            if (t !== 0) {
              i += firstFlagged(t)
              break
            }
            i += 4
          }
          if (i >= end) return REJECTED
          const b = buf[i]
          if (b === QUOTE) break
          if (b === BACKSLASH) {
            const n = escapeLength(buf, i, end)
            if (n < 0) return REJECTED
            escaped = 1
            i += n
          } else if (b < 0x20) {
            return REJECTED
          } else if (b === CLOSE_BRACKET) {
            open = false
            if (i + 1 < end && buf[i + 1] === EQUALS) escaped = 1
            i++
          } else if (b === OPEN_BRACKET) {
            if (buf[i - 1] === SPACE) open = true
            i++
          } else if (b < 0x80) {
            escaped = 1 // DEL
            i++
          } else {
            const n = utf8Length(buf, i, end)
            if (n < 0) return NOT_UTF8
            // C1 controls are C2 80-C2 9F; U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
            if (b === 0xc2 ? buf[i + 1] < 0xa0 : b === 0xe2 && buf[i + 1] === 0x80 && (buf[i + 2] & 0xfe) === 0xa8) escaped = 1
            i += n
          }
        }
        if (open) escaped = 1
      } else if (c === 0x74 /* t */) {
        if (end - i < 4 || buf[i + 1] !== 0x72 || buf[i + 2] !== 0x75 || buf[i + 3] !== 0x65) return REJECTED
        i += 4
      } else if (c === 0x66 /* f */) {
        if (end - i < 5 || buf[i + 1] !== 0x61 || buf[i + 2] !== 0x6c || buf[i + 3] !== 0x73 || buf[i + 4] !== 0x65) return REJECTED
        i += 5
      } else if (c === 0x6e /* n */) {
        if (end - i < 4 || buf[i + 1] !== 0x75 || buf[i + 2] !== 0x6c || buf[i + 3] !== 0x6c) return REJECTED
        i += 4
      } else {
        // A number, as the reference's /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/ matches it; whatever
        // follows must then be a delimiter, which the loop checks.
        if (c === 0x2d /* - */) i++
        if (i < end && buf[i] === 0x30) i++
        else if (i < end && isDigit(buf[i])) while (++i < end && isDigit(buf[i]));
        else return REJECTED
        if (i + 1 < end && buf[i] === 0x2e /* . */ && isDigit(buf[i + 1])) {
          i += 2
          while (i < end && isDigit(buf[i])) i++
        }
        if (i < end && (buf[i] | 0x20) === 0x65 /* e E */) {
          let k = i + 1
          if (k < end && (buf[k] === 0x2b || buf[k] === 0x2d)) k++
          if (k < end && isDigit(buf[k])) {
            i = k + 1
            while (i < end && isDigit(buf[i])) i++
          }
        }
      }
      slotStart[ns] = s
      slotEnd[ns] = i
      slotEscaped[ns] = escaped
      ns++
      if (timeValue && token === T_STRING) {
        this.timeStart = s
        this.timeEnd = i
        timeValue = false
      }
      if (token === T_STRING) i++ // the closing quote
      tokens[nt++] = token
      h = Math.imul(h ^ token, HASH_PRIME)
    }

    if (openEnd) {
      // flattenFrom(): the record ends here, whatever follows.
      this.next = i
    } else {
      // After the record: only whitespace.
      while (i < end && isSpace(buf[i])) i++
      if (i !== end) return REJECTED
    }
    this.tokenCount = nt
    this.shapeHash = h
    this.shapeCached = cached
    return SCANNED
  }

  /** A key with escapes (or control characters, which JSON.parse rejects): decoded as the reference does. */
  private escapedKey(buf: Uint8Array, i: number, end: number): RawKey | null {
    this.keyNotUtf8 = false
    const close = stringEnd(buf, i, end)
    if (close < 0) return null
    if (!validUtf8(buf, i + 1, close)) {
      this.keyNotUtf8 = true
      return null
    }
    const h = hashRange(this.inView, buf, i + 1, close)
    this.next = close + 1
    this.keyAdded = false
    const found = this.keys.find(this.inView, buf, i + 1, close, h)
    if (found !== undefined) return found
    const text = parseString(buf, i, close)
    if (text === null) return null
    this.keyAdded = true
    return this.keys.add(buf, i + 1, close, h, text)
  }

  // -------------------------------------------------------------------------------------------------------
  // 2. Plans

  /**
   * The plan for the shape scan() saw: cached, or built (and cached unless the shape has uncached keys).
   * Throws RecordTooLargeError when the prefixes alone come to more than `maxBytes`.
   */
  private plan(maxBytes: number): Plan {
    const nt = this.tokenCount
    const tokens = this.tokens
    const head = this.plans.get(this.shapeHash)
    for (let p: Plan | null | undefined = head; p !== undefined && p !== null; p = p.next) {
      if (p.tokenCount !== nt) continue
      const mem = p.mem
      const at = p.tokens
      let k = 0
      while (k < nt && mem[at + k] === tokens[k]) k++
      if (k === nt) return p
    }
    const plan = this.build(maxBytes)
    if (plan === null) throw new RecordTooLargeError(`the fields come to more than ${maxBytes} bytes`)
    this.planBytes += 4 * (plan.itemsEnd - plan.tokens) + 100
    if (this.shapeCached) {
      plan.next = head ?? null
      this.plans.set(this.shapeHash, plan)
    }
    return plan
  }

  /**
   * The plan for the shape in `tokens`: a tree of its values (first child, next sibling), each object's
   * children put in key order with earlier duplicates dropped, then walked depth first writing each field's
   * prefix. New shapes come with about 5% of fresh CloudTrail records, so this is kept cheap too: scratch
   * arrays, no strings. Null, and nothing kept, as soon as the prefixes come to more than `maxBytes`: every
   * one of them is written once, so the fields would too.
   */
  private build(maxBytes: number): Plan | null {
    const nt = this.tokenCount
    const tokens = this.tokens
    this.keys.rank()
    if (this.nodeKind.length < nt) {
      const n = Math.max(nt, this.nodeKind.length * 2)
      this.nodeKind = new Uint8Array(n)
      this.nodeSlot = new Int32Array(n)
      this.nodeFirst = new Int32Array(n)
      this.nodeNext = new Int32Array(n)
      this.nodeLast = new Int32Array(n)
      this.walkNode = new Int32Array(n)
      this.walkChild = new Int32Array(n)
      this.walkIndex = new Int32Array(n)
      this.walkPath = new Int32Array(n)
    }
    const kind = this.nodeKind
    const keyOf = this.nodeKey
    const slotOf = this.nodeSlot
    const first = this.nodeFirst
    const next = this.nodeNext
    const last = this.nodeLast
    // The open containers while reading the tokens (walkNode doubles as that stack).
    const open = this.walkNode
    let depth = 0
    let nodes = 0
    let slots = 0
    let key: Key | null = null
    for (let t = 0; t < nt; t++) {
      const token = tokens[t]
      if (token >= T_KEY) {
        key = this.tokenRaw[t]!.key
        continue
      }
      if (token === T_CLOSE) {
        depth--
        continue
      }
      const n = nodes++
      kind[n] = token
      keyOf[n] = key
      key = null
      slotOf[n] = token === T_STRING || token === T_RAW ? slots++ : -1
      first[n] = -1
      next[n] = -1
      last[n] = -1
      if (depth > 0) {
        const p = open[depth - 1]
        if (last[p] < 0) first[p] = n
        else next[last[p]] = n
        last[p] = n
      }
      if (token === T_OBJECT || token === T_ARRAY) open[depth++] = n
    }

    // Objects: children in key order (a stable sort), the last of equal keys kept.
    for (let n = 0; n < nodes; n++) {
      if (kind[n] !== T_OBJECT) continue
      let count = 0
      let sorted = true
      for (let c = first[n]; c >= 0; c = next[c]) {
        if (count > 0 && compareKeys(keyOf[this.children[count - 1]]!, keyOf[c]!) >= 0) sorted = false
        if (count >= this.children.length) this.children = grownInt32(this.children, count + 1)
        this.children[count++] = c
      }
      if (sorted) continue
      const children = this.children
      if (count <= 32) {
        // Insertion sort (stable): CloudTrail's objects have a few dozen keys at most.
        for (let k = 1; k < count; k++) {
          const c = children[k]
          let m = k
          while (m > 0 && compareKeys(keyOf[children[m - 1]]!, keyOf[c]!) > 0) {
            children[m] = children[m - 1]
            m--
          }
          children[m] = c
        }
      } else {
        // Any number of keys: n log n, record order among equal keys.
        const byKey = Array.from(children.subarray(0, count)).sort((a, b) => compareKeys(keyOf[a]!, keyOf[b]!) || a - b)
        children.set(byKey)
      }
      let prev = -1
      for (let k = 0; k < count; k++) {
        const c = children[k]
        if (k + 1 < count && compareKeys(keyOf[c]!, keyOf[children[k + 1]]!) === 0) continue
        if (prev < 0) first[n] = c
        else next[prev] = c
        prev = c
      }
      next[prev] = -1
    }

    // Depth first from the record (node 0): each field's prefix, ` [path]=` (no space before the first),
    // with `{}` or `[]` for an empty container, each starting on a word.
    const walkNode = this.walkNode
    const walkChild = this.walkChild
    const walkIndex = this.walkIndex
    const walkPath = this.walkPath
    let path = this.path
    let pathView = this.pathView
    let bytes = this.prefixes
    let bytesView = this.prefixView
    let length = 0
    let total = 0 // bytes of the prefixes, as the fields will have them (without the padding)
    let items = this.items
    let ni = 0
    let d = 0
    walkNode[0] = 0
    walkChild[0] = first[0]
    walkIndex[0] = 0
    walkPath[0] = 0
    while (d >= 0) {
      const c = walkChild[d]
      if (c < 0) {
        d--
        continue
      }
      walkChild[d] = next[c]
      let pl = walkPath[d]
      // Room for the segment, and for word writes running past it.
      const segment = kind[walkNode[d]] === T_OBJECT ? keyOf[c]! : null
      const room = pl + 16 + (segment === null ? 0 : segment.length)
      if (room > path.length) {
        path = this.path = grownUint8(path, room)
        pathView = this.pathView = new DataView(path.buffer)
      }
      if (d > 0) path[pl++] = SLASH
      if (segment !== null) {
        const words = segment.words
        for (let w = 0; w < words.length; w++) pathView.setInt32(pl + 4 * w, words[w], LE)
        pl += segment.length
      } else {
        const index = walkIndex[d]++
        let digits = 1
        for (let m = index; m >= 10; m = (m / 10) | 0) digits++
        for (let m = index, k = pl + digits - 1; k >= pl; k--, m = (m / 10) | 0) path[k] = 0x30 + (m % 10)
        pl += digits
      }
      const k = kind[c]
      if ((k === T_OBJECT || k === T_ARRAY) && first[c] >= 0) {
        d++
        walkNode[d] = c
        walkChild[d] = first[c]
        walkIndex[d] = 0
        walkPath[d] = pl
        continue
      }
      total += (ni > 0 ? 1 : 0) + pl + 3 + (k === T_OBJECT || k === T_ARRAY ? 2 : 0)
      if (total > maxBytes) return null
      if (length + pl + 16 > bytes.length) {
        bytes = this.prefixes = grownUint8(bytes, length + pl + 16)
        bytesView = this.prefixView = new DataView(bytes.buffer)
      }
      const prefix = length
      if (ni > 0) bytes[length++] = SPACE
      bytes[length++] = OPEN_BRACKET
      for (let q = 0; q < pl; q += 4) bytesView.setInt32(length + q, pathView.getInt32(q, LE), LE)
      length += pl
      bytes[length++] = CLOSE_BRACKET
      bytes[length++] = EQUALS
      if (k === T_OBJECT || k === T_ARRAY) {
        bytes[length++] = k === T_OBJECT ? OPEN_BRACE : OPEN_BRACKET
        bytes[length++] = k === T_OBJECT ? CLOSE_BRACE : CLOSE_BRACKET
      }
      if (ni + 4 > items.length) items = this.items = grownInt32(items, ni + 4)
      items[ni++] = prefix >> 2 // made absolute below
      items[ni++] = length - prefix
      items[ni++] = slotOf[c]
      items[ni++] = d === 0 && k === T_STRING && keyOf[c]!.eventSource ? EVENT_SOURCE : 0
      length = (length + 3) & ~3
    }
    // Into the slab: the shape, the prefixes, the items.
    const words = length >> 2
    const size = nt + words + ni
    if (this.slabUsed + size > this.slab.length) {
      this.slab = new Int32Array(Math.max(this.slabSize, size))
      this.slabBytes = new Uint8Array(this.slab.buffer)
      this.slabUsed = 0
    }
    const mem = this.slab
    const at = this.slabUsed
    this.slabUsed += size
    mem.set(tokens.subarray(0, nt), at)
    const prefixesAt = at + nt
    this.slabBytes.set(bytes.subarray(0, length), 4 * prefixesAt)
    const itemsAt = prefixesAt + words
    for (let k = 0; k < ni; k += 4) {
      mem[itemsAt + k] = prefixesAt + items[k]
      mem[itemsAt + k + 1] = items[k + 1]
      mem[itemsAt + k + 2] = items[k + 2]
      mem[itemsAt + k + 3] = items[k + 3]
    }
    return new Plan(mem, at, nt, itemsAt, itemsAt + ni)
  }

  // -------------------------------------------------------------------------------------------------------
  // 3. Emit

  /** The output buffer with room for `n` more bytes at `o`, and its view in outView. */
  private room(out: OutputBuilder, o: number, n: number): Uint8Array {
    out.setPosition(o)
    const dst = out.room(n)
    if (dst !== this.outBuf) {
      this.outBuf = dst
      this.outView = new DataView(dst.buffer, dst.byteOffset, dst.byteLength)
    }
    return dst
  }

  /**
   * Writes the fields by the plan from position `o`; returns the position after them. Throws
   * RecordTooLargeError, with the position back at `o`, once they come to more than `maxBytes`.
   */
  private emit(plan: Plan, buf: Uint8Array, out: OutputBuilder, o: number, maxBytes: number): number {
    const mem = plan.mem
    const inView = this.inView
    const slotStart = this.slotStart
    const slotEnd = this.slotEnd
    const slotEscaped = this.slotEscaped
    const words = buf.length - 3 // a value ending before this can be read in whole words
    const start = o
    const limit = o + maxBytes // the position the fields may not pass
    let dst = this.room(out, o, SLACK)
    let view = this.outView
    let cap = dst.length
    for (let k = plan.items; k < plan.itemsEnd; k += 4) {
      const pw = mem[k]
      const pl = mem[k + 1]
      const slot = mem[k + 2]
      let s = 0
      let e = 0
      let escaped = false
      if (slot >= 0) {
        s = slotStart[slot]
        e = slotEnd[slot]
        escaped = slotEscaped[slot] === 1
      }
      if (o + pl > limit) return this.tooLarge(out, start, maxBytes)
      // A marked string writes at most EXPANSION bytes per byte read; any other value, its bytes.
      const need = pl + (escaped ? EXPANSION : 1) * (e - s) + SLACK
      if (o + need > cap) {
        dst = this.room(out, o, need)
        view = this.outView
        cap = dst.length
      }
      // Whole words, the last one running past the prefix (overwritten next).
      for (let q = 0; q < pl; q += 4) view.setInt32(o + q, mem[pw + (q >> 2)], LE)
      o += pl
      if (slot < 0) continue
      if (mem[k + 3] === EVENT_SOURCE) {
        o = this.eventSource(buf, s, e, escaped, out, o)
        dst = this.outBuf!
        view = this.outView
        cap = dst.length
      } else if (escaped) {
        o = this.unescaped(buf, s, e, dst, view, o, limit)
      } else if (e < words) {
        // Hot: whole words again.
        for (let q = s; q < e; q += 4) view.setInt32(o + q - s, inView.getInt32(q, LE), LE)
        o += e - s
      } else {
        while (s < e) dst[o++] = buf[s++]
      }
      if (o > limit) return this.tooLarge(out, start, maxBytes)
    }
    return o
  }

  private tooLarge(out: OutputBuilder, start: number, maxBytes: number): never {
    out.setPosition(start)
    throw new RecordTooLargeError(`the fields come to more than ${maxBytes} bytes`)
  }

  /**
   * A string value the scan marked, written as the grammar says: plain runs copied a word at a time, the
   * rest a character at a time (scan() checked every escape and UTF-8 sequence). Stops early once past
   * `stop` (the record is too large then, and what was written is dropped).
   */
  private unescaped(buf: Uint8Array, s: number, e: number, dst: Uint8Array, view: DataView, o: number, stop: number): number {
    const inView = this.inView
    const start = o
    this.openBracket = false
    while (s < e) {
      if (o > stop) return o
      while (s + 4 <= e) {
        const x = inView.getInt32(s, LE)
        if (valueStop(x) !== 0) break
        view.setInt32(o, x, LE)
        s += 4
        o += 4
      }
      if (s >= e) break
      const b = buf[s]
      if (b === BACKSLASH) {
        o = this.unescape(buf, s, e, dst, o)
        s = this.next
      } else if (b === DEL) {
        o = writeEscape(dst, o, b)
        s++
      } else if (b === 0xc2 && buf[s + 1] < 0xa0) {
        o = writeEscape(dst, o, buf[s + 1]) // a C1 control, U+0080-U+009F
        s += 2
      } else if (b === 0xe2 && buf[s + 1] === 0x80 && (buf[s + 2] & 0xfe) === 0xa8) {
        o = writeEscape(dst, o, 0x2000 | (buf[s + 2] - 0x80)) // U+2028, U+2029
        s += 3
      } else {
        // `[`, `]`, or a byte of another multi-byte character (quotes and control characters cannot be here).
        if (b === OPEN_BRACKET) this.openBracket = true
        dst[o++] = b
        s++
      }
      // `]=` is written ]\=, whether each of the two came raw or as an escape (unescape() sees the other order).
      if (dst[o - 1] === CLOSE_BRACKET && s < e && buf[s] === EQUALS) {
        dst[o++] = BACKSLASH
        dst[o++] = EQUALS
        s++
      }
    }
    return this.openBracket && o <= stop ? openBrackets(dst, start, o) : o
  }

  /** The escape at buf[i] (a backslash, checked by scan()): writes what it stands for, sets `next` past it. */
  private unescape(buf: Uint8Array, i: number, end: number, dst: Uint8Array, o: number): number {
    const e = buf[i + 1]
    this.next = i + 2
    switch (e) {
      case 0x6e /* n */:
      case 0x72 /* r */:
      case 0x74 /* t */:
        dst[o++] = BACKSLASH
        dst[o++] = e
        return o
      case 0x62 /* b */:
        return writeEscape(dst, o, 0x08)
      case 0x66 /* f */:
        return writeEscape(dst, o, 0x0c)
      case 0x75 /* u */: {
        let u = hex4(buf, i + 2, end)
        this.next = i + 6
        if (u < 0x20 || (u >= DEL && u < 0xa0) || u === 0x2028 || u === 0x2029) return writeEscape(dst, o, u)
        if (u < 0x80) {
          if (u === BACKSLASH) dst[o++] = BACKSLASH
          else if (u === EQUALS && dst[o - 1] === CLOSE_BRACKET) dst[o++] = BACKSLASH
          else if (u === OPEN_BRACKET) this.openBracket = true
          dst[o++] = u
          return o
        }
        if (u < 0x800) {
          dst[o++] = 0xc0 | (u >> 6)
          dst[o++] = 0x80 | (u & 0x3f)
          return o
        }
        if (u >= 0xd800 && u <= 0xdfff) {
          // A surrogate: a pair when a low one follows as another escape, else U+FFFD (as TextEncoder).
          const low = u <= 0xdbff && i + 7 < end && buf[i + 6] === BACKSLASH && buf[i + 7] === 0x75 ? hex4(buf, i + 8, end) : -1
          if (low >= 0xdc00 && low <= 0xdfff) {
            const cp = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00)
            dst[o++] = 0xf0 | (cp >> 18)
            dst[o++] = 0x80 | ((cp >> 12) & 0x3f)
            dst[o++] = 0x80 | ((cp >> 6) & 0x3f)
            dst[o++] = 0x80 | (cp & 0x3f)
            this.next = i + 12
            return o
          }
          u = 0xfffd
        }
        dst[o++] = 0xe0 | (u >> 12)
        dst[o++] = 0x80 | ((u >> 6) & 0x3f)
        dst[o++] = 0x80 | (u & 0x3f)
        return o
      }
      default: // \" \\ \/
        if (e === BACKSLASH) dst[o++] = BACKSLASH
        dst[o++] = e
        return o
    }
  }

  /**
   * The top-level eventSource string buf[s, e) (its quotes at s - 1 and e) as serviceName() makes it.
   * Returns the position after it; outBuf and outView are the buffer to go on with.
   */
  private eventSource(buf: Uint8Array, s: number, e: number, escaped: boolean, out: OutputBuilder, o: number): number {
    const dst = this.outBuf!
    let plain = !escaped
    for (let k = s; plain && k < e; k++) if (buf[k] >= 0x80) plain = false
    if (plain) {
      // Printable ASCII with nothing the format escapes (the scan marks the rest): strip the suffix, upper-case a-z.
      let stop = e
      const n = AMAZONAWS_COM.length
      if (e - s >= n) {
        let k = 0
        while (k < n && buf[e - n + k] === AMAZONAWS_COM[k]) k++
        if (k === n) stop = e - n
      }
      for (let k = s; k < stop; k++) {
        const b = buf[k]
        dst[o++] = b >= 0x61 && b <= 0x7a ? b - 0x20 : b
      }
      return o
    }
    // The reference's own functions. Upper-casing can lengthen a string (ß -> SS), so make room.
    const bytes = encoder.encode(escapeValue(serviceName(parseString(buf, s - 1, e)!)))
    const room = this.room(out, o, bytes.length + SLACK)
    room.set(bytes, o)
    return o + bytes.length
  }
}
