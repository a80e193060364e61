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

/** Copies the path (rounded up to whole words: the bytes after it get overwritten) to `o`. */
function copyPath(outView: DataView, o: number, pathView: DataView, pl: number): void {
  for (let k = 0; k < pl; k += 4) outView.setInt32(o + k, pathView.getInt32(k, true), true)
}

/** Copies dst[s, e) to dst[w, …) exactly, w + (e - s) <= s or the ranges apart; words when short, memmove when long. */
function moveWithin(view: DataView, dst: Uint8Array, w: number, s: number, e: number): void {
  const n = e - s
  if (n > 256) {
    dst.copyWithin(w, s, e)
    return
  }
  let k = 0
  for (; k + 4 <= n; k += 4) view.setInt32(w + k, view.getInt32(s + k, true), true)
  for (; k < n; k++) dst[w + k] = dst[s + k]
}

export class FastFlattener {
  private readonly keys = new KeyCache()

  // The path being written, with a view for copying it 4 bytes at a time. Always 8 bytes longer than the path.
  private path: Bytes = new Uint8Array(256)
  private pathView: DataView = new DataView(this.path.buffer)

  // Open containers (frame 0 is the record itself): kind, path length, output offset where its fields
  // begin, first child in the child stack, next array index, whether keys are in order so far, the
  // previous key's spelling (order and prediction of the next key) and the key whose value it is.
  private frameKind: Bytes = new Uint8Array(16)
  private framePath: Ints = new Int32Array(16)
  private frameOut: Ints = new Int32Array(16)
  private frameChild: Ints = new Int32Array(16)
  private frameIndex: Ints = new Int32Array(16)
  private frameSorted: Bytes = new Uint8Array(16)
  private frameRaw: (RawKey | null)[] = []
  private frameParent: (RawKey | null)[] = []

  // Children of the open objects: key and output offset where the child's fields begin.
  private childKey: Key[] = []
  private childStart: Ints = new Int32Array(256)

  // Scratch for sorting children.
  private order: Ints = new Int32Array(64)

  // Views of the last input and output buffers (DataView reads and writes 4 bytes at a time).
  private inBuf: Uint8Array | null = null
  private inView: DataView = new DataView(new ArrayBuffer(0))
  private outBuf: Uint8Array | null = null
  private outView: DataView = new DataView(new ArrayBuffer(0))

  // Results of the out-of-line helpers: where the input continues; eventSource's bytes on its slow path.
  private next = 0
  private service: Uint8Array = new Uint8Array(0)

  constructor(private readonly maxDepth: number) {
    if (!Number.isInteger(maxDepth) || maxDepth < 0) throw new RangeError(`maxDepth must be a non-negative integer, got ${String(maxDepth)}`)
  }

