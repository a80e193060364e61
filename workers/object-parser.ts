// Decompressed bytes of one CloudTrail object in, framed output records out. Pure and synchronous: the
// worker drives it from its gunzip stream; tests and benchmarks drive it directly on the main thread.
//
// max_record_size (limits.maxRecordBytes) bounds a record twice: its text (the cutter, record-cutter.ts) and its
// output, which for fortisiem can be far larger (one long key over a long array): the formatters refuse a
// record whose fields would pass it while they write them (RecordTooLargeError), and it is skipped and
// counted as record_too_large. Any other exception in a formatter drops what that record wrote and goes on
// up: the object fails, and the output keeps only the whole records before it (frames.ts).

import { isUtf8 } from 'node:buffer'
import { gunzipSync } from 'node:zlib'
import { PerSecond, ctime } from './timestamps.ts'
import { FastFlattener } from './fortisiem/fast.ts'
import { plainBytes } from './json-bytes.ts'
import { RecordSyntaxError, RecordTooLargeError, flattenRecord, isStackOverflow } from './fortisiem/reference.ts'
import { minifyRecord } from './json/reference.ts'
import { formatOcsf } from './ocsf/format.ts'
import { JsonSlicer } from './json/fast.ts'
import { OutputBuilder } from './frames.ts'
import { eventTimeMs, parseTime } from './event-time.ts'
import { EVENT_LAG_BUCKETS, emptyStats, type ParseOptions, type ParseStats, type SkipReason } from './protocol.ts'
import { RecordCutter, type PreScanner, type RecordHandler } from './record-cutter.ts'
import { warmUp } from './warm-up.ts'
import { eventIdOf, windowFor, type DedupWindow } from './dedup.ts'
import { compileRules, hasRules, type RuleSet, type RuleSpec } from './rules/compile.ts'
import { Fate, RecordRules } from './rules/evaluate.ts'

const decoder = new TextDecoder('utf-8')
const encoder = new TextEncoder()

/**
 * One fast flattener per thread: it learns CloudTrail's keys and shapes once and keeps them across objects
 * (a new one per object would pay that for every file).
 */
const flatteners = new Map<number, FastFlattener>()
function flattenerFor(maxDepth: number): FastFlattener {
  let f = flatteners.get(maxDepth)
  if (!f) flatteners.set(maxDepth, (f = new FastFlattener(maxDepth)))
  return f
}

/**
 * Each source's rules, compiled once per thread: a task carries its source's rule spec (a few short strings,
 * cloned with the task), found here by its text.
 */
const ruleSets = new Map<string, RuleSet>()
function ruleSetFor(spec: RuleSpec): RuleSet {
  const key = JSON.stringify([spec.drop, spec.keep, spec.redact])
  let set = ruleSets.get(key)
  if (!set) {
    if (ruleSets.size >= 256) ruleSets.clear() // reloads with ever new rules: stay bounded
    ruleSets.set(key, (set = compileRules(spec)))
  }
  return set
}

export class ObjectParser implements RecordHandler, PreScanner {
  readonly stats: ParseStats = emptyStats()
  private readonly cutter: RecordCutter
  private readonly out: OutputBuilder
  private readonly header: PerSecond | null
  private readonly slicer: JsonSlicer | null
  private readonly fast: FastFlattener | null
  /** The source's rules; null without any. */
  private readonly rules: RecordRules | null
  /** A redacted record is being written: the rules have had their say. */
  private rewriting = false
  /** The header and its space, encoded once per second. */
  private headerText = ''
  private headerBytes = new Uint8Array(0)
  /**
   * Elements of `Records` settled so far, in order: written (endRecord) or skipped (onSkip), and those left
   * out for the checkpoint. Every element ends in exactly one of them, so the count does not depend on the
   * limits or the format: it numbers the object's records for its checkpoint.
   */
  private cut = 0
  /** The first elements to leave out (ParseTask.skipRecords). */
  private readonly skipFirst: number
  /** dedup_window: this thread's recent eventIDs (dedup.ts); null when off. */
  private readonly dedup: DedupWindow | null
  /** The object, for the dedup window (ParseTask.name). */
  private readonly objectName: string

