// The fast flattener's keys (fast.ts): each spelling met in records interned once, with its text, its
// bytes as the format writes them and its place in UTF-16 order; and, per spelling, the key that followed
// it last time, so that scan() can try that one first.
//
// Measured (bench/flatten.bench.ts's file): the key that followed the previous one last time in the same
// kind of object is tried first, 4 bytes at a time, before any hashing: 4.1 lookups per record are left
// of 40 keys (6.9 when the prediction did not depend on the parent key).

import { Byte } from '../json-bytes.ts'
import { escapeKey } from './reference.ts'

const encoder = new TextEncoder()

/**
 * Words are read and written in the platform's byte order, so that DataView words, Int32Array words and
 * the bytes under them agree everywhere. Computed here, not imported: an imported LE made the flattener
 * about 27% slower (../json-bytes.ts).
 */
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

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
export class Key {
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
export function compareKeys(a: Key, b: Key): number {
  if (a.rank >= 0 && b.rank >= 0) return a.rank - b.rank
  return a.text < b.text ? -1 : a.text === b.text ? 0 : 1
}

/** A key as it appears in records (between the quotes, escapes and all), and what usually follows it. */
export class RawKey {
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
    withQuote[n - 1] = Byte.QUOTE
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

/** FNV-1a over 32-bit words, then the last bytes one by one: how every spelling is hashed (scan(), KeyCache). */
export function hashRange(view: DataView, buf: Uint8Array, s: number, e: number): number {
  let h = HASH_SEED
  let k = s
  for (; k + 4 <= e; k += 4) h = Math.imul(h ^ view.getInt32(k, LE), HASH_PRIME)
  for (; k < e; k++) h = Math.imul(h ^ buf[k], HASH_PRIME)
  return h
}

/** True when buf[s, s + raw length) spells `raw` and a quote follows (all before `end`). */
export function spells(raw: RawKey, view: DataView, buf: Uint8Array, s: number, end: number): boolean {
  const words = raw.words
  const w = words.length - 1
  if (s + 4 * w + 4 > end) {
    // Near the end of the record: byte by byte.
    const bytes = raw.bytes
    const n = bytes.length
    if (s + n >= end || buf[s + n] !== Byte.QUOTE) return false
    for (let k = 0; k < n; k++) if (buf[s + k] !== bytes[k]) return false
    return true
  }
  for (let k = 0; k < w; k++) if (view.getInt32(s + 4 * k, LE) !== words[k]) return false
  return (view.getInt32(s + 4 * w, LE) & raw.mask) === words[w]
}

/** After `prev`, in an object that is the value of `parent`, came `raw`. */
export function learnSuccessor(prev: RawKey, parent: RawKey | null, raw: RawKey): void {
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

export class KeyCache {
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
