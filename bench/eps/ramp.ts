// eps --mode ramp: one collector (`run`, a child process) against fauxqs while the harness offers traffic
// at increasing EPS, a fixed time per step: start, start × factor, … until a step is not sustained, then a
// few bisection steps between the last sustained rate and the first that was not (the backlog is drained
// before each). A step is sustained when the collector wrote ≥ 95 % of what was offered and the records
// offered but not yet written grew by less than one second's worth (or two files) over the step. When the
// harness itself cannot offer the target (it shares the host), the step says so ('offer short').
//
// Measured per step: offered and written EPS, undeleted messages (ready + in flight) and the age of the
// oldest one (ApproximateAgeOfOldestMessage, read from fauxqs), the collector's message lag
// (cloudtrail_sqs_message_lag_seconds: SentTimestamp to receipt; coarse buckets), its CPU
// (process_cpu_seconds_total) and its split by thread (cloudtrail_thread_cpu_seconds_total: main, parse
// threads on objects, the rest of the process) per event, and RSS, the harness's own CPU (fauxqs and the producer), the rest of the
// machine's CPU, and the event-loop p99 (max over 1 s windows of nodejs_eventloop_lag_p99_seconds).

import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { CloudTrailEmulator } from '../../src/emulator/cloudtrail-emulator.ts'
import { runArgs, runEnv } from '../../src/emulator/collector-cli.ts'
import { runNode, type ChildResult } from '../lib/child.ts'
import { dataFiles, type DataKind } from '../lib/dataset.ts'
import { Offer } from '../lib/offer.ts'
import { dist } from '../lib/paths.ts'
import { histogramBuckets } from '../lib/prometheus-text.ts'
import { Progress, note } from '../lib/progress.ts'
import { Scraper } from '../lib/scraper.ts'
import { busyCores, cpuSnapshot } from '../lib/machine.ts'
import { histogramDelta, histogramQuantile, max } from '../lib/stats.ts'
import { lineChart } from '../lib/svg-chart.ts'
import { fixed, formatTable, int, mib } from '../lib/table.ts'

export interface RampOptions {
  /** Real records sampled from the corpus (default), or the synthetic generator's. */
  data: DataKind
  start: number
  factor: number
  stepSeconds: number
  maxEps: number
  refine: number
  warmupSeconds: number
  format: 'fortisiem' | 'json'
  parseThreads?: number
  pullThreads?: number
  /** More flags for `run`. */
  collectorArgs: string[]
}

type Status = 'sustained' | 'sustained (offer short)' | 'lagging'

interface Step {
  phase: 'ramp' | 'refine'
  targetEps: number
  offeredEps: number
  writtenEps: number
  undeletedStart: number
  undeletedEnd: number
  /** Records offered but not yet written: growth over the step. */
  pendingGrowth: number
  oldestAgeEndSeconds: number
  oldestAgeMaxSeconds: number
  lagP50Seconds: number
  lagP99Seconds: number
  collectorCpuCores: number
  /** CPU µs per written event over the step, by thread (cloudtrail_thread_cpu_seconds_total). */
  cpuMicrosPerEvent: { main: number; parse: number; rest: number; total: number }
  harnessCpuCores: number
  /** Cores the rest of the machine used meanwhile (not the collector, not this harness). */
  othersCpuCores: number
  maxRssBytes: number
  eventLoopP99Ms: number
  eventLoopMaxMs: number
  status: Status
}

