// The `run` job, its composition root: opens each source (its clients, its queue probed, its stages:
// source.ts), builds what they share (the sink, the parse pool, admission to them), starts them with
// their telemetry (observe/telemetry.ts) and the --drain policy, and owns the order of shutdown.

import { within } from '../sleep.ts'
import { globalChanges, sameSource, type Config } from '../config.ts'
import { describeError } from '../errors.ts'
import { maskUrl, type Logger } from '../log.ts'
import { cpuSince } from '../observe/cpu.ts'
import { peakRssBytes } from '../observe/memory.ts'
import { Metrics } from '../observe/metrics.ts'
import type { MetricsServer } from '../observe/server.ts'
import { startTelemetry } from '../observe/telemetry.ts'
import { ParsePool, parseOptions } from '../pipeline/pool.ts'
import { Checkpoints } from '../pipeline/checkpoints.ts'
import { Slots } from '../pipeline/slots.ts'
import { FileSink } from '../sinks/file.ts'
import { sinkFor } from '../sinks/index.ts'
import type { Sink } from '../sinks/sink.ts'
import { Source, type Probed, type Shared } from './source.ts'

const NO_CPU = { mainMs: 0, processMs: 0 }

export type StopReason = 'signal' | 'drained' | 'fatal'

export interface CollectorHandle {
  readonly metrics: Metrics
  readonly server: MetricsServer | null
  /** Graceful stop: no more receives; finish what is in flight (up to shutdown_timeout); flush. */
  stop(reason?: StopReason): void
  /** Resolves with the exit status once everything is closed. */
  readonly done: Promise<number>
  /**
   * SIGHUP: applies `next`'s sources (added ones start, removed ones stop and hand back what they hold,
   * changed ones restart); global settings take effect at the next start only. Resolves once applied.
   */
  reload(next: Config): Promise<void>
}

