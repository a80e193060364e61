// Decompressed bytes of one CloudTrail object in, framed output records out. Pure and synchronous: the
// worker drives it from its gunzip stream; tests and benchmarks drive it directly on the main thread.

import { isUtf8 } from 'node:buffer'
import { gunzipSync } from 'node:zlib'
import { PerSecond, ctime } from './ctime.ts'
import { flattenRecord } from './flatten.ts'
import { minifyRecord } from './json-line.ts'
import { JsonSlicer } from './json-slice.ts'
import { OutputBuilder } from './output.ts'
import { eventTimeMs } from './event-time.ts'
import { EVENT_LAG_BUCKETS, emptyStats, type ParseOptions, type ParseStats, type SkipReason } from './protocol.ts'
import { RecordCutter, type RecordHandler } from './records.ts'

const decoder = new TextDecoder('utf-8')

export class ObjectParser implements RecordHandler {
  readonly stats: ParseStats = emptyStats()
  private readonly cutter: RecordCutter
  private readonly out: OutputBuilder
  private readonly header: PerSecond | null
  private readonly slicer: JsonSlicer | null

  constructor(
    private readonly options: ParseOptions,
    private readonly clock: () => number = Date.now,
  ) {
    this.slicer = options.format === 'json' ? new JsonSlicer(options.limits.maxDepth) : null
    // In the json format the slicer reads (and validates) each record in the same pass that finds its end.
    this.cutter = new RecordCutter(this, options.limits, this.slicer)
    this.out = new OutputBuilder(options.limits.outputChunkBytes, options.framing, options.syslog, clock)
    this.header = options.format === 'fortisiem' ? new PerSecond((d) => `${ctime(d)} FortiSIEM-CloudTrail`, clock) : null
  }

  /** Feeds decompressed bytes; throws CutError when the document is not a CloudTrail log. */
  push(bytes: Uint8Array): void {
    this.stats.decompressedBytes += bytes.length
    this.cutter.push(bytes)
  }

  /** The document is complete; throws CutError when it was not well formed. */
  end(): void {
    this.cutter.end()
  }

  /** True when a chunk's worth of output is waiting. */
  get full(): boolean {
    return this.out.full
  }

  take(): { data: Uint8Array; records: number } | null {
    const taken = this.out.take()
    if (taken) this.stats.outputBytes += taken.data.length
    return taken
  }

  onRecord(buf: Uint8Array, start: number, end: number, hasSpace: boolean, valid = false): void {
    const bytes = buf.subarray(start, end)
    const utf8 = isUtf8(bytes)
    if (this.slicer && utf8) {
      // The json fast path: validated and copied as it is (json-slice.ts).
      if (!valid && !this.slicer.valid(buf, start, end)) {
        this.onSkip('record_not_json')
        return
      }
      this.out.beginRecord()
      this.slicer.copy(buf, start, end, hasSpace, this.out)
      this.endRecord(buf, start, end)
      return
    }
    // The reference path: decode (invalid UTF-8 becomes U+FFFD), parse, format.
    if (!utf8) this.stats.invalidUtf8++
    const text = decoder.decode(bytes)
    this.out.beginRecord()
    try {
      if (this.header) {
        const fields = flattenRecord(text, this.options.limits.maxDepth)
        this.out.writeString(fields.length > 0 ? `${this.header.get()} ${fields}` : this.header.get())
      } else {
        this.out.writeString(minifyRecord(text))
      }
    } catch {
      this.out.abandonRecord()
      this.onSkip('record_not_json')
      return
    }
    this.endRecord(buf, start, end)
  }

  private endRecord(buf: Uint8Array, start: number, end: number): void {
    this.out.endRecord()
    this.stats.records++
    this.measureLag(buf, start, end)
  }

  private measureLag(buf: Uint8Array, start: number, end: number): void {
    const t = eventTimeMs(buf, start, end)
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
    this.stats.skipped[reason] = (this.stats.skipped[reason] ?? 0) + 1
  }
}

/**
 * The whole of a small object at once, on the calling thread: for tests, benchmarks and tools. Throws
 * what gunzip or the cutter throw.
 */
export function parseObjectSync(gzipped: Uint8Array, options: ParseOptions, clock?: () => number): { output: Buffer; stats: ParseStats } {
  const parser = new ObjectParser(options, clock)
  parser.stats.compressedBytes = gzipped.length
  parser.push(gunzipSync(gzipped, { maxOutputLength: options.limits.maxDecompressedBytes }))
  parser.end()
  const chunks: Uint8Array[] = []
  for (let taken = parser.take(); taken; taken = parser.take()) chunks.push(taken.data)
  return { output: Buffer.concat(chunks), stats: parser.stats }
}
