// The `run` job, its composition root: probes the queue, builds the stages (receivers -> ring -> processor
// (fetch, parse pool, sink) -> acker), starts them with their telemetry (observe/telemetry.ts) and the
// --drain policy (drain.ts), and owns the order of shutdown.

import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs'
import { Acker } from '../pipeline/acker.ts'
import { createClients, type AwsClients } from '../aws/clients.ts'
import { sleep, within } from '../sleep.ts'
import { sdkRetryable, SQS, withRetry } from '../retry.ts'
import type { Config } from '../config.ts'
import { DrainPolicy } from './drain.ts'
import { CollectorError, describeError } from '../errors.ts'
import { Fetcher } from '../pipeline/fetcher.ts'
import { maskUrl, type Logger } from '../log.ts'
import { cpuSince } from '../observe/cpu.ts'
import { peakRssBytes } from '../observe/memory.ts'
import { Metrics } from '../observe/metrics.ts'
import type { MetricsServer } from '../observe/server.ts'
import { metricLabels, startTelemetry } from '../observe/telemetry.ts'
import { ParsePool, parseOptions } from '../pipeline/pool.ts'
import { Processor } from '../pipeline/processor.ts'
import { Receivers } from '../pipeline/receiver.ts'
import { Ring, type Received } from '../pipeline/ring.ts'
import { sinkFor } from '../sinks/index.ts'
import type { Sink } from '../sinks/sink.ts'

const NO_CPU = { mainMs: 0, processMs: 0 }

export type StopReason = 'signal' | 'drained' | 'fatal'

export interface CollectorHandle {
  readonly metrics: Metrics
  readonly server: MetricsServer | null
  /** Graceful stop: no more receives; finish what is in flight (up to shutdown_timeout); flush. */
  stop(reason?: StopReason): void
  /** Resolves with the exit status once everything is closed. */
  readonly done: Promise<number>
}

interface QueueInfo {
  visibilityTimeout: number
  redrive: boolean
}

/** Codes that no retry mends: the queue is not there, or the credentials are refused. */
const PERMANENT_SQS = /NonExistentQueue|QueueDoesNotExist|AccessDenied|InvalidAddress|InvalidClientTokenId|SignatureDoesNotMatch/