export async function startCollector(config: Config, log: Logger, metrics = new Metrics()): Promise<CollectorHandle> {
  // The checkpoints first: a state_dir that cannot be opened stops the start before anything connects.
  const checkpoints = config.stateDir === undefined ? undefined : await Checkpoints.open(config.stateDir, log)
  // The queues first: nothing starts against a queue that cannot be read.
  const probed: Probed[] = []
  try {
    for (const source of config.sources) probed.push(await Source.probe(source, { config, metrics, log }))
  } catch (err) {
    for (const p of probed) p.clients.destroy()
    checkpoints?.close()
    throw err
  }
  // What the sources share, then their stages.
  const sink: Sink = sinkFor(config, log)
  // What the file sink wrote before a crash but never confirmed is found in the file: confirmed now.
  if (checkpoints && sink instanceof FileSink) for (const t of await sink.recover(checkpoints.journal)) checkpoints.advance(t.bucket, t.key, t.etag, t.through)
  const pool = new ParsePool({ threads: config.parseThreads, parse: parseOptions(config) })
  // One admission for every source (processor.ts says why that is fair).
  const slots = new Slots(config.maxObjectsInFlight)
  const shared: Shared = { config, pool, sink, slots, metrics, log, checkpoints }
  const sources = probed.map((p) => new Source(p, shared))
  for (const s of sources) log.info(s.startingFields(), 'source ready')
  log.info({ sources: sources.length, parseThreads: config.parseThreads, format: config.format, output: maskUrl(config.output) }, 'collector starting')

  sink.on('fatal', () => stop('fatal'))
  let stopping = false
  let stopReason: StopReason = 'signal'
  let stopped: () => void = () => {}
  const whenStopped = new Promise<void>((resolve) => (stopped = resolve))
  const stop = (reason: StopReason = 'signal') => {
    if (stopping) return
    stopping = true
    stopReason = reason
    log.info({ reason }, reason === 'drained' ? 'queue drained; stopping' : 'stopping: finishing what is in flight')
    for (const s of sources) s.stop()
    stopped()
  }

  const telemetry = await startTelemetry(config, metrics, log, { pool, sink, sources })
  // --drain: the run ends once every source's queue is drained.
  const start = (s: Source) => s.start(() => sources.every((x) => x.drained) && stop('drained'))
  for (const s of sources) start(s)

  // One reload at a time, in the order asked; none once stopping.
  let reloading = Promise.resolve()
  const reload = (next: Config): Promise<void> => {
    reloading = reloading.then(async () => {
      if (stopping) return
      const changed = globalChanges(config, next)
      if (changed.length > 0) log.warn({ settings: changed }, 'reload: global settings changed; they take effect at the next start (only the sources are reloaded)')
      const kept = new Set<Source>()
      const starting = []
      for (const wanted of next.sources) {
        const running = sources.find((s) => s.config.name === wanted.name)
        if (running && sameSource(running.config, wanted)) kept.add(running)
        else starting.push(wanted)
      }
      // Removed and changed sources stop first (a changed one may keep its name and queue).
      const retiring = sources.filter((s) => !kept.has(s))
      for (const s of retiring) {
        log.info({ source: s.config.name }, 'reload: stopping the source; what it holds goes back to its queue')
        telemetry.removeSource(s)
        sources.splice(sources.indexOf(s), 1)
      }
      await Promise.all(retiring.map((s) => s.retire(config.shutdownTimeout * 1000)))
      for (const wanted of starting) {
        try {
          const s = await Source.open(wanted, shared)
          if (stopping) {
            s.clients.destroy()
            return
          }
          sources.push(s)
          telemetry.addSource(s)
          start(s)
          log.info(s.startingFields(), 'source ready')
        } catch (err) {
          const { code, message } = describeError(err)
          log.error({ source: wanted.name, code, reason: message }, 'reload: the source cannot start; the others go on')
        }
      }
      log.info({ sources: sources.map((s) => s.config.name), stopped: retiring.length, started: starting.length }, 'reload applied')
    })
    return reloading
  }

  // Shutdown, in order: receivers, processors (bounded), telemetry, ackers, sink (bounded), pool, endpoint, clients.
  const done = (async (): Promise<number> => {
    // Sources come and go with reloads until the stop; then every one left finishes.
    await whenStopped
    await reloading
    await Promise.all(sources.map((s) => s.receivingDone()))
    // Receivers are stopped; the processors drain their rings and the objects in flight, for a while.
    const processing = Promise.all(sources.map((s) => s.processingDone()))
    if (!(await within(processing, config.shutdownTimeout * 1000))) {
      const objects = sources.reduce((n, s) => n + s.processor.inFlight, 0)
      log.warn({ objects, timeout: config.shutdownTimeout }, 'shutdown timeout: abandoning objects in flight; SQS will deliver them again')
      for (const s of sources) s.processor.abortInFlight()
      sink.destroy()
      await processing
    }
    telemetry.stop()
    await Promise.all(sources.map((s) => s.acker.close()))
    // A sink whose destination is down never confirms: after the timeout, fail what it holds.
    if (!(await within(sink.close(), config.shutdownTimeout * 1000))) {
      log.warn({ sink: sink.kind }, 'the sink did not flush in time; its unconfirmed records come back from SQS')
      sink.destroy()
    }
    await pool.close()
    // After the sink: its last confirmations advance checkpoints too (their messages come back).
    if (checkpoints) {
      checkpoints.close()
      const { commits, rows, ms, failures } = checkpoints.stats
      log.info({ path: checkpoints.path, checkpoints: checkpoints.size, commits, rows, commitMs: Math.round(ms), failures }, 'checkpoints closed')
    }
    await telemetry.close()
    for (const s of sources) s.clients.destroy()
    // Peak resident memory and CPU by thread over the whole run, start-up included (the reliability suite,
    // `make soak` and the benchmarks read them).
    log.info({ reason: stopReason, maxRssBytes: peakRssBytes(), cpu: cpuSince(NO_CPU, pool.cpuMs) }, 'collector stopped')
    return (stopReason as StopReason) === 'fatal' ? 1 : 0
  })()

  return { metrics, server: telemetry.server, stop, done, reload }
}