  /** `fast`: a fast flattener of its own (the warm-up's); by default the thread's, warmed up first. */
  constructor(
    private readonly options: ParseOptions & { skipRecords?: number; name?: string },
    private readonly clock: () => number = Date.now,
    fast?: FastFlattener,
  ) {
    this.skipFirst = options.skipRecords ?? 0
    this.dedup = options.dedupWindow ? windowFor(options.dedupWindow) : null
    this.objectName = options.name ?? ''
    if (options.fastPaths !== false && !fast) warmUp(options, (o, f) => new ObjectParser(o, clock, f))
    this.slicer = options.format === 'json' && options.fastPaths !== false ? new JsonSlicer(options.limits.maxDepth) : null
    this.out = new OutputBuilder(options.limits.outputChunkBytes, options.framing, options.syslog, clock)
    this.header = options.format === 'fortisiem' ? new PerSecond((d) => `${ctime(d)} FortiSIEM-CloudTrail`, clock) : null
    this.fast = options.format === 'fortisiem' && options.fastPaths !== false ? (fast ?? flattenerFor(options.limits.maxDepth)) : null
    this.rules = hasRules(options.rules) ? new RecordRules(ruleSetFor(options.rules), options.limits.maxDepth) : null
    // The fast paths read (and validate) each record in the same pass that finds its end; with rules, the
    // rules' scan finds it (rules/scan.ts).
    this.cutter = new RecordCutter(this, options.limits, this.slicer || this.fast || this.rules ? this : null)
  }

  /**
   * Feeds decompressed bytes; throws CutError when the document is not a CloudTrail log. Whatever they
   * come in (zlib's Buffers), everything after sees plain Uint8Arrays, as the cutter's carry is: one map
   * for the hot functions (fortisiem/fast.ts, plainBytes()).
   */
  push(bytes: Uint8Array): void {
    this.stats.decompressedBytes += bytes.length
    this.cutter.push(plainBytes(bytes))
  }

  /** The document is complete; throws CutError when it was not well formed. */
  end(): void {
    this.cutter.end()
  }

  /** True when a chunk's worth of output is waiting. */
  get full(): boolean {
    return this.out.full
  }

  /** The whole records written so far, and `through`: the elements settled with them (protocol.ts, ToMain). */
  take(): { data: Uint8Array; records: number; through: number } | null {
    const taken = this.out.take()
    if (!taken) return null
    this.stats.outputBytes += taken.data.length
    return { data: taken.data, records: taken.records, through: this.cut }
  }

  /** Elements of `Records` settled so far (written, skipped or left out for the checkpoint). */
  get settled(): number {
    return this.cut
  }

  /** PreScanner: a record that lies whole in this chunk, through the fast path in one pass. */
  takeRecord(buf: Uint8Array, start: number, limit: number): number {
    // Left out for the checkpoint: the cutter finds its end and hands it to onRecord, which drops it.
    if (this.cut < this.skipFirst) return -1
    if (this.rules) {
      // Before anything is formatted: a dropped record costs the rules' scan to its end, nothing more.
      const end = this.rules.scan(buf, start, Math.min(limit, start + this.options.limits.maxRecordBytes))
      if (end < 0) return -1
      if (this.applyRules(buf, start, end, true)) return end
      if (!this.slicer && !this.fast) {
        this.onRecord(buf, start, end, true, true)
        return end
      }
    }
    return this.takeWhole(buf, start, limit)
  }

