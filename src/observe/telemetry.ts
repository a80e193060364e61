// What the `run` job tells about itself while it runs, from the stages it reads: throughput now and at
// best (three rate windows sampled every second), the queue as SQS sees it (the queue-stats poller, and
// the input rate: its growth plus this collector's deletes), FortiSIEM's sizing rule (the capacity
// ratio), the metric sources behind /metrics and /readyz, the status line on a terminal or the stats
// log otherwise, and the metrics endpoint. The stages know nothing of it.

import type { Config } from '../config.ts'
import type { Logger } from '../log.ts'
import type { Source } from '../commands/source.ts'
import type { ParsePool } from '../pipeline/pool.ts'
import type { Sink } from '../sinks/sink.ts'
import type { Metrics } from './metrics.ts'
import { QueueStats } from './queue-stats.ts'
import { RateWindow } from './rates.ts'
import { startMetricsServer, type MetricsServer } from './server.ts'
import { startStatsLog, startStatusLine } from './status.ts'

/** One source's stages, as telemetry reads them (and the SQS client its queue-stats poller asks). */
export type TelemetrySource = Pick<Source, 'config' | 'clients' | 'metrics' | 'log' | 'ring' | 'acker' | 'processor' | 'receivers'>

/** What telemetry reads: the process's shared stages, and each source's. */
export interface TelemetrySources {
  pool: Pick<ParsePool, 'busyMs' | 'cpuMs'>
  sink: Pick<Sink, 'healthy'>
  sources: readonly TelemetrySource[]
}

export interface Telemetry {
  /** The metrics endpoint, or null when metrics_port is 0. */
  readonly server: MetricsServer | null
  /** Stops the sampling, the queue-stats pollers and the status line or stats log (once the stages are done). */
  stop(): void
  /** Closes the metrics endpoint (last: it answers until everything else is closed). */
  close(): Promise<void>
  /** A source started after the others (a reload added it). */
  addSource(source: TelemetrySource): void
  /** A source stopped (a reload removed it): its poller stops, its gauges and readiness lines go. */
  removeSource(source: TelemetrySource): void
}

/** One source's part: its rate windows, its queue-stats poller, its gauges. */
function sourceTelemetry(config: Config, s: TelemetrySource) {
  const { metrics } = s
  const source = s.config
  const messageRate = new RateWindow()
  const eventRate = new RateWindow()
  const queueStats = new QueueStats(s.clients.sqs, source.queueUrl, () => metrics.totals.deleted, s.log, config.queueStatsInterval * 1000, () =>
    metrics.error('ERR_SQS_QUEUE_ATTRIBUTES'),
  )
  if (config.queueStatsInterval > 0) queueStats.start()
  const capacityRatio = () => {
    const rate = queueStats.inputRate
    return rate === null ? null : (rate * source.pullInterval) / (source.pullThreads * 10)
  }
  // Seconds since the oldest message held was sent, or null when none is held: unlike the lag at receipt
  // it keeps growing when nothing can be received (the ring full in a sink outage).
  const oldestHeldAge = () => {
    const sentAt = s.acker.oldestSentAt
    return sentAt === null ? null : Math.max(0, Date.now() - sentAt) / 1000
  }
  metrics.setStates({
    ring: () => ({ used: s.ring.size, capacity: s.ring.capacity }),
    messagesInFlight: () => s.acker.size,
    oldestMessageAge: () => oldestHeldAge() ?? 0,
    objectsInFlight: () => s.processor.inFlight,
    queue: () => queueStats.snapshot,
    inputRate: () => queueStats.inputRate,
    capacityRatio,
    achieved: () => ({ messages: messageRate.max, events: eventRate.max }),
    queueStatsAt: () => queueStats.answeredAt,
    config: () => ({ pullInterval: source.pullInterval, pullThreads: source.pullThreads, queueStatsInterval: config.queueStatsInterval }),
    sqsReady: () => s.receivers.healthy,
  })
  return {
    name: source.name,
    sample: () => {
      // Messages finished (deleted), as events count confirmed records: a message received again after a
      // failure is no throughput.
      messageRate.sample(metrics.totals.deleted)
      eventRate.sample(metrics.totals.events)
    },
    messagesPerSecond: () => messageRate.rate,
    eventsPerSecond: () => eventRate.rate,
    queueStats,
    capacityRatio,
    oldestHeldAge,
    healthy: () => s.receivers.healthy,
    /** A source with a role (or a profile): whether its credentials are in hand (credentials.ts's state). */
    authenticated: s.clients.credentials
      ? () => {
          // Failing refreshes with credentials still in hand are logged and counted, but the source still reads.
          const state = s.clients.credentials!.state()
          return state.status === 'ok' || (state.expiration !== undefined && state.expiration.getTime() > Date.now())
        }
      : null,
  }
}

