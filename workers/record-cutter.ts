// Cuts the records out of a CloudTrail log document as its bytes stream in, without parsing them.
//
// A CloudTrail file is `{"Records":[{…},{…},…]}`. The cutter follows the top-level object, finds the
// `Records` array and hands each element that is an object to `onRecord` as soon as its closing brace
// arrives — as a view of the input bytes, or of a carry buffer when the record spans two chunks. Memory
// therefore follows the largest record, not the object. Inside a record only strings and nesting are
// tracked (string ends are found with indexOf, which runs at memchr speed); whether the record is valid
// JSON is the formatter's business. Elements that are not objects, records larger than maxRecordBytes and
// records nested deeper than maxDepth are skipped and counted; the records around them are still cut.
//
// Nothing here recurses, so no input can overflow the stack.

import type { ErrorCode } from '../src/errors.ts'
import type { SkipCounts } from './protocol.ts'

export type CutErrorCode = Extract<ErrorCode, 'ERR_OBJECT_NOT_JSON' | 'ERR_OBJECT_NO_RECORDS' | 'ERR_OBJECT_RECORDS_NOT_ARRAY'>

export class CutError extends Error {
  constructor(
    readonly code: CutErrorCode,
    message: string,
  ) {
    super(message)
  }
}

export interface RecordHandler {
  /**
   * One record: bytes [start, end) of `buf` (the view is only valid during the call). `hasSpace` is
   * true when whitespace occurs outside strings, so the json format knows whether it must minify.
   */
  onRecord(buf: Uint8Array, start: number, end: number, hasSpace: boolean): void
  onSkip(reason: keyof SkipCounts): void
}

export interface CutterLimits {
  maxRecordBytes: number
  maxDepth: number
}

/**
 * Optional: handles a whole record that lies inside the current chunk in the same pass that finds its end
 * (the formatter reads it anyway: json/fast.ts, fortisiem/fast.ts). Returns the index after the record,
 * which is then done (written or skipped), or -1 to let the cutter cut it and call onRecord (the record
 * is invalid, continues in the next chunk, or needs the slow path). Saves the cutter's own pass over most
 * records: measured with bench/json-slice.bench.ts and parse --threads 1.
 */
export interface PreScanner {
  takeRecord(buf: Uint8Array, start: number, limit: number): number
}

