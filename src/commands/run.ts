// The `run` job: receivers -> ring -> processor (fetch, parse pool, sink) -> acker, plus the metrics
// endpoint. Owns start-up checks and the order of shutdown.

import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs'
import { Acker } from '../pipeline/acker.ts'
import { createClients, type AwsClients } from '../aws/clients.ts'
import { sleep, within } from '../backoff.ts'
import type { Config } from '../config.ts'
import { DrainPolicy } from './drain.ts'
import { CollectorError, describeError } from '../errors.ts'
import { Fetcher } from '../pipeline/fetcher.ts'
import { maskUrl, type Logger } from '../log.ts'
import { cpuSince } from '../observe/cpu.ts'
import { peakRssBytes } from '../observe/memory.ts'
import { Metrics } from '../observe/metrics.ts'
import { ParsePool } from '../pipeline/pool.ts'
import { Processor, type Received } from '../pipeline/processor.ts'
import { QueueStats } from '../observe/queue-stats.ts'
import { RateWindow } from '../observe/rates.ts'
import { Receivers } from '../pipeline/receiver.ts'
import { Ring } from '../pipeline/ring.ts'
import { startMetricsServer, type MetricsServer } from '../observe/server.ts'
import { parseOptions, sinkFor } from '../setup.ts'
import type { Sink } from '../sinks/sink.ts'
import { startStatsLog, startStatusLine } from '../observe/status.ts'

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

async function queueInfo(clients: AwsClients, config: Config, log: Logger): Promise<QueueInfo> {
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await clients.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: config.queueUrl, AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'] }),
      )
      return { visibilityTimeout: Number(out.Attributes?.VisibilityTimeout ?? 30), redrive: Boolean(out.Attributes?.RedrivePolicy) }
    } catch (err) {
      const { code, message } = describeError(err)
      const permanent = /NonExistentQueue|QueueDoesNotExist|AccessDenied|InvalidAddress|InvalidClientTokenId|SignatureDoesNotMatch/.test(code)
      if (permanent || attempt >= 5) {
        throw new CollectorError('ERR_SQS', `cannot read the queue's attributes (${code}): ${message}`, { cause: err })
      }
      log.warn({ stage: 'sqs', code, reason: message, attempt }, 'GetQueueAttributes failed; retrying')
      await sleep(1000 * attempt)
    }
  }
}

/** Labels on every metric: the queue's name, and the organization (tenant) when one is set. */
function metricLabels(config: Config): Record<string, string> {
  const queue = config.queueUrl.split('/').filter(Boolean).pop() ?? ''
  return config.organization ? { queue, organization: config.organization } : { queue }
}