export async function startTelemetry(config: Config, metrics: Metrics, log: Logger, s: TelemetrySources): Promise<Telemetry> {
  const parts = s.sources.map((source) => ({ source, ...sourceTelemetry(config, source) }))
  const busy = new RateWindow()
  const sampler = setInterval(() => {
    for (const p of parts) p.sample()
    busy.sample(s.pool.busyMs)
  }, 1000)
  sampler.unref()
  // /readyz: `sqs` is every source's last receive; with several sources each has its line too. A source
  // that assumes a role has a `credentials NAME` line: failing while AssumeRole fails and its credentials
  // in hand have run out (or it never had any).
  const ready = (): Record<string, boolean> => {
    const checks: Record<string, boolean> = { sqs: parts.every((p) => p.healthy()), sink: s.sink.healthy }
    if (parts.length > 1) for (const p of parts) checks[`sqs ${p.name}`] = p.healthy()
    for (const p of parts) if (p.authenticated) checks[`credentials ${p.name}`] = p.authenticated()
    return checks
  }
  metrics.setStates({
    // Busy milliseconds per second over the last minute, per thread.
    poolUtilization: () => Math.min(1, busy.rate / (1000 * config.parseThreads)),
    parseCpuMs: () => s.pool.cpuMs,
    sinkReady: () => s.sink.healthy,
    parseThreads: () => config.parseThreads,
  })
  const sum = (read: (p: (typeof parts)[number]) => number | null | undefined): number | null => {
    const values = parts.map(read).filter((v): v is number => v !== null && v !== undefined)
    return values.length === 0 ? null : values.reduce((a, b) => a + b, 0)
  }
  const max = (read: (p: (typeof parts)[number]) => number | null): number | null => {
    const values = parts.map(read).filter((v): v is number => v !== null)
    return values.length === 0 ? null : Math.max(...values)
  }
  // The whole process: rates and backlogs summed over the sources, the oldest message and the worst ratio.
  const readStatus = () => ({
    eventsPerSecond: sum((p) => p.eventsPerSecond()) ?? 0,
    messagesPerSecond: sum((p) => p.messagesPerSecond()) ?? 0,
    backlog: sum((p) => p.queueStats.snapshot?.backlog),
    inflight: sum((p) => p.queueStats.snapshot?.inflight),
    // What is held (at least the last receipt's lag, and growing while receiving is stopped), else the
    // last receipt's lag.
    messageLag: max((p) => p.oldestHeldAge()) ?? metrics.lastMessageLag,
    capacityRatio: max((p) => p.capacityRatio()),
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
      for (const p of parts) p.queueStats.stop()
      stopStatus()
    },
    close: async () => {
      await server?.close()
    },
    addSource: (source) => {
      parts.push({ source, ...sourceTelemetry(config, source) })
    },
    removeSource: (source) => {
      const i = parts.findIndex((p) => p.source === source)
      if (i < 0) return
      parts[i].queueStats.stop()
      parts.splice(i, 1)
      metrics.removeSource(source.metrics)
    },
  }
}