  /**
   * The rules' verdict on the record in buf[start, end): true when that settled it (dropped, skipped, or
   * written redacted), false when it is to be written as it is.
   */
  private applyRules(buf: Uint8Array, start: number, end: number, scanned: boolean): boolean {
    const rules = this.rules!
    const fate = rules.decide(buf, start, end, scanned)
    if (fate === Fate.WRITE) return false
    if (fate === Fate.DROP) {
      this.cut++ // settled: numbered for the checkpoint as a skipped record is
      const dropped = this.stats.dropped
      dropped[rules.dropRule] = (dropped[rules.dropRule] ?? 0) + 1
    } else if (fate === Fate.NOT_JSON) {
      this.onSkip('record_not_json')
    } else {
      const written = this.stats.records
      this.rewriting = true
      try {
        this.onRecord(rules.bytes, 0, rules.length, true)
      } finally {
        this.rewriting = false
      }
      if (this.stats.records > written) {
        const redacted = this.stats.redacted
        for (const r of rules.redacted) {
          const label = rules.rules.redact[r].label
          redacted[label] = (redacted[label] ?? 0) + 1
        }
      }
    }
    return true
  }

  /** The fast paths' pre-scan of a whole record (written as it is). */
  private takeWhole(buf: Uint8Array, start: number, limit: number): number {
    const out = this.out
    if (this.slicer) {
      const end = this.slicer.scan(buf, start, limit)
      if (end < 0 || !isUtf8(buf.subarray(start, end))) return -1
      if (end - start > this.options.limits.maxRecordBytes) {
        this.onSkip('record_too_large')
        return end
      }
      out.beginRecord()
      this.slicer.copy(buf, start, end, this.slicer.hasSpace, out)
      this.endRecord(buf, start, end, this.slicer.timeStart >= 0 ? parseTime(buf, this.slicer.timeStart, this.slicer.timeEnd) : Number.NaN)
      return end
    }
    const max = this.options.limits.maxRecordBytes
    out.beginRecord()
    this.writeHeader()
    const mark = out.position
    let end: number
    try {
      // Not past max_record_size of text: a longer record is left to the cutter, which skips it.
      end = this.fast!.flattenFrom(buf, start, Math.min(limit, start + max), out, max)
    } catch (err) {
      out.abandonRecord()
      if (!(err instanceof RecordTooLargeError)) throw err
      this.onSkip('record_too_large')
      return this.fast!.recordEnd
    }
    if (end < 0) {
      out.abandonRecord()
      return -1
    }
    if (out.position === mark) out.setPosition(mark - 1) // {}: the header stands alone
    this.endRecord(buf, start, end, this.fast!.timeStart >= 0 ? parseTime(buf, this.fast!.timeStart, this.fast!.timeEnd) : Number.NaN)
    return end
  }

  /** `judged`: the rules have already let it through as it is. */
  onRecord(buf: Uint8Array, start: number, end: number, hasSpace: boolean, judged = false): void {
    if (this.cut < this.skipFirst) {
      this.cut++
      return
    }
    if (this.rules && !this.rewriting && !judged && this.applyRules(buf, start, end, false)) return
    if (this.fast) {
      // The fortisiem fast path (fortisiem/fast.ts): one pass over the bytes, straight into the output.
      this.out.beginRecord()
      this.writeHeader()
      const mark = this.out.position
      let ok: boolean
      try {
        ok = this.fast.flatten(buf, start, end, this.out, this.options.limits.maxRecordBytes)
      } catch (err) {
        this.out.abandonRecord()
        if (!(err instanceof RecordTooLargeError)) throw err
        this.onSkip('record_too_large')
        return
      }
      if (!ok) {
        this.out.abandonRecord()
        this.onSkip('record_not_json')
        return
      }
      if (this.fast.notUtf8) this.stats.invalidUtf8++
      if (this.out.position === mark) this.out.setPosition(mark - 1) // {}: the header stands alone
      this.endRecord(buf, start, end, this.fast.timeStart >= 0 ? parseTime(buf, this.fast.timeStart, this.fast.timeEnd) : undefined)
      return
    }
    const bytes = buf.subarray(start, end)
    const utf8 = isUtf8(bytes)
    if (this.slicer && utf8) {
      // The json fast path: validated and copied as it is (json/fast.ts).
      if (!this.slicer.valid(buf, start, end)) {
        this.onSkip('record_not_json')
        return
      }
      this.out.beginRecord()
      this.slicer.copy(buf, start, end, hasSpace, this.out)
      this.endRecord(buf, start, end)
      return
    }
    // The reference path: decode (invalid UTF-8 becomes U+FFFD), parse, format.
    const text = decoder.decode(bytes)
    this.out.beginRecord()
    try {
      if (this.header) {
        const fields = flattenRecord(text, this.options.limits.maxDepth, this.options.limits.maxRecordBytes)
        this.out.writeString(fields.length > 0 ? `${this.header.get()} ${fields}` : this.header.get())
      } else if (this.options.format === 'ocsf') {
        // The ocsf format has this path only (ocsf/format.ts): JSON.parse, an object built, JSON.stringify.
        this.out.writeString(formatOcsf(text, this.options.limits.maxRecordBytes, hasSpace))
      } else {
        this.out.writeString(minifyRecord(text))
      }
    } catch (err) {
      this.out.abandonRecord()
      if (err instanceof RecordTooLargeError) this.onSkip('record_too_large')
      else if (err instanceof RecordSyntaxError || err instanceof SyntaxError || isStackOverflow(err)) this.onSkip('record_not_json')
      else throw err
      return
    }
    if (!utf8) this.stats.invalidUtf8++
    this.endRecord(buf, start, end)
  }