export async function startCollector(config: Config, log: Logger, metrics = new Metrics(metricLabels(config))): Promise<CollectorHandle> {
  const clients = createClients(config)
  let queue: QueueInfo
  try {
    queue = await queueInfo(clients, config, log)
  } catch (err) {
    clients.destroy()
    throw err
  }
  log.info(
    {
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
    },
    'collector starting',
  )

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

  // --drain: when the run ends (drain.ts): after an empty receive, or as soon as SQS counts nothing left.
  const drain = config.drain
    ? new DrainPolicy(clients.sqs, config.queueUrl, { processor, ring, acker, metrics, receiving: () => receivers.receiving }, log)
    : null
  const receivers = new Receivers(clients.sqs, ring, acker, metrics, log, {
    queueUrl: config.queueUrl,
    waitTime: config.waitTime,
    visibilityTimeout: config.visibilityTimeout,
    onEmpty: drain ? (signal, since) => drain.onEmpty(signal, since) : (signal) => sleep(config.pullInterval * 1000, signal),
  })

  // Throughput now and at best, the queue as SQS sees it (input rate: its growth plus this collector's
  // deletes), and FortiSIEM's sizing rule.
  const messageRate = new RateWindow()
  const eventRate = new RateWindow()
  const busy = new RateWindow()
  const sampler = setInterval(() => {
    // Messages finished (deleted), as events count confirmed records: a message received again after a
    // failure is no throughput.
    messageRate.sample(metrics.totals.deleted)
    eventRate.sample(metrics.totals.events)
    busy.sample(pool.busyMs)
  }, 1000)
  sampler.unref()
  const queueStats = new QueueStats(clients.sqs, config.queueUrl, () => metrics.totals.deleted, log, config.queueStatsInterval * 1000, () =>
    metrics.error('sqs', 'queue_attributes_failed'),
  )
  if (config.queueStatsInterval > 0) queueStats.start()
  const capacityRatio = () => {
    const rate = queueStats.inputRate
    return rate === null ? null : (rate * config.pullInterval) / (config.pullThreads * 10)
  }
  const ready = () => ({ sqs: receivers.healthy, sink: sink.healthy })
  // Seconds since the oldest message held was sent, or null when none is held: unlike the lag at receipt
  // it keeps growing when nothing can be received (the ring full in a sink outage).
  const oldestHeldAge = () => {
    const sentAt = acker.oldestSentAt
    return sentAt === null ? null : Math.max(0, Date.now() - sentAt) / 1000
  }
  metrics.setSources({
    ring: () => ({ used: ring.size, capacity: ring.capacity }),
    // Busy milliseconds per second over the last minute, per thread.
    poolUtilization: () => Math.min(1, busy.rate / (1000 * config.parseThreads)),
    parseCpuMs: () => pool.cpuMs,
    messagesInFlight: () => acker.size,
    oldestMessageAge: () => oldestHeldAge() ?? 0,
    objectsInFlight: () => processor.inFlight,
    queue: () => queueStats.snapshot,
    inputRate: () => queueStats.inputRate,
    capacityRatio,
    achieved: () => ({ messages: messageRate.max, events: eventRate.max }),
    queueStatsAt: () => queueStats.answeredAt,
    config: () => ({ pullInterval: config.pullInterval, pullThreads: config.pullThreads, parseThreads: config.parseThreads, queueStatsInterval: config.queueStatsInterval }),
    ready,
  })
  const readStatus = () => ({
    eventsPerSecond: eventRate.rate,
    messagesPerSecond: messageRate.rate,
    backlog: queueStats.snapshot?.backlog ?? null,
    inflight: queueStats.snapshot?.inflight ?? null,
    // What is held (at least the last receipt's lag, and growing while receiving is stopped), else the
    // last receipt's lag.
    messageLag: oldestHeldAge() ?? metrics.lastMessageLag,
    capacityRatio: capacityRatio(),
    errors: metrics.totals.errors,
  })
  const stopStatus =
    process.stdout.isTTY && config.output !== 'stdout'
      ? startStatusLine(readStatus, process.stdout, config.statusInterval * 1000)
      : config.statsLogInterval > 0
        ? startStatsLog(readStatus, log, config.statsLogInterval * 1000)
        : () => {}
  let server: MetricsServer | null = null
  if (config.metricsPort > 0) {
    server = await startMetricsServer(metrics, { checks: ready }, config.metricsHost, config.metricsPort)
    log.info({ url: `${server.url}/metrics` }, 'metrics endpoint listening')
  }

  const receiving = receivers.run(config.pullThreads, stopReceiving.signal).then(() => {
    // --drain: every loop found the queue empty with nothing in flight.
    if (config.drain) stop('drained')
  })
  void drain?.watch(stopReceiving.signal).then((drained) => drained && stop('drained'))
  const processing = processor.run(stopReceiving.signal)

  const done = (async (): Promise<number> => {
    await receiving
    // Receivers are stopped; the processor drains the ring and the objects in flight, for a while.
    if (!(await within(processing, config.shutdownTimeout * 1000))) {
      log.warn({ objects: processor.inFlight, timeout: config.shutdownTimeout }, 'shutdown timeout: abandoning objects in flight; SQS will deliver them again')
      processor.abortInFlight()
      sink.destroy()
      await processing
    }
    clearInterval(sampler)
    queueStats.stop()
    stopStatus()
    await acker.close()
    // A sink whose destination is down never confirms: after the timeout, fail what it holds.
    if (!(await within(sink.close(), config.shutdownTimeout * 1000))) {
      log.warn({ sink: sink.kind }, 'the sink did not flush in time; its unconfirmed records come back from SQS')
      sink.destroy()
    }
    await pool.close()
    await server?.close()
    clients.destroy()
    // Peak resident memory and CPU by thread over the whole run, start-up included (the reliability suite,
    // `make soak` and the benchmarks read them).
    log.info({ reason: stopReason, maxRssBytes: peakRssBytes(), cpu: cpuSince(NO_CPU, pool.cpuMs) }, 'collector stopped')
    return (stopReason as StopReason) === 'fatal' ? 1 : 0
  })()

  return { metrics, server, stop, done }
}
