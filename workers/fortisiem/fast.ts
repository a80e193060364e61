// The fast FortiSIEM flattener: one pass over a record's UTF-8 bytes that checks it and notes where each
// value is, then the fields written straight into the output buffer in their final (sorted) order. No
// JSON.parse, no tree of objects, no strings on the way. The output is the reference's (reference.ts), byte
// for byte — TextEncoder(flattenRecord(TextDecoder(bytes))) — and it rejects exactly the records the
// reference rejects; test/workers/fortisiem/fast.test.ts holds it to that.
//
// 1. scan(): the grammar, as the reference applies it, over bytes. It records the record's *shape* (a
//    token per `{` `[` `}`/`]`, per key — an interned spelling — and per scalar, string or not) and, per
//    scalar, where its bytes are and whether a string has escapes. Strings are checked 4 bytes at a time.
// 2. The shape's plan (plans.ts): for each field in output order, its prefix (` [path]=`, or the whole
//    field for {} and []) and which scalar fills it. Building it sorts each object's keys in UTF-16 order
//    and drops earlier duplicates (the last one wins, as in JSON.parse). CloudTrail has a few thousand
//    shapes (event type × identity type × optional fields), so plans are cached by shape and almost every
//    record finds its own.
// 3. emit(): per field, the prefix and the value's bytes, copied 4 at a time; the string values the scan
//    marked (JSON escapes, or characters the format escapes) a character at a time: JSON escapes undone
//    (\uXXXX to UTF-8, surrogate pairs joined, lone surrogates to U+FFFD as TextEncoder writes them), and
//    written as the format's grammar says (reference.ts, README "Output": \\, \n \r \t \uXXXX for
//    C0, DEL, C1, U+2028 and U+2029, ]\= for `]=`, \u005b for a `[` after a space with no `]` after it).
// The fields of one record may come to at most `maxBytes` (max_record_size): checked while the plan's
// prefixes are built (one long key over a long array makes gigabytes of them) and while the fields are
// written; such a record is refused with RecordTooLargeError and the output left as it was.
//
// Measured choices (bench/flatten.bench.ts's file, µs per record on this 2-core machine, JSON.parse ~4.1;
// the plans' and the keys' own are in plans.ts and keys.ts):
// - Words of 4 bytes through DataView for scanning and copying: 0.48 ns/byte to find a string's end
//   against 1.23 byte by byte, 0.34 against 1.12 to copy. Flagging `[` `]` and DEL in the same words too
//   (valueStop(), for the grammar's escapes): within the benchmark's noise on the file and on the corpus
//   (5.5-6.1 µs before, 5.6-5.8 after; corpus 4.2-4.8, 4.1-4.3); the word test alone costs about 0.2 µs
//   per record of the file's 1,209 bytes of strings, nothing measurable of the corpus's 787.
// - UTF-8 checked in the scan (only strings may hold bytes >= 0x80) rather than by isUtf8() over the record
//   first: that call and its view cost 0.3-0.4 of the 4.7 it took then.
// - LE and the byte values local to each module (LE computed here, the bytes a const enum that tsc
//   writes in as literals): importing LE from another module made the flattener about 27% slower;
//   importing functions costs 0-2%, so the helpers live in keys.ts, plans.ts, bytes.ts, ../json-bytes.ts.
// Invalid UTF-8 goes to the reference (decoded with U+FFFD as the WHATWG decoder does): rare, and exact.
// The top-level eventSource is upper-cased here when it is printable ASCII without escapes; otherwise
// (escapes, non-ASCII: toUpperCase is Unicode-aware) the reference's serviceName() does it.
// Nothing recurses: containers are an explicit stack of frames. One instance keeps its caches from record
// to record and file to file: use one per thread, not one per file.

import { Byte, escapeLength, hex4, isDigit, isSpace, plainBytes, skipSpace, utf8Length, validUtf8 } from '../json-bytes.ts'
import type { OutputBuilder } from '../frames.ts'
import { type Bytes, type Ints, grownUint8, openBrackets, parseString, specialOrHigh, stringEnd, valueStop, writeEscape } from './bytes.ts'
import { KeyCache, type RawKey, hashRange, learnSuccessor, spells } from './keys.ts'
import { ItemFlag, type Plan, Plans, SCRATCH_KEPT, SLAB, Token } from './plans.ts'
import { RecordSyntaxError, RecordTooLargeError, escapeValue, flattenRecord, isStackOverflow, serviceName } from './reference.ts'

// As object-parser.ts decodes a record (a leading byte order mark dropped), and for pieces inside one
// (a U+FEFF there is a character like any other).
const decoder = new TextDecoder('utf-8')
const pieceDecoder = new TextDecoder('utf-8', { ignoreBOM: true })
const encoder = new TextEncoder()

