// A record's fate under its source's rules, for object-parser.ts: written as it is, dropped (by which rule),
// or written with values redacted (bytes to format instead of the record's). The scanner (scan.ts) decides
// almost every record from its bytes; what it leaves goes to the reference (reference.ts) on the parsed record.
//
// A redacted record is the record's own bytes with each redacted value replaced by "[REDACTED]" (a JSON
// string), so both formats write it as they write any record: the json format stays valid JSON, and the
// fortisiem format writes [path]=[REDACTED].

import { parseLossless, RecordSyntaxError, isStackOverflow } from '../fortisiem/reference.ts'
import { NOT_KEPT, REDACTED, type RuleSet } from './compile.ts'
import { evaluate, toJson } from './reference.ts'
import { RuleScanner } from './scan.ts'

const decoder = new TextDecoder('utf-8')
const encoder = new TextEncoder()
const MARKER = encoder.encode(JSON.stringify(REDACTED))

export const enum Fate {
  /** Written as it is. */
  WRITE,
  /** Dropped: `dropRule` says by which rule. */
  DROP,
  /** Written from `bytes[0, length)`: `redacted` lists the redact rules that replaced a value. */
  REWRITE,
  /** The reference could not parse it: not JSON. */
  NOT_JSON,
}

export class RecordRules {
  readonly scanner: RuleScanner
  dropRule = ''
  bytes: Uint8Array = new Uint8Array(4096)
  length = 0
  redacted: number[] = []

  constructor(
    readonly rules: RuleSet,
    private readonly maxDepth: number,
  ) {
    this.scanner = new RuleScanner(rules, maxDepth)
  }

  /** The index after the record opening at `start` if the scanner reads it whole before `limit`, else -1. */
  scan(buf: Uint8Array, start: number, limit: number): number {
    return this.scanner.scan(buf, start, limit, false)
  }

  /** The fate of the record in buf[start, end); `scanned`: scan() just read it (else it is read now). */
  decide(buf: Uint8Array, start: number, end: number, scanned: boolean): Fate {
    const sc = this.scanner
    if ((!scanned && sc.scan(buf, start, end, true) < 0) || sc.ambiguous) return this.reference(buf, start, end)
    const rules = this.rules
    const hit = sc.hit
    for (let r = 0; r < rules.drop.length; r++) {
      if (hit[r] === 1) {
        this.dropRule = rules.drop[r].label
        return Fate.DROP
      }
    }
    if (rules.keep.length > 0) {
      let kept = false
      for (let r = rules.drop.length; r < hit.length && !kept; r++) kept = hit[r] === 1
      if (!kept) {
        this.dropRule = NOT_KEPT
        return Fate.DROP
      }
    }
    if (sc.redactions === 0) return Fate.WRITE
    // The record's bytes with each range replaced by the marker.
    let need = end - start + sc.redactions * MARKER.length
    // A huge record's room is given back at the next record that does not need it.
    if (this.bytes.length > 1 << 20 && need <= 1 << 16) this.bytes = new Uint8Array(4096)
    if (need > this.bytes.length) this.bytes = new Uint8Array(Math.max(need, this.bytes.length * 2))
    const out = this.bytes
    let o = 0
    let from = start
    const redacted: number[] = []
    for (let k = 0; k < sc.redactions; k++) {
      const s = sc.redactStart[k]
      out.set(buf.subarray(from, s), o)
      o += s - from
      out.set(MARKER, o)
      o += MARKER.length
      from = sc.redactEnd[k]
      if (!redacted.includes(sc.redactRule[k])) redacted.push(sc.redactRule[k])
    }
    out.set(buf.subarray(from, end), o)
    o += end - from
    need = o
    this.length = need
    this.redacted = redacted.sort((a, b) => a - b)
    return Fate.REWRITE
  }

  private reference(buf: Uint8Array, start: number, end: number): Fate {
    let verdict
    try {
      verdict = evaluate(this.rules, parseLossless(decoder.decode(buf.subarray(start, end)), this.maxDepth))
    } catch (err) {
      if (err instanceof RecordSyntaxError || isStackOverflow(err)) return Fate.NOT_JSON
      throw err
    }
    if (verdict.dropped !== null) {
      this.dropRule = verdict.dropped
      return Fate.DROP
    }
    if (verdict.redacted.length === 0) return Fate.WRITE
    this.bytes = encoder.encode(toJson(verdict.record))
    this.length = this.bytes.length
    this.redacted = verdict.redacted
    return Fate.REWRITE
  }
}