  private writeHeader(): void {
    const text = this.header!.get()
    if (text !== this.headerText) {
      this.headerText = text
      this.headerBytes = encoder.encode(`${text} `)
    }
    this.out.writeBytes(this.headerBytes, 0, this.headerBytes.length)
  }

  /** `time`: the record's eventTime when the formatter found it (NaN: it has none); else it is looked up. */
  private endRecord(buf: Uint8Array, start: number, end: number, time?: number): void {
    if (this.dedup) {
      const id = eventIdOf(buf, start, end)
      if (id !== null && this.dedup.duplicate(id, this.objectName)) {
        this.out.abandonRecord()
        this.cut++
        this.stats.deduplicated++
        return
      }
    }
    this.out.endRecord()
    this.cut++
    this.stats.records++
    this.measureLag(time ?? eventTimeMs(buf, start, end))
  }

  private measureLag(t: number): void {
    if (Number.isNaN(t)) return
    const lag = Math.max(0, (this.clock() - t) / 1000)
    const lagStats = this.stats.eventLag
    let i = 0
    while (i < EVENT_LAG_BUCKETS.length && lag > EVENT_LAG_BUCKETS[i]) i++
    lagStats.counts[i]++
    lagStats.sum += lag
    lagStats.count++
  }

  onSkip(reason: SkipReason): void {
    // Counted on the receive that settled it, not again when a checkpoint leaves it out.
    if (this.cut++ < this.skipFirst) return
    this.stats.skipped[reason] = (this.stats.skipped[reason] ?? 0) + 1
  }
}

/**
 * The pieces parseObjectSync feeds, those a parse thread feeds (object-stream.ts, INFLATE_CHUNK). One push of
 * a whole 4 MB object made the fortisiem fast path take 8 s of CPU instead of 0.1 s: flattenFrom() sizes
 * its scratch to the bytes that follow a record in the push, not to the record.
 */
const SYNC_PIECE_BYTES = 256 * 1024

/**
 * The whole of a small object at once, on the calling thread: for tests, benchmarks and tools. Throws
 * what gunzip or the cutter throw.
 */
export function parseObjectSync(gzipped: Uint8Array, options: ParseOptions, clock?: () => number): { output: Buffer; stats: ParseStats } {
  const parser = new ObjectParser(options, clock)
  parser.stats.compressedBytes = gzipped.length
  const text = gunzipSync(gzipped, { maxOutputLength: options.limits.maxDecompressedBytes })
  for (let at = 0; at < text.length; at += SYNC_PIECE_BYTES) parser.push(text.subarray(at, at + SYNC_PIECE_BYTES))
  parser.end()
  const chunks: Uint8Array[] = []
  for (let taken = parser.take(); taken; taken = parser.take()) chunks.push(taken.data)
  return { output: Buffer.concat(chunks), stats: parser.stats }
}
