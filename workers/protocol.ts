import type { MessagePort } from 'node:worker_threads'
import type { ErrorCode, SkipReason } from '../src/errors.ts'
import type { RuleSpec } from './rules/compile.ts'

// Everything that crosses the thread boundary between the main thread (src/pipeline/pool.ts) and a parse worker
// (workers/parse.worker.ts) is typed here, in one place.
//
// One object = one Piscina task. The task carries a MessagePort for the object's bytes in both
// directions, with credit-based flow control so that neither side ever queues without bound:
//
//   main                                   worker
//   run({ port, first, last, … }) ───────▶ gunzip → cut records → format → frame
//   ◀─────────────── { type: 'want' }      (ready for more compressed input)
//   { type: 'chunk', data } ─────────────▶ (transferred, never copied)
//   { type: 'end' } ─────────────────────▶
//   ◀─────────────── { type: 'output', data } (≤ outputChunkBytes of whole framed records, transferred)
//   { type: 'credit' } ──────────────────▶ (the sink accepted one output chunk)
//   ◀─────────────── { type: 'done', result }  (counts, or a failure code; always the last message)
//
// Everything the main thread needs travels over the port, so it arrives in order; the Piscina task
// itself resolves only to free the worker. Small objects travel whole in `first` with `last: true`.

export type Format = 'fortisiem' | 'json' | 'ocsf'
/**
 * How the parse workers frame each record for the sink:
 * - `lines`: the record followed by `\n` (stdout, file, HTTP bodies);
 * - `syslog`: RFC 5424 message with RFC 6587 octet counting, `LEN SP <PRI>1 TIMESTAMP HOST APP - - - MSG`.
 */
export type Framing = 'lines' | 'syslog'

export interface SyslogFraming {
  /** RFC 5424 PRI = facility * 8 + severity. */
  pri: number
  hostname: string
  appName: string
}

export interface ParseLimits {
  /** Stop inflating beyond this many bytes: the object is a permanent error (gzip bombs). */
  maxDecompressedBytes: number
  /**
   * A single record larger than this, as text or once formatted (its fortisiem fields), is skipped and
   * counted: memory follows the largest record.
   */
  maxRecordBytes: number
  /** Records nested deeper than this are skipped and counted (no recursion on untrusted depth). */
  maxDepth: number
  /** Output is handed to the main thread in chunks of about this size. */
  outputChunkBytes: number
}

export interface ParseOptions {
  format: Format
  framing: Framing
  syslog?: SyslogFraming
  limits: ParseLimits
  /** The single-pass fast paths (default), or when false the straightforward reference ones (tests, benchmarks). */
  fastPaths?: boolean
  /**
   * dedup_window: how many recent eventIDs each parse thread remembers (workers/dedup.ts); a record whose
   * eventID one of them had in another object is dropped and counted. 0 or absent: off.
   */
  dedupWindow?: number
  /**
   * The source's drop, keep and redact rules (workers/rules/), as the configuration gives them: a few short
   * strings, compiled once per thread and kept by their text (object-parser.ts). None: every record is written.
   */
  rules?: RuleSpec
}

export interface ParseTask extends ParseOptions {
  port: MessagePort
  /** The first compressed bytes (maybe all of them). */
  first: Uint8Array | null
  /** True when `first` is the whole object and no 'chunk' messages follow. */
  last: boolean
  /** For error messages only. */
  name: string
  /**
   * Output buffers the sink is done with, given back (transferred) for this thread's next chunks instead of
   * new ones (workers/frames.ts).
   */
  spares?: ArrayBuffer[]
  /**
   * Leaves out the first this many elements of the object's `Records` (its checkpoint: the sink confirmed
   * them before a crash). Neither formatted nor counted; 0 or absent: none.
   */
  skipRecords?: number
}

export type ToWorker = { type: 'chunk'; data: Uint8Array } | { type: 'end' } | { type: 'credit' } | { type: 'abort' }
/**
 * 'output': `records` framed in `data`; `through`: how many of the object's `Records` elements are settled
 * once this chunk is written (those in it and every earlier chunk, the skipped ones and those a checkpoint
 * left out included): what the object's checkpoint becomes when the sink confirms it.
 */
export type ToMain = { type: 'want' } | { type: 'output'; data: Uint8Array; records: number; through: number } | { type: 'done'; result: ParseResult }

/** Counts of records left out, by reason (the rows of src/errors.ts whose fate is 'skipped'); the object itself still succeeds. */
export type { SkipReason }
export type SkipCounts = Partial<Record<SkipReason, number>>

/**
 * Upper bounds (seconds) of cloudtrail_event_lag_seconds, from a record's eventTime to its write.
 * CloudTrail delivers within about 5 minutes of the event, typically.
 */
export const EVENT_LAG_BUCKETS = [60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 21600, 86400] as const

export interface LagCounts {
  /** Non-cumulative counts per bucket of EVENT_LAG_BUCKETS, plus one for +Inf. */
  counts: number[]
  sum: number
  count: number
}

export interface ParseStats {
  /** Records written to the output. */
  records: number
  skipped: SkipCounts
  /** Records dropped by the rules, by rule (its text, or "keep" when no keep rule matched). */
  dropped: Record<string, number>
  /** Records written with values redacted, by redact rule (its text). */
  redacted: Record<string, number>
  /** Records written with invalid UTF-8 replaced by U+FFFD. */
  invalidUtf8: number
  /** Records dropped: their eventID was in this thread's dedup window from another object (dedup_window). */
  deduplicated: number
  compressedBytes: number
  decompressedBytes: number
  outputBytes: number
  eventLag: LagCounts
  /** Milliseconds this worker's thread spent cutting, formatting and framing (not waiting). */
  busyMs: number
  /** CPU milliseconds of the worker's thread on this object, from the task's start to its verdict. */
  cpuMs: number
  /** The worker's threadId, and its thread's CPU milliseconds since it started, at the verdict (ParsePool.cpuMs). */
  thread: number
  threadCpuMs: number
}

export type ParseResult =
  | { ok: true; stats: ParseStats }
  /** Records complete before the failure were still sent. */
  | { ok: false; code: ErrorCode; message: string; stats: ParseStats }

export function emptyStats(): ParseStats {
  const eventLag = { counts: new Array<number>(EVENT_LAG_BUCKETS.length + 1).fill(0), sum: 0, count: 0 }
  return { records: 0, skipped: {}, dropped: {}, redacted: {}, invalidUtf8: 0, deduplicated: 0, compressedBytes: 0, decompressedBytes: 0, outputBytes: 0, eventLag, busyMs: 0, cpuMs: 0, thread: 0, threadCpuMs: 0 }
}