  /** Appends the fields of the record in buf[start, end) to `out`; false (and `out` unchanged) when the record is not a valid JSON object. */
  flatten(buf: Uint8Array, start: number, end: number, out: OutputBuilder): boolean {
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= buf.length)) {
      throw new RangeError(`record bounds [${start}, ${end}) are outside the buffer (${buf.length} bytes)`)
    }
    const mark = out.position
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset + start, end - start)
    if (!isUtf8(bytes)) return this.reference(bytes, out)
    this.keys.trim()
    if (buf !== this.inBuf) {
      this.inBuf = buf
      this.inView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    }
    const o = this.run(buf, start, end, out, mark)
    this.childKey.length = 0
    this.frameRaw.length = 0
    this.frameParent.length = 0
    if (o < 0) {
      out.setPosition(mark)
      return false
    }
    // Every field ends with a space; the last one's goes.
    out.setPosition(o > mark ? o - 1 : o)
    return true
  }

  /** Records that are not valid UTF-8: the reference, on the text the WHATWG decoder makes of them. */
  private reference(bytes: Uint8Array, out: OutputBuilder): boolean {
    let fields: string
    try {
      fields = flattenRecord(decoder.decode(bytes), this.maxDepth)
    } catch (err) {
      if (err instanceof RecordSyntaxError) return false
      throw err
    }
    out.writeString(fields)
    return true
  }

  /** The output buffer with room for `n` more bytes at `o`, and its view. */
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
   * The walk. Returns the output position after the last field's trailing space, or -1 when the record is
   * rejected. Room invariant: when a field starts, the buffer has room for its path, 3 bytes of brackets,
   * everything left of the record and SLACK more. A value never writes more bytes than it reads, except
   * \b and \f (2 bytes in, 6 out), before each of which the room is checked again; so the byte loops need
   * no bounds checks on the output, and word writes may run up to 3 bytes past what they mean to write.
   */
  private run(buf: Uint8Array, start: number, end: number, out: OutputBuilder, mark: number): number {
    const maxDepth = this.maxDepth
    let i = start
    // TextDecoder drops a leading byte order mark.
    if (end - i >= 3 && buf[i] === 0xef && buf[i + 1] === 0xbb && buf[i + 2] === 0xbf) i += 3
    while (i < end && isSpace(buf[i])) i++
    if (i >= end || buf[i] !== OPEN_BRACE || maxDepth < 1) return -1
    i++

    const inView = this.inView
    let o = mark
    let dst = this.room(out, o, SLACK)
    let outView = this.outView
    let cap = dst.length
    let path = this.path
    let pathView = this.pathView
    let pl = 0
    const keys = this.keys
    const childKey = this.childKey
    const frameRaw = this.frameRaw
    const frameParent = this.frameParent
    let frameKind = this.frameKind
    let framePath = this.framePath
    let frameOut = this.frameOut
    let frameChild = this.frameChild
    let frameIndex = this.frameIndex
    let frameSorted = this.frameSorted
    let childStart = this.childStart

    let f = 0
    let ct = 0
    frameKind[0] = OBJECT
    framePath[0] = 0
    frameOut[0] = o
    frameChild[0] = 0
    frameSorted[0] = 1
    frameRaw[0] = null
    frameParent[0] = null

    let opened = true // just after `{` or `[`
    for (;;) {
      let c = buf[i]
      while (i < end && isSpace(c)) c = buf[++i]
      if (i >= end) return -1
      const kind = frameKind[f]
      const closer = kind === OBJECT ? CLOSE_BRACE : CLOSE_BRACKET
      if (c === closer) {
        i++
        if (opened) {
          // An empty container: `[path]={}` / `[path]=[]` (the record itself writes nothing).
          if (f > 0) {
            const need = pl + 8 + SLACK + (end - i)
            if (o + need > cap) {
              dst = this.room(out, o, need)
              outView = this.outView
              cap = dst.length
            }
            dst[o++] = OPEN_BRACKET
            copyPath(outView, o, pathView, pl)
            o += pl
            dst[o++] = CLOSE_BRACKET
            dst[o++] = EQUALS
            dst[o++] = kind === OBJECT ? OPEN_BRACE : OPEN_BRACKET
            dst[o++] = closer
            dst[o++] = SPACE
          }
        } else if (kind === OBJECT) {
          if (frameSorted[f] === 0) {
            const from = frameOut[f]
            const need = o - from + SLACK + (end - i)
            if (o + need > cap) {
              dst = this.room(out, o, need)
              outView = this.outView
              cap = dst.length
            }
            o = this.reorder(outView, dst, from, o, frameChild[f], ct)
          }
          ct = frameChild[f]
        }
        if (f === 0) break
        f--
        opened = false
        continue
      }
      if (!opened) {
        if (c !== COMMA) return -1
        c = buf[++i]
        while (i < end && isSpace(c)) c = buf[++i]
        if (i >= end) return -1
      }
      opened = false

      // The member's path, and for objects its key.
      let key: Key | null = null
      let raw: RawKey | null = null
      pl = framePath[f]
      if (kind === OBJECT) {
        if (c !== QUOTE) return -1
        const s = i + 1
        const prevRaw = frameRaw[f]
        const parentRaw = frameParent[f]
        // Hot: the key that followed the previous one last time (CloudTrail keeps its order), compared
        // 4 bytes at a time, with no hashing.
        const predicted = prevRaw !== null ? prevRaw.next : parentRaw !== null ? parentRaw.first : f === 0 ? keys.first : null
        if (predicted !== null && spells(predicted, inView, buf, s, end)) {
          raw = predicted
          i = s + predicted.bytes.length + 1
        } else {
          // A key without escapes: hash it while finding its end, then look it up.
          let j = s
          let h = HASH_SEED
          while (j + 4 <= end) {
            const x = inView.getInt32(j, true)
            if (special(x)) break
            h = Math.imul(h ^ x, HASH_PRIME)
            j += 4
          }
          let b = 0
          for (; j < end; j++) {
            b = buf[j]
            if (b === QUOTE || b === BACKSLASH || b < 0x20) break
            h = Math.imul(h ^ b, HASH_PRIME)
          }
          if (j < end && b === QUOTE) {
            raw = keys.find(inView, buf, s, j, h) ?? keys.add(buf, s, j, h, pieceDecoder.decode(buf.subarray(s, j)))
            i = j + 1
          } else {
            raw = this.escapedKey(buf, i, end)
            if (raw === null) return -1
            i = this.next
          }
          if (prevRaw !== null) prevRaw.next = raw
          else if (parentRaw !== null) parentRaw.first = raw
          else if (f === 0) keys.first = raw
        }
        key = raw.key
        c = buf[i]
        while (i < end && isSpace(c)) c = buf[++i]
        if (c !== COLON || i >= end) return -1
        c = buf[++i]
        while (i < end && isSpace(c)) c = buf[++i]
        if (i >= end) return -1

        if (ct >= childStart.length) childStart = this.childStart = grownInt32(childStart, ct + 1)
        childKey[ct] = key
        childStart[ct] = o
        ct++
        if (prevRaw !== null) {
          const prev = prevRaw.key
          if (!(prev.rank >= 0 && key.rank > prev.rank)) frameSorted[f] = 0
        }
        frameRaw[f] = raw

        if (pl + key.length + 9 > path.length) {
          path = this.path = grownUint8(path, pl + key.length + 9)
          pathView = this.pathView = new DataView(path.buffer)
        }
        if (f > 0) path[pl++] = SLASH
        const words = key.out
        for (let k = 0; k < words.length; k++) pathView.setInt32(pl + 4 * k, words[k], true)
        pl += key.length
      } else {
        if (pl + 20 > path.length) {
          path = this.path = grownUint8(path, pl + 20)
          pathView = this.pathView = new DataView(path.buffer)
        }
        raw = frameParent[f] // array elements share the array's key for predictions
        path[pl++] = SLASH
        const n = frameIndex[f]++
        if (n < 10) {
          path[pl++] = 0x30 + n
        } else {
          let digits = 1
          for (let m = n; m >= 10; m = (m / 10) | 0) digits++
          pl += digits
          for (let m = n, k = pl - 1; k >= pl - digits; k--, m = (m / 10) | 0) path[k] = 0x30 + (m % 10)
        }
      }

      // The value, at depth f + 2.
      if (f + 2 > maxDepth) return -1
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        f++
        if (f >= frameKind.length) {
          const n = f + 1
          frameKind = this.frameKind = grownUint8(frameKind, n)
          framePath = this.framePath = grownInt32(framePath, n)
          frameOut = this.frameOut = grownInt32(frameOut, n)
          frameChild = this.frameChild = grownInt32(frameChild, n)
          frameIndex = this.frameIndex = grownInt32(frameIndex, n)
          frameSorted = this.frameSorted = grownUint8(frameSorted, n)
        }
        frameKind[f] = c === OPEN_BRACE ? OBJECT : ARRAY
        framePath[f] = pl
        frameOut[f] = o
        frameChild[f] = ct
        frameIndex[f] = 0
        frameSorted[f] = 1
        frameRaw[f] = null
        frameParent[f] = raw
        opened = true
        i++
        continue
      }

      const need = pl + 3 + SLACK + (end - i)
      if (o + need > cap) {
        dst = this.room(out, o, need)
        outView = this.outView
        cap = dst.length
      }
      dst[o++] = OPEN_BRACKET
      copyPath(outView, o, pathView, pl)
      o += pl
      dst[o++] = CLOSE_BRACKET
      dst[o++] = EQUALS

      if (c === QUOTE) {
        if (f === 0 && key !== null && key.eventSource) {
          const r = this.eventSource(buf, i, end, dst, o)
          if (r === -1) return -1
          i = this.next
          if (r === -2) {
            const bytes = this.service
            const room = bytes.length + SLACK + (end - i)
            if (o + room > cap) {
              dst = this.room(out, o, room)
              outView = this.outView
              cap = dst.length
            }
            dst.set(bytes, o)
            o += bytes.length
          } else {
            o = r
          }
        } else {
          // Hot: copy the string's bytes 4 at a time until a word holds a quote, a backslash or a control
          // character; then byte by byte to it, undoing an escape if that is what it is.
          i++
          for (;;) {
            while (i + 4 <= end) {
              const x = inView.getInt32(i, true)
              if (special(x)) break
              outView.setInt32(o, x, true)
              i += 4
              o += 4
            }
            if (i >= end) return -1
            const b = buf[i]
            if (b === QUOTE) break
            if (b === BACKSLASH) {
              if (o + (end - i) + SLACK > cap) {
                dst = this.room(out, o, end - i + SLACK)
                outView = this.outView
                cap = dst.length
              }
              o = this.unescape(buf, i, end, dst, o)
              if (o < 0) return -1
              i = this.next
              continue
            }
            if (b < 0x20) return -1
            dst[o++] = b
            i++
          }
          i++
        }
      } else if (c === 0x74 /* t */) {
        if (end - i < 4 || buf[i + 1] !== 0x72 || buf[i + 2] !== 0x75 || buf[i + 3] !== 0x65) return -1
        dst[o++] = 0x74
        dst[o++] = 0x72
        dst[o++] = 0x75
        dst[o++] = 0x65
        i += 4
      } else if (c === 0x66 /* f */) {
        if (end - i < 5 || buf[i + 1] !== 0x61 || buf[i + 2] !== 0x6c || buf[i + 3] !== 0x73 || buf[i + 4] !== 0x65) return -1
        dst[o++] = 0x66
        dst[o++] = 0x61
        dst[o++] = 0x6c
        dst[o++] = 0x73
        dst[o++] = 0x65
        i += 5
      } else if (c === 0x6e /* n */) {
        if (end - i < 4 || buf[i + 1] !== 0x75 || buf[i + 2] !== 0x6c || buf[i + 3] !== 0x6c) return -1
        dst[o++] = 0x6e
        dst[o++] = 0x75
        dst[o++] = 0x6c
        dst[o++] = 0x6c
        i += 4
      } else {
        // A number, as the reference's /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/ matches it; whatever
        // follows must then be a delimiter, which the loop checks.
        let j = i
        if (c === 0x2d /* - */) j++
        if (j < end && buf[j] === 0x30) j++
        else if (j < end && isDigit(buf[j])) while (++j < end && isDigit(buf[j]));
        else return -1
        if (j + 1 < end && buf[j] === 0x2e /* . */ && isDigit(buf[j + 1])) {
          j += 2
          while (j < end && isDigit(buf[j])) j++
        }
        if (j < end && (buf[j] | 0x20) === 0x65 /* e E */) {
          let k = j + 1
          if (k < end && (buf[k] === 0x2b || buf[k] === 0x2d)) k++
          if (k < end && isDigit(buf[k])) {
            j = k + 1
            while (j < end && isDigit(buf[j])) j++
          }
        }
        while (i < j) dst[o++] = buf[i++]
      }
      dst[o++] = SPACE
    }

    // After the record: only whitespace.
    while (i < end && isSpace(buf[i])) i++
    if (i !== end) return -1
    return o
  }

  /**
   * One escape at buf[i] (a backslash) inside a string value: writes what it stands for and sets `next`
   * past it. Returns the output position, or -1 for an escape JSON does not have.
   */
  private unescape(buf: Uint8Array, i: number, end: number, dst: Uint8Array, o: number): number {
    if (i + 1 >= end) return -1
    const e = buf[i + 1]
    this.next = i + 2
    switch (e) {
      case QUOTE:
      case BACKSLASH:
      case SLASH:
        dst[o++] = e
        return o
      case 0x6e /* n */:
      case 0x72 /* r */:
      case 0x74 /* t */:
        dst[o++] = BACKSLASH
        dst[o++] = e
        return o
      case 0x62 /* b */:
        return writeControl(dst, o, 0x08)
      case 0x66 /* f */:
        return writeControl(dst, o, 0x0c)
      case 0x75 /* u */: {
        let u = hex4(buf, i + 2, end)
        if (u < 0) return -1
        this.next = i + 6
        if (u < 0x20) return writeControl(dst, o, u)
        if (u < 0x80) {
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
      default:
        return -1
    }
  }

  /**
   * The top-level eventSource string at buf[i] (its opening quote), as serviceName() makes it. Sets `next`
   * past the string; returns the output position, -1 when the string is not valid JSON, or -2 when the
   * bytes to write are left in `service` (escapes or non-ASCII: the reference's functions made them).
   */
  private eventSource(buf: Uint8Array, i: number, end: number, dst: Uint8Array, o: number): number {
    let j = i + 1
    while (j < end) {
      const b = buf[j]
      if (b === QUOTE || b === BACKSLASH || b < 0x20 || b >= 0x80) break
      j++
    }
    if (j < end && buf[j] === QUOTE) {
      // Printable ASCII: strip the suffix and upper-case a-z here.
      let stop = j
      const n = AMAZONAWS_COM.length
      if (j - (i + 1) >= n) {
        let k = 0
        while (k < n && buf[j - n + k] === AMAZONAWS_COM[k]) k++
        if (k === n) stop = j - n
      }
      for (let k = i + 1; k < stop; k++) {
        const b = buf[k]
        dst[o++] = b >= 0x61 && b <= 0x7a ? b - 0x20 : b
      }
      this.next = j + 1
      return o
    }
    const close = stringEnd(buf, i, end)
    if (close < 0) return -1
    const s = parseString(buf, i, close)
    if (s === null) return -1
    this.next = close + 1
    // The reference's own functions. Upper-casing can lengthen a string (ß -> SS) beyond what the room
    // invariant covers, so run() makes room for these bytes and copies them.
    this.service = encoder.encode(escapeControls(serviceName(s)))
    return -2
  }

  /** A key with escapes (or control characters, which JSON.parse rejects): decoded as the reference does. */
  private escapedKey(buf: Uint8Array, i: number, end: number): RawKey | null {
    const close = stringEnd(buf, i, end)
    if (close < 0) return null
    const h = hashRange(this.inView, buf, i + 1, close)
    this.next = close + 1
    const found = this.keys.find(this.inView, buf, i + 1, close, h)
    if (found !== undefined) return found
    const text = parseString(buf, i, close)
    if (text === null) return null
    return this.keys.add(buf, i + 1, close, h, text)
  }

  /**
   * Puts the children of the object whose fields are dst[from, to) in key order, keeping only the last of
   * equal keys. Children are child stack entries [base, top). Needs room for to - from more bytes at `to`.
   * Returns the new end of the object's fields.
   */
  private reorder(view: DataView, dst: Uint8Array, from: number, to: number, base: number, top: number): number {
    const n = top - base
    const keys = this.childKey
    const starts = this.childStart
    if (n > this.order.length) this.order = new Int32Array(Math.max(n, this.order.length * 2))
    const order = this.order
    if (n <= 32) {
      // Insertion sort, stable: equal keys stay in record order.
      for (let k = 0; k < n; k++) {
        const c = base + k
        const key = keys[c]
        let m = k
        while (m > 0 && compareKeys(keys[order[m - 1]], key) > 0) {
          order[m] = order[m - 1]
          m--
        }
        order[m] = c
      }
    } else {
      const idx = Array.from({ length: n }, (_, k) => base + k)
      idx.sort((a, b) => compareKeys(keys[a], keys[b]) || a - b)
      order.set(idx)
    }
    // Copy the fields past their end, then back in order.
    const shift = to - from
    dst.copyWithin(to, from, to)
    let w = from
    for (let k = 0; k < n; k++) {
      const c = order[k]
      if (k + 1 < n && compareKeys(keys[c], keys[order[k + 1]]) === 0) continue // the last one wins
      const s = starts[c]
      const e = c + 1 < top ? starts[c + 1] : to
      moveWithin(view, dst, w, s + shift, e + shift)
      w += e - s
    }
    return w
  }
}

/** A control character as the format writes it: \n \r \t or \u00XX. */
function writeControl(dst: Uint8Array, o: number, c: number): number {
  dst[o++] = BACKSLASH
  if (c === 0x0a) dst[o++] = 0x6e
  else if (c === 0x0d) dst[o++] = 0x72
  else if (c === 0x09) dst[o++] = 0x74
  else {
    dst[o++] = 0x75
    dst[o++] = 0x30
    dst[o++] = 0x30
    dst[o++] = HEX[c >> 4]
    dst[o++] = HEX[c & 15]
  }
  return o
}
