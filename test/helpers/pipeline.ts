// The collector's pipeline in the test's own process, wired as commands/run.ts wires it: receivers ->
// ring -> processor (fetcher, a real parse pool on the built workers, a real sink) -> acker, against an
// emulator (or a fault proxy in front of it). Stopped after the test. Only the public API of each stage
// is used, so that the stages can be reorganised inside without these tests changing.

import { S3Client } from '@aws-sdk/client-s3'
import { SQSClient } from '@aws-sdk/client-sqs'
import pino from 'pino'
import type { Logger } from '../../src/log.ts'
import type { SourceMetrics } from '../../src/observe/metrics.ts'
import { sourceMetrics } from './metrics.ts'
import { Acker } from '../../src/pipeline/acker.ts'
import { Fetcher } from '../../src/pipeline/fetcher.ts'
import { ParsePool, type PoolOptions } from '../../src/pipeline/pool.ts'
import { Processor } from '../../src/pipeline/processor.ts'
import { Receivers } from '../../src/pipeline/receiver.ts'
import { Ring, type Received } from '../../src/pipeline/ring.ts'
import type { Sink } from '../../src/sinks/sink.ts'
import type { ParseLimits } from '../../workers/protocol.ts'
import type { RuleSpec } from '../../workers/rules/compile.ts'
import { cleanup } from './cleanup.ts'
import { cloudTrailKey, credentials, type Emulator } from './fauxqs.ts'

/** The limits of the default settings, as config.ts derives them (max_object_size and so on). */
export const limits: ParseLimits = { maxDecompressedBytes: 1 << 30, maxRecordBytes: 8 << 20, maxDepth: 128, outputChunkBytes: 1 << 20 }

/** A logger that keeps every line, parsed. */
export function capture(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) })
  return { log, lines }
}

/** cloudtrail_errors_total{stage, reason} now. */
export async function errors(metrics: SourceMetrics, stage: string, reason: string): Promise<number> {
  const { values } = await metrics.root.errors.get()
  return values.find((v) => v.labels.stage === stage && v.labels.reason === reason)?.value ?? 0
}

export interface PipelineOptions {
  sink: Sink
  /** Seconds: what the receives ask for and each extension renews. 30 by default. */
  visibilityTimeout?: number
  pool?: Partial<PoolOptions>
  maxObjectsInFlight?: number
  ringSize?: number
  /** Where the S3 and SQS calls go: the emulator by default, or a fault proxy in front of it. */
  endpoint?: string
  /** The queue has a redrive policy: permanent failures are left for its dead-letter queue. */
  redrive?: boolean
  /** The source's drop, keep and redact rules. */
  rules?: RuleSpec
}

export interface Pipeline {
  metrics: SourceMetrics
  lines: Record<string, unknown>[]
  acker: Acker
  processor: Processor
  receivers: Receivers
  ring: Ring<Received>
  /** Stops receiving; resolves when the processor has finished what it started. */
  stop(): Promise<void>
}

/** Receivers -> ring -> processor -> acker until the test ends (or stop()). */
export function pipeline(emu: Emulator, options: PipelineOptions): Pipeline {
  const { sink, visibilityTimeout = 30, pool: poolOptions = {}, maxObjectsInFlight = 4, ringSize = 8, endpoint = emu.endpoint, redrive = false } = options
  let sqs = emu.sqs
  let s3 = emu.s3
  if (endpoint !== emu.endpoint) {
    sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials })
    s3 = new S3Client({ endpoint, region: 'us-east-1', credentials, forcePathStyle: true })
  }
  const metrics = sourceMetrics()
  const { log, lines } = capture()
  const ring = new Ring<Received>(ringSize)
  const acker = new Acker(sqs, { queueUrl: emu.queueUrl, visibilityTimeout, redrive }, metrics, log)
  const pool = new ParsePool({ threads: 2, parse: { format: 'json', framing: 'lines', limits }, ...poolOptions })
  const fetcher = new Fetcher(s3, log, { endpoint, onBytes: (n) => metrics.s3Bytes.inc(n) })
  const processor = new Processor(ring, acker, fetcher, pool, sink, metrics, log, { buckets: [emu.bucket], keyPattern: /\.json\.gz$/, maxObjectsInFlight, rules: options.rules })
  const receivers = new Receivers(sqs, ring, acker, metrics, log, {
    queueUrl: emu.queueUrl,
    waitTime: 1,
    visibilityTimeout,
    onEmpty: (signal) => new Promise((resolve) => setTimeout(resolve, 100, signal)),
  })
  const halt = new AbortController()
  const running = Promise.all([receivers.run(1, halt.signal), processor.run(halt.signal)])
  const stop = async () => {
    halt.abort()
    await running
  }
  cleanup(async () => {
    halt.abort()
    processor.abortInFlight()
    sink.destroy()
    await running
    await acker.close()
    await pool.close()
    if (sqs !== emu.sqs) sqs.destroy()
    if (s3 !== emu.s3) s3.destroy()
  })
  return { metrics, lines, acker, processor, receivers, ring, stop }
}

/** A CloudTrail log of `body` under a key ending in `name`, announced by its own notification; its key. */
export async function putMessage(emu: Emulator, name: string, body: Uint8Array | string): Promise<string> {
  const key = cloudTrailKey('111122223333', 'us-east-1', '20261126T1200Z', name.padEnd(16, '0'))
  await emu.putObject(key, body)
  await emu.publish(JSON.stringify({ s3Bucket: emu.bucket, s3ObjectKey: [key] }))
  return key
}