async function queueInfo(clients: AwsClients, config: Config, log: Logger): Promise<QueueInfo> {
  const command = new GetQueueAttributesCommand({ QueueUrl: config.queueUrl, AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'] })
  // A refused signature is worth another try once the SDK has set its clock by SQS's (sdkRetryable).
  const permanent = (err: unknown) => PERMANENT_SQS.test(describeError(err).code) && !sdkRetryable(err)
  try {
    const out = await withRetry(SQS.startup, () => clients.sqs.send(command), {
      retryable: (err) => !permanent(err),
      onRetry: (err, attempt) => {
        const { code, message } = describeError(err)
        log.warn({ stage: 'sqs', code, reason: message, attempt }, 'GetQueueAttributes failed; retrying')
      },
    })
    return { visibilityTimeout: Number(out.Attributes?.VisibilityTimeout ?? 30), redrive: Boolean(out.Attributes?.RedrivePolicy) }
  } catch (err) {
    const { code, message } = describeError(err)
    throw new CollectorError('ERR_SQS', `cannot read the queue's attributes (${code}): ${message}`, { cause: err })
  }
}

export async function startCollector(config: Config, log: Logger, metrics = new Metrics(metricLabels(config))): Promise<CollectorHandle> {
  // The queue first: nothing starts against a queue that cannot be read.
  const clients = createClients(config, {
    onFailure: (err) => {
      const { code, message } = describeError(err.cause)
      log.warn({ stage: 'credentials', code, role: config.roleArn, reason: message }, 'AssumeRole failed; retrying after a backoff')
      metrics.error('ERR_STS_ASSUME_ROLE')
    },
    onRefresh: (expiration) => log.debug({ stage: 'credentials', role: config.roleArn, expiration: expiration.toISOString() }, 'role credentials refreshed'),
  })
  let queue: QueueInfo
  try {
    queue = await queueInfo(clients, config, log)
  } catch (err) {
    clients.destroy()
    throw err
  }
  log.info(startingFields(config, queue), 'collector starting')

  // The stages, each built before what uses it; the data flows receivers -> ring -> processor (fetcher,
  // pool, sink) -> acker.
  const sink: Sink = sinkFor(config, log)
  sink.on('fatal', () => stop('fatal'))
  const pool = new ParsePool({ threads: config.parseThreads, parse: parseOptions(config) })
  const ring = new Ring<Received>(config.ringSize)
  const acker = new Acker(clients.sqs, { queueUrl: config.queueUrl, visibilityTimeout: config.visibilityTimeout, redrive: queue.redrive }, metrics, log)
  const fetcher = new Fetcher(clients.s3, log, {
    dispatcher: clients.s3Dispatcher,
    onBytes: (bytes) => metrics.s3Bytes.inc(bytes),
    owners: config.bucketOwners,
    endpoint: config.s3Endpoint ?? `https://s3.${config.region}.amazonaws.com`,
  })
  const processor = new Processor(ring, acker, fetcher, pool, sink, metrics, log, {
    buckets: config.buckets,
    keyPattern: config.keyPattern,
    maxObjectsInFlight: config.maxObjectsInFlight,
  })

  const stopReceiving = new AbortController()
  let stopReason: StopReason = 'signal'
  const stop = (reason: StopReason = 'signal') => {
    if (stopReceiving.signal.aborted) return
    stopReason = reason
    log.info({ reason }, reason === 'drained' ? 'queue drained; stopping' : 'stopping: finishing what is in flight')
    stopReceiving.abort()
  }

  // --drain: the DrainPolicy says when the run ends, after an empty receive or as soon as SQS counts
  // nothing left; otherwise a receiver waits cloudtrail_msg_pull_interval after an empty receive.
  const drain = config.drain
    ? new DrainPolicy(clients.sqs, config.queueUrl, { processor, ring, acker, metrics, receiving: () => receivers.receiving }, log)
    : null
  const receivers = new Receivers(clients.sqs, ring, acker, metrics, log, {
    queueUrl: config.queueUrl,
    waitTime: config.waitTime,
    visibilityTimeout: config.visibilityTimeout,
    onEmpty: drain ? (signal, since) => drain.onEmpty(signal, since) : (signal) => sleep(config.pullInterval * 1000, signal),
  })
  const telemetry = await startTelemetry(config, metrics, log, { sqs: clients.sqs, pool, ring, acker, processor, receivers, sink })

  const receiving = receivers.run(config.pullThreads, stopReceiving.signal).then(() => {
    // --drain: every loop found the queue empty with nothing in flight.
    if (config.drain) stop('drained')
  })
  void drain?.watch(stopReceiving.signal).then((drained) => drained && stop('drained'))
  const processing = processor.run(stopReceiving.signal)

  // Shutdown, in order: receivers, processor (bounded), telemetry, acker, sink (bounded), pool, endpoint, clients.
  const done = (async (): Promise<number> => {
    await receiving
    // Receivers are stopped; the processor drains the ring and the objects in flight, for a while.
    if (!(await within(processing, config.shutdownTimeout * 1000))) {
      log.warn({ objects: processor.inFlight, timeout: config.shutdownTimeout }, 'shutdown timeout: abandoning objects in flight; SQS will deliver them again')
      processor.abortInFlight()
      sink.destroy()
      await processing
    }
    telemetry.stop()
    await acker.close()
    // A sink whose destination is down never confirms: after the timeout, fail what it holds.
    if (!(await within(sink.close(), config.shutdownTimeout * 1000))) {
      log.warn({ sink: sink.kind }, 'the sink did not flush in time; its unconfirmed records come back from SQS')
      sink.destroy()
    }
    await pool.close()
    await telemetry.close()
    clients.destroy()
    // Peak resident memory and CPU by thread over the whole run, start-up included (the reliability suite,
    // `make soak` and the benchmarks read them).
    log.info({ reason: stopReason, maxRssBytes: peakRssBytes(), cpu: cpuSince(NO_CPU, pool.cpuMs) }, 'collector stopped')
    return (stopReason as StopReason) === 'fatal' ? 1 : 0
  })()

  return { metrics, server: telemetry.server, stop, done }
}

/** The first line of a run: what it was started with, and what the queue said. */
function startingFields(config: Config, queue: QueueInfo): Record<string, unknown> {
  return {
    queueUrl: config.queueUrl,
    region: config.region,
    buckets: config.buckets ?? '*',
    organization: config.organization || undefined,
    pullThreads: config.pullThreads,
    parseThreads: config.parseThreads,
    pullInterval: config.pullInterval,
    visibilityTimeout: config.visibilityTimeout,
    queueVisibilityTimeout: queue.visibilityTimeout,
    redrive: queue.redrive,
    format: config.format,
    output: maskUrl(config.output),
  }
}