/** Bytes of room kept beyond what a field needs: word copies may write up to 3 bytes past their end. */
const SLACK = 16
/** The most a byte of a marked string value can become: DEL is \u007f. */
const EXPANSION = 6

const AMAZONAWS_COM = encoder.encode('.amazonaws.com')

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

/** The most flattenFrom() reads for one record: its scratch (one entry per byte) stays under SCRATCH_KEPT. */
const LOOKAHEAD = SCRATCH_KEPT >> 1

/**
 * Words are read and written in the platform's byte order, so that DataView words, Int32Array words and
 * the bytes under them agree everywhere. Computed here, not imported (see above).
 */
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1
/**
 * The index (0-3) within a word read in platform order of the first byte flagged in `t` (not 0): SWAR
 * tests flag a byte by its top bit. Here, not imported: ../json-bytes.ts says why.
 */
const firstFlagged = LE ? (t: number): number => (31 - Math.clz32(t & -t)) >> 3 : (t: number): number => Math.clz32(t) >> 3

/** The shape's hash: FNV-1a over its tokens, as keys.ts hashes a key's spelling (local for the reason LE is). */
const HASH_SEED = 0x811c9dc5 | 0
const HASH_PRIME = 0x01000193

export class FastFlattener {
  private readonly keys = new KeyCache()
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