const enum S {
  Start, // before the document; a UTF-8 BOM may come first
  TopKeyOrEnd, // after `{` of the document
  TopKey, // inside a top-level key string
  TopColon,
  TopValue,
  TopCommaOrEnd,
  ElemOrEnd, // after `[` of Records
  Elem, // after `,` in Records
  Record, // inside a record object
  ElemCommaOrEnd,
  Skip, // inside a value being skipped (not Records, or a non-object element)
  Done,
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const RECORDS = new TextEncoder().encode('Records')

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

export class RecordCutter {
  private state = S.Start
  private bomSeen = 0
  private recordsFound = false
  private position = 0 // bytes consumed before the current chunk, for error messages

  // string scanning, shared by every state that can be inside a string
  private inString = false
  private escapeNext = false // the previous chunk ended on an escaping backslash

  // the top-level key being read (only compared with "Records")
  private key = new Uint8Array(RECORDS.length)
  private keyLength = 0
  private keyIsRecords = false

  // the record being cut
  private depth = 0
  private hasSpace = false
  private tooDeep = false
  private tooLarge = false
  private carry: Uint8Array = new Uint8Array(0)
  private carryLength = 0

  // the value being skipped
  private skipDepth = 0
  private skipScalar = false
  private skipThen = S.TopCommaOrEnd

  constructor(
    private readonly handler: RecordHandler,
    private readonly limits: CutterLimits,
    private readonly prescanner: PreScanner | null = null,
  ) {}

  push(buf: Uint8Array): void {
    const n = buf.length
    let i = 0
    let recordStart = this.state === S.Record ? 0 : -1
    while (i < n) {
      if (this.inString) {
        const close = this.findStringEnd(buf, i)
        if (close < 0) {
          if (this.state === S.TopKey) this.keyBytes(buf, i, n)
          i = n
          break
        }
        if (this.state === S.TopKey) {
          this.keyBytes(buf, i, close)
          this.state = S.TopColon
        } else if (this.state === S.Skip && this.skipDepth === 0) {
          this.state = this.skipThen
        }
        this.inString = false
        i = close + 1
        continue
      }
      const c = buf[i]
      switch (this.state) {
        case S.Record: {
          // Hot loop: everything outside strings inside a record.
          let depth = this.depth
          for (; i < n; i++) {
            const b = buf[i]
            if (b === QUOTE) break
            if (b === 0x7b || b === 0x5b) {
              if (++depth > this.limits.maxDepth) this.tooDeep = true
            } else if (b === 0x7d || b === 0x5d) {
              if (--depth === 0) break
            } else if (b <= 0x20 && isSpace(b)) {
              this.hasSpace = true
            }
          }
          this.depth = depth
          if (i === n) break
          if (buf[i] === QUOTE) {
            this.inString = true
            i++
            break
          }
          // the record's closing brace
          i++
          this.endRecord(buf, recordStart, i)
          recordStart = -1
          this.state = S.ElemCommaOrEnd
          break
        }
        case S.Start:
          if (this.bomSeen < 3 && c === [0xef, 0xbb, 0xbf][this.bomSeen] && this.position + i === this.bomSeen) {
            this.bomSeen++
          } else if (c === 0x7b) {
            this.state = S.TopKeyOrEnd
          } else if (c === 0x5b) {
            throw new CutError('ERR_OBJECT_NO_RECORDS', 'document is an array, not an object with "Records"')
          } else if (!isSpace(c)) {
            throw this.unexpected(c, i, 'the document to start with "{"')
          }
          i++
          break
        case S.TopKeyOrEnd:
        case S.TopCommaOrEnd:
          if (c === QUOTE && this.state === S.TopKeyOrEnd) {
            this.keyLength = 0
            this.keyIsRecords = true
            this.inString = true
            this.state = S.TopKey
          } else if (c === 0x7d) {
            this.state = S.Done
          } else if (c === 0x2c && this.state === S.TopCommaOrEnd) {
            this.state = S.TopKeyOrEnd
          } else if (!isSpace(c)) {
            throw this.unexpected(c, i, this.state === S.TopKeyOrEnd ? 'a key or "}"' : '"," or "}"')
          }
          i++
          break
        case S.TopColon:
          if (c === 0x3a) this.state = S.TopValue
          else if (!isSpace(c)) throw this.unexpected(c, i, '":"')
          i++
          break
        case S.TopValue:
          if (isSpace(c)) {
            i++
          } else if (this.keyIsRecords && this.keyLength === RECORDS.length) {
            if (c !== 0x5b) throw new CutError('ERR_OBJECT_RECORDS_NOT_ARRAY', '"Records" is not an array')
            this.recordsFound = true
            this.state = S.ElemOrEnd
            i++
          } else {
            this.startSkip(c, S.TopCommaOrEnd)
            i++
          }
          break
        case S.ElemOrEnd:
        case S.Elem:
          if (isSpace(c)) {
            i++
          } else if (c === 0x5d && this.state === S.ElemOrEnd) {
            this.state = S.TopCommaOrEnd
            i++
          } else if (c === 0x7b && this.prescanner !== null && this.prescanned(buf, i, n)) {
            i = this.prescanEnd
            this.state = S.ElemCommaOrEnd
          } else if (c === 0x7b) {
            this.state = S.Record
            this.depth = 1
            this.hasSpace = false
            this.tooDeep = this.limits.maxDepth < 1
            this.tooLarge = false
            this.carryLength = 0
            recordStart = i
            i++
          } else if (c === 0x2c || c === 0x5d || c === 0x7d || c === 0x3a) {
            throw this.unexpected(c, i, 'a record')
          } else {
            this.handler.onSkip('non_object')
            this.startSkip(c, S.ElemCommaOrEnd)
            i++
          }
          break
        case S.ElemCommaOrEnd:
          if (c === 0x2c) this.state = S.Elem
          else if (c === 0x5d) this.state = S.TopCommaOrEnd
          else if (!isSpace(c)) throw this.unexpected(c, i, '"," or "]" between records')
          i++
          break
        case S.Skip:
          if (this.skipScalar) {
            if (c === 0x2c || c === 0x5d || c === 0x7d || isSpace(c)) {
              this.state = this.skipThen // the delimiter belongs to the next state: do not consume it
              continue
            }
          } else if (c === QUOTE) {
            this.inString = true
          } else if (c === 0x7b || c === 0x5b) {
            this.skipDepth++
          } else if (c === 0x7d || c === 0x5d) {
            if (--this.skipDepth === 0) this.state = this.skipThen
          }
          i++
          break
        case S.Done:
          if (!isSpace(c)) throw this.unexpected(c, i, 'nothing after the document')
          i++
          break
        case S.TopKey:
          // unreachable: TopKey is always inString
          i++
          break
      }
    }
    if (this.state === S.Record && recordStart >= 0) this.keep(buf, recordStart, n)
    this.position += n
  }

  private prescanEnd = 0

  /** A record taken whole by the pre-scanner; false leaves it to the cutter. */
  private prescanned(buf: Uint8Array, start: number, limit: number): boolean {
    const end = this.prescanner!.takeRecord(buf, start, limit)
    if (end < 0) return false
    this.prescanEnd = end
    return true
  }

  /** The document is complete: throws when it was not, or had no Records. */
  end(): void {
    if (this.state === S.Skip && this.skipScalar) this.state = this.skipThen
    if (this.state === S.Done) {
      if (!this.recordsFound) throw new CutError('ERR_OBJECT_NO_RECORDS', 'the document has no "Records"')
      return
    }
    if (this.state === S.Start) throw new CutError('ERR_OBJECT_NOT_JSON', 'the document is empty')
    throw new CutError('ERR_OBJECT_NOT_JSON', `the document ends early, at byte ${this.position}`)
  }

  /** Index of the closing quote of the string we are in, or -1 when it continues past the chunk. */
  private findStringEnd(buf: Uint8Array, from: number): number {
    let i = from
    if (this.escapeNext) {
      this.escapeNext = false
      i++
    }
    const start = i
    for (;;) {
      const q = buf.indexOf(QUOTE, i)
      if (q < 0) {
        // Remember whether the chunk ends on an escaping backslash.
        let run = 0
        for (let k = buf.length - 1; k >= start && buf[k] === BACKSLASH; k--) run++
        this.escapeNext = (run & 1) === 1
        return -1
      }
      let run = 0
      for (let k = q - 1; k >= start && buf[k] === BACKSLASH; k--) run++
      if ((run & 1) === 0) return q
      i = q + 1
    }
  }

  private keyBytes(buf: Uint8Array, from: number, to: number): void {
    if (!this.keyIsRecords) return
    for (let i = from; i < to; i++) {
      if (this.keyLength >= RECORDS.length || buf[i] !== RECORDS[this.keyLength]) {
        this.keyIsRecords = false
        return
      }
      this.keyLength++
    }
  }

  private startSkip(c: number, then: S): void {
    this.skipThen = then
    this.skipDepth = 0
    this.skipScalar = false
    this.state = S.Skip
    if (c === QUOTE) this.inString = true
    else if (c === 0x7b || c === 0x5b) this.skipDepth = 1
    else if (c === 0x7d || c === 0x5d || c === 0x2c || c === 0x3a) throw this.unexpected(c, -1, 'a value')
    else this.skipScalar = true
  }

  /** The record continues past this chunk: keep its bytes so far, unless it is already too large. */
  private keep(buf: Uint8Array, from: number, to: number): void {
    if (this.tooLarge) return
    const need = this.carryLength + (to - from)
    if (need > this.limits.maxRecordBytes) {
      this.tooLarge = true
      this.carryLength = 0
      if (this.carry.length > 1 << 20) this.carry = new Uint8Array(0) // give a huge carry back
      return
    }
    if (need > this.carry.length) {
      const grown = new Uint8Array(Math.min(Math.max(need, this.carry.length * 2, 4096), this.limits.maxRecordBytes))
      grown.set(this.carry.subarray(0, this.carryLength))
      this.carry = grown
    }
    this.carry.set(buf.subarray(from, to), this.carryLength)
    this.carryLength = need
  }

  private endRecord(buf: Uint8Array, start: number, end: number): void {
    if (this.carryLength > 0 || this.tooLarge) {
      // The record began in an earlier chunk; `start` is 0 here.
      this.keep(buf, start, end)
      if (!this.tooLarge && !this.tooDeep) this.handler.onRecord(this.carry, 0, this.carryLength, this.hasSpace)
      this.carryLength = 0
      if (this.carry.length > 1 << 20) this.carry = new Uint8Array(0)
    } else if (end - start > this.limits.maxRecordBytes) {
      this.tooLarge = true
    } else if (!this.tooDeep) {
      this.handler.onRecord(buf, start, end, this.hasSpace)
    }
    if (this.tooLarge) this.handler.onSkip('record_too_large')
    else if (this.tooDeep) this.handler.onSkip('record_too_deep')
  }

  private unexpected(c: number, i: number, expected: string): CutError {
    const at = i < 0 ? '' : ` at byte ${this.position + i}`
    const shown = c >= 0x20 && c < 0x7f ? `"${String.fromCharCode(c)}"` : `0x${c.toString(16).padStart(2, '0')}`
    return new CutError('ERR_OBJECT_NOT_JSON', `unexpected ${shown}${at}, expected ${expected}`)
  }
}