const PER_FILE = 1000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function rampMode(o: RampOptions) {
  const data = await dataFiles(o.data, 64, PER_FILE)
  const bodies = data.files.map((f) => readFileSync(f))
  const emu = await CloudTrailEmulator.start()
  const w = emu.wire('ramp', { visibilityTimeout: 300 })
  const offer = new Offer(emu, w, bodies, PER_FILE)
  const { port, scraper } = await Scraper.onFreePort()
  const args = runArgs(emu.endpoint, w)
  args.push('--format', o.format, '--output', 'stdout', '--metrics-port', String(port), '--pull-interval', '1', '--log-level', 'warn')
  if (o.parseThreads) args.push('--parse-threads', String(o.parseThreads))
  if (o.pullThreads) args.push('--pull-threads', String(o.pullThreads))
  args.push(...o.collectorArgs)
  /** The flags of `run` beyond the connection ones, for the log line and the summary. */
  const ownArgs = args.slice(args.indexOf('--format'))
  let child: ChildProcess | null = null
  const exited: Promise<ChildResult> = runNode(dist('src/cli.js'), args, {
    env: runEnv(),
    onSpawn: (c) => (child = c),
  })
  let dead = false
  void exited.then(() => (dead = true))
  if (!(await scraper.ready())) throw new Error('the collector did not serve /metrics within 30 s')
  scraper.start()

  const events = () => scraper.value('cloudtrail_events_total') ?? 0
  const timeline: { t: number; targetEps: number; offered: number; written: number; undeleted: number; oldestAgeSeconds: number }[] = []
  const t0 = performance.now()
  let label = 'warm-up'
  let stepEnds = 0
  let lastWritten = { t: performance.now(), n: 0, rate: 0 }
  const sampler = setInterval(() => {
    const d = emu.depth(w)
    const n = events()
    const now = performance.now()
    if (now - lastWritten.t >= 900) lastWritten = { t: now, n, rate: ((n - lastWritten.n) * 1000) / (now - lastWritten.t) }
    timeline.push({ t: Number(((now - t0) / 1000).toFixed(1)), targetEps: offer.eps, offered: offer.records, written: n, undeleted: d.undeleted, oldestAgeSeconds: Number(d.oldestAgeSeconds.toFixed(1)) })
  }, 1000)
  const progress = new Progress(() => {
    const last = timeline[timeline.length - 1]
    const left = Math.max(0, Math.round((stepEnds - performance.now()) / 1000))
    return `ramp: ${label} | offered ${int(offer.eps)} EPS | written ${int(lastWritten.rate)} EPS | undeleted ${last?.undeleted ?? 0} msgs, oldest ${fixed(last?.oldestAgeSeconds ?? 0, 1)} s | ${left} s left`
  }).start()
  note(`ramp: fauxqs at ${emu.endpoint}; collector ${ownArgs.join(' ')}; ${o.stepSeconds} s per step`)

  const step = async (phase: Step['phase'], targetEps: number): Promise<Step> => {
    offer.setRate(targetEps)
    label = `${phase} ${int(targetEps)} EPS`
    stepEnds = performance.now() + o.stepSeconds * 1000
    const s0 = await scraper.scrape()
    const a = { t: performance.now(), offered: offer.records, written: events(), depth: emu.depth(w), cpu: process.cpuUsage(), windows: scraper.windows.length, machine: cpuSnapshot() }
    const lag0 = histogramBuckets(s0 ?? [], 'cloudtrail_sqs_message_lag_seconds')
    const cpu0 = scraper.value('process_cpu_seconds_total') ?? 0
    const threadCpu = () => {
      const v = (thread: string) => scraper.value('cloudtrail_thread_cpu_seconds_total', { thread }) ?? NaN
      return { main: v('main'), parse: v('parse'), process: v('process') }
    }
    const threads0 = threadCpu()
    let oldestMax = 0
    let rss = 0
    while (performance.now() < stepEnds) {
      await sleep(Math.min(1000, Math.max(0, stepEnds - performance.now())))
      oldestMax = Math.max(oldestMax, emu.depth(w).oldestAgeSeconds)
      rss = Math.max(rss, scraper.value('process_resident_memory_bytes') ?? 0)
      if (dead) throw new Error('the collector exited during the ramp')
      offer.check()
    }
    const s1 = await scraper.scrape()
    const dt = (performance.now() - a.t) / 1000
    const b = { offered: offer.records, written: events(), depth: emu.depth(w), cpu: process.cpuUsage(a.cpu), machine: cpuSnapshot() }
    const lag = histogramDelta(histogramBuckets(s1 ?? [], 'cloudtrail_sqs_message_lag_seconds'), lag0)
    const windows = scraper.windows.slice(a.windows)
    const offeredEps = (b.offered - a.offered) / dt
    const writtenEps = (b.written - a.written) / dt
    const pendingGrowth = b.offered - b.written - (a.offered - a.written)
    const producerOk = offeredEps >= 0.95 * targetEps
    const keepsUp = writtenEps >= 0.95 * offeredEps && pendingGrowth <= Math.max(2 * PER_FILE, offeredEps)
    const collectorCpuCores = ((scraper.value('process_cpu_seconds_total') ?? 0) - cpu0) / dt
    const threads1 = threadCpu()
    const perEvent = (seconds: number) => (seconds * 1e6) / (b.written - a.written)
    const main = threads1.main - threads0.main
    const parse = threads1.parse - threads0.parse
    const all = threads1.process - threads0.process
    const harnessCpuCores = (b.cpu.user + b.cpu.system) / 1e6 / dt
    const row: Step = {
      phase,
      targetEps,
      offeredEps,
      writtenEps,
      undeletedStart: a.depth.undeleted,
      undeletedEnd: b.depth.undeleted,
      pendingGrowth,
      oldestAgeEndSeconds: b.depth.oldestAgeSeconds,
      oldestAgeMaxSeconds: Math.max(oldestMax, b.depth.oldestAgeSeconds),
      lagP50Seconds: histogramQuantile(lag, 0.5),
      lagP99Seconds: histogramQuantile(lag, 0.99),
      collectorCpuCores,
      cpuMicrosPerEvent: { main: perEvent(main), parse: perEvent(parse), rest: perEvent(all - main - parse), total: perEvent(all) },
      harnessCpuCores,
      othersCpuCores: busyCores(a.machine, b.machine) - collectorCpuCores - harnessCpuCores,
      maxRssBytes: Math.max(rss, scraper.value('process_resident_memory_bytes') ?? 0),
      eventLoopP99Ms: max(windows.map((x) => x.p99Seconds * 1000)),
      eventLoopMaxMs: max(windows.map((x) => x.maxSeconds * 1000)),
      status: !keepsUp ? 'lagging' : producerOk ? 'sustained' : 'sustained (offer short)',
    }
    note(`ramp: ${phase} ${int(targetEps)} EPS: offered ${int(offeredEps)}, written ${int(writtenEps)}, pending ${pendingGrowth >= 0 ? '+' : ''}${int(pendingGrowth)} records, oldest ${fixed(row.oldestAgeEndSeconds, 1)} s -> ${row.status}`)
    return row
  }

  /** Stops offering until the collector has written everything and the queue is empty. */
  const drainBacklog = async (limitSeconds: number) => {
    offer.setRate(0)
    label = 'draining the backlog'
    stepEnds = performance.now() + limitSeconds * 1000
    while (performance.now() < stepEnds) {
      if (emu.depth(w).undeleted === 0 && events() >= offer.records) return true
      await sleep(500)
    }
    return false
  }

  const steps: Step[] = []
  let highest = 0
  let firstFailed = Infinity
  try {
    if (o.warmupSeconds > 0) {
      offer.setRate(o.start)
      label = `warm-up ${int(o.start)} EPS`
      stepEnds = performance.now() + o.warmupSeconds * 1000
      await sleep(o.warmupSeconds * 1000)
    }
    for (let eps = o.start; eps <= o.maxEps; eps = Math.round(eps * o.factor)) {
      const row = await step('ramp', eps)
      steps.push(row)
      if (row.status === 'lagging') {
        firstFailed = eps
        break
      }
      highest = eps
      if (row.status === 'sustained (offer short)') break // the harness is the limit: going higher says nothing
    }
    if (firstFailed !== Infinity) {
      let lo = highest
      let hi = firstFailed
      for (let i = 0; i < o.refine && hi - lo > o.start / 4; i++) {
        if (!(await drainBacklog(2 * o.stepSeconds + 30))) break
        const mid = Math.round((lo + hi) / 2 / 500) * 500
        const row = await step('refine', mid)
        steps.push(row)
        if (row.status === 'lagging') hi = mid
        else lo = mid
      }
      highest = lo
    }
  } finally {
    progress.stop()
    clearInterval(sampler)
    await offer.stop().catch(() => {})
    scraper.stop()
    ;(child as ChildProcess | null)?.kill('SIGTERM')
    await exited
    await emu.stop()
  }

  const lagging = steps.filter((s) => s.status === 'lagging')
  const short = steps.some((s) => s.status === 'sustained (offer short)')
  const limitedBy = lagging.length > 0 ? 'the collector fell behind' : short ? 'the harness could not offer more: not a collector limit' : `no limit found up to ${int(o.maxEps)} EPS`
  /** Written EPS while overloaded: what the collector manages flat out (an estimate of its capacity). */
  const overloadEps = lagging.length > 0 ? Math.max(...lagging.map((s) => s.writtenEps)) : null
  const sorted = [...steps].sort((x, y) => x.targetEps - y.targetEps)
  const table = formatTable(
    ['phase', 'target EPS', 'offered EPS', 'written EPS', 'pending growth (records)', 'undeleted msgs (end)', 'oldest msg age s (end / max)', 'lag p50 / p99 s', 'collector CPU cores', 'collector CPU µs/event', 'main', 'parse threads', 'rest', 'harness CPU cores', "others' CPU cores", 'RSS MiB', 'event loop p99 ms', 'status'],
    steps.map((s) => [
      s.phase,
      int(s.targetEps),
      int(s.offeredEps),
      int(s.writtenEps),
      int(s.pendingGrowth),
      s.undeletedEnd,
      `${fixed(s.oldestAgeEndSeconds, 1)} / ${fixed(s.oldestAgeMaxSeconds, 1)}`,
      `${fixed(s.lagP50Seconds, 2)} / ${fixed(s.lagP99Seconds, 2)}`,
      fixed(s.collectorCpuCores),
      fixed((s.collectorCpuCores * 1e6) / s.writtenEps, 1),
      fixed(s.cpuMicrosPerEvent.main, 1),
      fixed(s.cpuMicrosPerEvent.parse, 1),
      fixed(s.cpuMicrosPerEvent.rest, 1),
      fixed(s.harnessCpuCores),
      fixed(s.othersCpuCores, 1),
      mib(s.maxRssBytes),
      fixed(s.eventLoopP99Ms, 1),
      s.status,
    ]),
  )
  const eps = lineChart({
    title: 'Written against offered EPS (one collector, fauxqs on the same host)',
    xLabel: 'target events per second (step)',
    yLabel: 'events per second',
    xScale: 'log',
    series: [
      { name: 'written', points: sorted.map((s) => [s.targetEps, s.writtenEps]) },
      { name: 'offered', points: sorted.map((s) => [s.targetEps, s.offeredEps]), dashed: true },
    ],
  })
  const lagChart = lineChart({
    title: 'Lag against offered EPS',
    xLabel: 'target events per second (step)',
    yLabel: 'seconds',
    xScale: 'log',
    series: [
      { name: 'oldest undeleted msg, end of step', points: sorted.map((s) => [s.targetEps, s.oldestAgeEndSeconds]) },
      { name: 'message lag p99 (receipt)', points: sorted.map((s) => [s.targetEps, s.lagP99Seconds]) },
    ],
  })
  const collector = await exited
  return {
    summary: {
      mode: 'ramp',
      options: o,
      highestSustainedEps: highest,
      writtenWhenOverloadedEps: overloadEps,
      firstNotSustainedEps: Number.isFinite(firstFailed) ? firstFailed : null,
      limitedBy,
      collector: { args: ownArgs, exitCode: collector.code, cpuSeconds: collector.cpuMs / 1000, maxRssBytes: collector.report?.maxRssBytes ?? null },
      steps,
      timeline,
    },
    tables: {
      ramp: table,
      result: `Highest sustained: ${int(highest)} EPS (${limitedBy})${overloadEps === null ? '' : `; written flat out when overloaded: ${int(overloadEps)} EPS`}.`,
    },
    charts: { 'ramp.svg': eps, 'ramp-lag.svg': lagChart },
  }
}