  /** The plans of the shapes seen so far (plans.ts). */
  private readonly plans: Plans

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
    slabSize = SLAB,
  ) {
    if (!Number.isInteger(maxDepth) || maxDepth < 0) throw new RangeError(`maxDepth must be a non-negative integer, got ${String(maxDepth)}`)
    if (!Number.isInteger(slabSize) || slabSize < 1) throw new RangeError(`slabSize must be a positive integer, got ${String(slabSize)}`)
    this.plans = new Plans(slabSize)
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
   * This lets the cutter skip its own pass over most records (record-cutter.ts, PreScanner). Throws
   * RecordTooLargeError as flatten() does.
   */
  flattenFrom(buf: Uint8Array, start: number, limit: number, out: OutputBuilder, maxBytes = Infinity): number {
    const input = this.prepare(buf)
    // scan() sizes its scratch by the bytes it may read: up to `limit` they would pass SCRATCH_KEPT when a
    // caller hands over more than a chunk at once (parseObjectSync(), a whole document of 5 MB), and then
    // be given back and grown again for every record (3,000 records took 12 s instead of 0.2). A record
    // longer than LOOKAHEAD is cut by the caller and goes through flatten(), as one across chunks does.
    const scanned = this.scan(input, start, Math.min(limit, start + LOOKAHEAD), true)
    if (scanned !== SCANNED) return -1
    const end = (this.recordEnd = this.next)
    this.lastNotUtf8 = false
    out.setPosition(this.emit(this.plan(maxBytes), input, out, out.position, maxBytes))
    return end
  }

  /** Caches in order for the next record, and the input as scan() and emit() read it. */
  private prepare(buf: Uint8Array): Uint8Array {
    if (this.tokens.length > SCRATCH_KEPT || this.plans.scratchLarge) this.giveBack()
    if (this.keys.trim() || this.plans.full) this.plans.clear() // the plans name the keys
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
    this.plans.giveBack()
  }

  /**
   * Records that are not valid UTF-8 (or bring too many new keys): the reference, on the text the WHATWG
   * decoder makes of them. The reference recurses: a parse thread's stack holds max_depth's ceiling (10,000
   * levels), the main thread's only about 3,800 (reference.ts); a record that runs out of stack is rejected,
   * as object-parser.ts rejects it.
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
    if (i >= end || buf[i] !== Byte.OPEN_BRACE || maxDepth < 1) return REJECTED
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
    let h = Math.imul(HASH_SEED ^ Token.OBJECT, HASH_PRIME)
    let cached = true
    let timeValue = false // the value coming is the top-level eventTime's
    this.timeStart = -1
    let newKeys = 0
    tokens[nt++] = Token.OBJECT
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
      if (c === (inArray ? Byte.CLOSE_BRACKET : Byte.CLOSE_BRACE)) {
        i++
        tokens[nt++] = Token.CLOSE
        h = Math.imul(h ^ Token.CLOSE, HASH_PRIME)
        if (f === 0) break
        f--
        opened = false
        continue
      }
      if (!opened) {
        if (c !== Byte.COMMA) return REJECTED
        i = skipSpace(buf, i + 1, end)
        if (i >= end) return REJECTED
        c = buf[i]
      }
      opened = false

      let raw: RawKey | null
      if (!inArray) {
        if (c !== Byte.QUOTE) return REJECTED
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
            if (b === Byte.QUOTE || b === Byte.BACKSLASH || b < 0x20) break
            if (b < 0x80) j++
            else {
              const n = utf8Length(buf, j, end)
              if (n < 0) return NOT_UTF8
              j += n
            }
          }
          if (b === Byte.QUOTE) {
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
        const token = Token.KEY + raw.id
        tokens[nt++] = token
        h = Math.imul(h ^ token, HASH_PRIME)
        if (!raw.cached) cached = false

        i = skipSpace(buf, i, end)
        if (i >= end || buf[i] !== Byte.COLON) return REJECTED
        i = skipSpace(buf, i + 1, end)
        if (i >= end) return REJECTED
        c = buf[i]
      } else {
        raw = frameParent[f] // array elements share the array's key for predictions
      }

      // The value, at depth f + 2.
      if (f + 2 > maxDepth) return REJECTED
      if (c === Byte.OPEN_BRACE || c === Byte.OPEN_BRACKET) {
        const token = c === Byte.OPEN_BRACE ? Token.OBJECT : Token.ARRAY
        tokens[nt++] = token
        h = Math.imul(h ^ token, HASH_PRIME)
        f++
        if (f >= frameArray.length) frameArray = this.frameArray = grownUint8(frameArray, f + 1)
        frameArray[f] = c === Byte.OPEN_BRACE ? 0 : 1
        frameRaw[f] = null
        frameParent[f] = raw
        opened = true
        i++
        continue
      }

      let token = Token.RAW
      let escaped = 0
      const s = c === Byte.QUOTE ? i + 1 : i
      if (c === Byte.QUOTE) {
        // Hot: 4 bytes at a time to a word with a quote, a backslash, a control character, `[`, `]`, DEL
        // or a byte of a multi-byte character in it; then byte by byte past it. `escaped` marks the strings
        // that cannot be copied as they are: JSON escapes, and what the format escapes.
        token = Token.STRING
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
          if (b === Byte.QUOTE) break
          if (b === Byte.BACKSLASH) {
            const n = escapeLength(buf, i, end)
            if (n < 0) return REJECTED
            escaped = 1
            i += n
          } else if (b < 0x20) {
            return REJECTED
          } else if (b === Byte.CLOSE_BRACKET) {
            open = false
            if (i + 1 < end && buf[i + 1] === Byte.EQUALS) escaped = 1
            i++
          } else if (b === Byte.OPEN_BRACKET) {
            if (buf[i - 1] === Byte.SPACE) open = true
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
      if (timeValue && token === Token.STRING) {
        this.timeStart = s
        this.timeEnd = i
        timeValue = false
      }
      if (token === Token.STRING) i++ // the closing quote
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

  /** The plan for the shape scan() saw (plans.ts). */
  private plan(maxBytes: number): Plan {
    return this.plans.get(this.tokens, this.tokenRaw, this.tokenCount, this.shapeHash, this.shapeCached, this.keys, maxBytes)
  }


  // -------------------------------------------------------------------------------------------------------
  // 3. Emit (2, the plan, is plans.ts)

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
      if (mem[k + 3] === ItemFlag.EVENT_SOURCE) {
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
      if (b === Byte.BACKSLASH) {
        o = this.unescape(buf, s, e, dst, o)
        s = this.next
      } else if (b === Byte.DEL) {
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
        if (b === Byte.OPEN_BRACKET) this.openBracket = true
        dst[o++] = b
        s++
      }
      // `]=` is written ]\=, whether each of the two came raw or as an escape (unescape() sees the other order).
      if (dst[o - 1] === Byte.CLOSE_BRACKET && s < e && buf[s] === Byte.EQUALS) {
        dst[o++] = Byte.BACKSLASH
        dst[o++] = Byte.EQUALS
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
        dst[o++] = Byte.BACKSLASH
        dst[o++] = e
        return o
      case 0x62 /* b */:
        return writeEscape(dst, o, 0x08)
      case 0x66 /* f */:
        return writeEscape(dst, o, 0x0c)
      case 0x75 /* u */: {
        let u = hex4(buf, i + 2, end)
        this.next = i + 6
        if (u < 0x20 || (u >= Byte.DEL && u < 0xa0) || u === 0x2028 || u === 0x2029) return writeEscape(dst, o, u)
        if (u < 0x80) {
          if (u === Byte.BACKSLASH) dst[o++] = Byte.BACKSLASH
          else if (u === Byte.EQUALS && dst[o - 1] === Byte.CLOSE_BRACKET) dst[o++] = Byte.BACKSLASH
          else if (u === Byte.OPEN_BRACKET) this.openBracket = true
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
          const low = u <= 0xdbff && i + 7 < end && buf[i + 6] === Byte.BACKSLASH && buf[i + 7] === 0x75 ? hex4(buf, i + 8, end) : -1
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
        if (e === Byte.BACKSLASH) dst[o++] = Byte.BACKSLASH
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
