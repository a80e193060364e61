// What the `run` job tells about itself while it runs, from the stages it reads: throughput now and at
// best (three rate windows sampled every second), the queue as SQS sees it (the queue-stats poller, and
// the input rate: its growth plus this collector's deletes), FortiSIEM's sizing rule (the capacity
// ratio), the metric sources behind /metrics and /readyz, the status line on a terminal or the stats
// log otherwise, and the metrics endpoint. The stages know nothing of it.

import type { SQSClient } from '@aws-sdk/client-sqs'
import type { Config } from '../config.ts'
import type { Logger } from '../log.ts'
import type { Acker } from '../pipeline/acker.ts'
import type { ParsePool } from '../pipeline/pool.ts'
import type { Processor } from '../pipeline/processor.ts'
import type { Receivers } from '../pipeline/receiver.ts'
import type { Ring } from '../pipeline/ring.ts'
import type { Sink } from '../sinks/sink.ts'
import type { Metrics } from './metrics.ts'
import { QueueStats } from './queue-stats.ts'
import { RateWindow } from './rates.ts'
import { startMetricsServer, type MetricsServer } from './server.ts'
import { startStatsLog, startStatusLine } from './status.ts'

/** The stages telemetry reads (and the SQS client its queue-stats poller asks). */
export interface TelemetrySources {
  sqs: SQSClient
  pool: Pick<ParsePool, 'busyMs' | 'cpuMs'>
  ring: Pick<Ring<unknown>, 'size' | 'capacity'>
  acker: Pick<Acker, 'size' | 'oldestSentAt'>
  processor: Pick<Processor, 'inFlight'>
  receivers: Pick<Receivers, 'healthy'>
  sink: Pick<Sink, 'healthy'>
}

export interface Telemetry {
  /** The metrics endpoint, or null when metrics_port is 0. */
  readonly server: MetricsServer | null
  /** Stops the sampling, the queue-stats poller and the status line or stats log (once the stages are done). */
  stop(): void
  /** Closes the metrics endpoint (last: it answers until everything else is closed). */
  close(): Promise<void>
}

/** Labels on every metric: the queue's name, and the organization (tenant) when one is set. */
export function metricLabels(config: Config): Record<string, string> {
  const queue = config.queueUrl.split('/').filter(Boolean).pop() ?? ''
  return config.organization ? { queue, organization: config.organization } : { queue }
}

export async function startTelemetry(config: Config, metrics: Metrics, log: Logger, s: TelemetrySources): Promise<Telemetry> {
  const messageRate = new RateWindow()
  const eventRate = new RateWindow()
  const busy = new RateWindow()
  const sampler = setInterval(() => {
    // Messages finished (deleted), as events count confirmed records: a message received again after a
    // failure is no throughput.
    messageRate.sample(metrics.totals.deleted)
    eventRate.sample(metrics.totals.events)
    busy.sample(s.pool.busyMs)
  }, 1000)
  sampler.unref()
  const queueStats = new QueueStats(s.sqs, config.queueUrl, () => metrics.totals.deleted, log, config.queueStatsInterval * 1000, () =>
    metrics.error('ERR_SQS_QUEUE_ATTRIBUTES'),
  )
  if (config.queueStatsInterval > 0) queueStats.start()
  const capacityRatio = () => {
    const rate = queueStats.inputRate
    return rate === null ? null : (rate * config.pullInterval) / (config.pullThreads * 10)
  }
  const ready = () => ({ sqs: s.receivers.healthy, sink: s.sink.healthy })
  // Seconds since the oldest message held was sent, or null when none is held: unlike the lag at receipt
  // it keeps growing when nothing can be received (the ring full in a sink outage).
  const oldestHeldAge = () => {
    const sentAt = s.acker.oldestSentAt
    return sentAt === null ? null : Math.max(0, Date.now() - sentAt) / 1000
  }
  metrics.setSources({
    ring: () => ({ used: s.ring.size, capacity: s.ring.capacity }),
    // Busy milliseconds per second over the last minute, per thread.
    poolUtilization: () => Math.min(1, busy.rate / (1000 * config.parseThreads)),
    parseCpuMs: () => s.pool.cpuMs,
    messagesInFlight: () => s.acker.size,
    oldestMessageAge: () => oldestHeldAge() ?? 0,
    objectsInFlight: () => s.processor.inFlight,
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

  return {
    server,
    stop: () => {
      clearInterval(sampler)
      queueStats.stop()
      stopStatus()
    },
    close: async () => {
      await server?.close()
    },
  }
}
