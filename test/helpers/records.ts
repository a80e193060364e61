// The records of a document as the parse threads' cutter cuts them, for the suites that hold a formatter
// or the rules to a reference record by record.

import { RecordCutter } from '../../workers/record-cutter.ts'

export interface CutRecord {
  /** The record's bytes, a copy of its own. */
  bytes: Uint8Array
  text: string
  /** Whitespace outside strings (the cutter's word: a fast path may then copy the record as it is). */
  hasSpace: boolean
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function cutRecords(doc: string | Uint8Array, limits = { maxRecordBytes: 1 << 22, maxDepth: 64 }): CutRecord[] {
  const out: CutRecord[] = []
  const cutter = new RecordCutter({ onRecord: (b, s, e, hasSpace) => out.push({ bytes: b.slice(s, e), text: decoder.decode(b.subarray(s, e)), hasSpace }), onSkip: () => {} }, limits)
  cutter.push(typeof doc === 'string' ? encoder.encode(doc) : doc)
  cutter.end()
  return out
}
