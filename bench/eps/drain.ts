// eps --mode drain: issue 10's goals 3–6. N log files of 1000 records are uploaded to fauxqs and announced
// through SNS, as CloudTrail does, before the clock starts; then `run --drain` (the collector) or
// bench/reference-loop.ts (sqs-consumer, one object after another) empties the queue into a file. Each
// repetition seeds a fresh queue and bucket identically for each subject and alternates which goes first;
// every ratio is the median of the ratios taken within each repetition.
//
// A run's figures are taken over its window from the first written record to the last (thread-cpu.ts:
// /proc every 50 ms and the output's size; the records at each end counted in the output afterwards), so
// start-up (Node, modules, SDK clients, parse threads) and exit are left out for both subjects alike:
// events/s, and CPU per event split into the main thread, the parse threads and the rest (V8's GC and
// compiler helpers, libuv, the kernel's share of those threads). The parse threads are the threads Node 24
// names WorkerThread; Node 22 names none, and there their share is the collector's own count
// (cloudtrail_thread_cpu_seconds_total{thread="parse"}: what they spent on objects, about 8% less), scraped
// when the first record appears and read from its last log line; the JSON keeps both. Beside
// the window: the time from spawn to the first record (start-up), from the last record to exit (goal 5),
// spawn-to-exit events/s, peak RSS, the event-loop p99 (collector: max over the 2 s /metrics windows inside
// the record window; both: the whole run, child-report.ts).
//
// What the window leaves in the collector's favour: the objects it had in flight when its first record
// appeared (up to max_objects_in_flight, 8 by default) were partly fetched and parsed before it, at most 8
// of 300 files (under 3 %); the sequential loop has next to nothing in flight. And what the harness costs
// it: a /metrics scrape takes 1.9–2.7 ms of the collector's main thread (200 scrapes of an idle collector),
// so one every 2 s is about 0.03 µs per event at 40k events/s.

import type { ChildProcess } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CloudTrailEmulator, type Wiring } from '../../src/emulator/cloudtrail-emulator.ts'
import { logLines, runArgs, runEnv } from '../../src/emulator/collector-cli.ts'
import { check, runNode, type ChildResult } from '../lib/child.ts'
import { dataFiles, type DataKind } from '../lib/dataset.ts'
import { dist } from '../lib/paths.ts'
import { Progress, note } from '../lib/progress.ts'
import { Scraper } from '../lib/scraper.ts'
import { busyCores, cpuSnapshot } from '../lib/machine.ts'
import { max, median, pairedRatios } from '../lib/stats.ts'
import { barChart, stackedBarChart } from '../lib/svg-chart.ts'
import { fixed, formatTable, int, mib, times } from '../lib/table.ts'
import { byNameBetween, linesAt, ProcSampler, recordWindow } from '../lib/thread-cpu.ts'

export interface DrainOptions {
  /** Real records sampled from the corpus (default), or the synthetic generator's. */
  data: DataKind
  files: number
  reps: number
  format: 'fortisiem' | 'json'
  /** Passed to the collector when set; otherwise its default (cloudtrail_file_parse_thread_num = 3). */
  parseThreads?: number
  /**
   * SQS long-poll wait for both subjects when set. By default the collector runs with its own default
   * (wait_time 20 s: goal 5 is to end promptly all the same) and the reference loop with 0 (sqs-consumer
   * ends on its first empty receive, which a long poll would put off by the whole wait).
   */
  waitTime?: number
  /**
   * The collector's sink: 'file' (file:PATH: writev + fsync every 100 ms, confirmed after the fsync) or
   * 'stdout' redirected to a file (confirmed once written, no fsync: what the reference loop does).
   */
  sink: 'file' | 'stdout'
  /** More flags for `run`. */
  collectorArgs: string[]
}

type SubjectId = 'collector' | 'reference'

const STALL_SECONDS = 60
/** Between /metrics scrapes of the collector (its event-loop windows): each costs its main thread ~2 ms. */
const SCRAPE_MS = 2000

/** CPU microseconds per event in the record window, by thread. */
interface PerEvent {
  main: number
  parse: number
  rest: number
  total: number
}

interface Run {
  rep: number
  /** Records written in the window, and the window's length. */
  windowRecords: number
  windowSeconds: number
  /** Events per second in the window. */
  rate: number
  cpu: PerEvent
  /** Where `cpu.parse` comes from: the threads named WorkerThread (/proc), or the collector's own count. */
  parseSource: 'proc' | 'count' | 'none'
  /** The collector's own count of its parse threads' CPU on objects in the window, µs per event. */
  parseCountedMicros: number
  /** CPU seconds in the window by thread name, where Node names its threads (Node 24: V8Worker, libuv-worker…). */
  byName: Record<string, number>
  /** Spawn to the first record seen, and the last record seen to exit. */
  startupSeconds: number
  tailSeconds: number
  wallMs: number
  /** Whole process, spawn to exit (child-report.ts), µs per event. */
  wholeRunMicros: number
  harnessCpuMs: number
  maxRssBytes: number
  /** Max over the 2 s windows within the record window of nodejs_eventloop_lag_p99_seconds (collector only), ms. */
  scrapedP99Ms: number
  scrapedMaxMs: number
  /** Whole run, from child-report.ts (includes start-up), ms. */
  runP99Ms: number
  /** Cores the rest of the machine used meanwhile (not the child, not this harness). */
  othersCores: number
}

/** The collector's count of parse-thread CPU in its last log line ("collector stopped"), seconds. */
function parseSecondsAtExit(stderr: string): number {
  const stopped = logLines(stderr).find((l) => l.msg === 'collector stopped') as { cpu?: { parseMs?: number } } | undefined
  const ms = stopped?.cpu?.parseMs
  if (typeof ms !== 'number') throw new Error('the collector did not log its CPU by thread at exit ("collector stopped")')
  return ms / 1000
}

export async function drainMode(o: DrainOptions) {
  const data = await dataFiles(o.data, o.files)
  const bodies = data.files.map((f) => readFileSync(f))
  const cli = dist('src/cli.js')
  const reference = dist('bench/reference-loop.js')
  const emu = await CloudTrailEmulator.start()
  const tmp = mkdtempSync(join(tmpdir(), 'ct-bench-drain-'))
  const runs: Record<SubjectId, Run[]> = { collector: [], reference: [] }
  let status = ''
  let wiring: Wiring | null = null
  let runStarted = 0
  const progress = new Progress(() => {
    const d = wiring ? emu.depth(wiring) : null
    const left = d ? ` | messages left ${d.undeleted}/${o.files}` : ''
    return `drain: ${status}${left} | ${((performance.now() - runStarted) / 1000).toFixed(0)} s`
  }).start()
  const waits = o.waitTime === undefined ? 'wait_time: collector its default, reference loop 0' : `wait_time ${o.waitTime} s`
  note(`drain: ${o.files} files x 1000 records (${data.dir}), ${o.reps} repetitions, format ${o.format}, collector sink ${o.sink}, ${waits}, fauxqs at ${emu.endpoint}`)

  const runOne = async (subject: SubjectId, rep: number): Promise<Run> => {
    const w = emu.wire(`drain-${rep}-${subject}`)
    status = `repetition ${rep + 1}/${o.reps}, ${subject}: seeding`
    runStarted = performance.now()
    await emu.seed(w, bodies)
    const seeded = emu.depth(w)
    if (seeded.ready !== o.files) throw new Error(`seeded ${seeded.ready} messages, expected ${o.files}`)
    wiring = w
    const out = join(tmp, `${subject}-${rep}.out`)
    status = `repetition ${rep + 1}/${o.reps}, ${subject}`
    runStarted = performance.now()
    const cpu0 = process.cpuUsage()
    const machine0 = cpuSnapshot()
    let result: ChildResult
    let scraper: Scraper | null = null
    let sampler: ProcSampler | null = null
    let spawnedAt = NaN
    /** The collector's parse-thread CPU when its first record appeared (a scrape then), seconds. */
    let parseAtFirst: Promise<number> = Promise.resolve(0)
    // A subject that makes no progress for STALL_SECONDS is killed (e.g. every object failing and being
    // retried, as when dist/ is rebuilt under a running benchmark): the run fails instead of hanging.
    let child: ChildProcess | null = null
    let stalled = false
    let last = { left: -1, at: performance.now() }
    const watchdog = setInterval(() => {
      const left = emu.depth(w).undeleted
      if (left !== last.left) last = { left, at: performance.now() }
      else if (performance.now() - last.at > STALL_SECONDS * 1000) {
        stalled = true
        child?.kill('SIGKILL')
      }
    }, 1000)
    const onSpawn = (c: ChildProcess, onFirstWrite?: () => void) => {
      child = c
      spawnedAt = performance.now()
      sampler = new ProcSampler(c.pid!, out, { onFirstWrite })
    }
    if (subject === 'collector') {
      const { port, scraper: s } = await Scraper.onFreePort()
      scraper = s
      const args = runArgs(emu.endpoint, w, { drain: true })
      args.push('--format', o.format, '--output', o.sink === 'file' ? `file:${out}` : 'stdout', '--metrics-port', String(port), '--pull-interval', '1')
      if (o.waitTime !== undefined) args.push('--wait-time', String(o.waitTime))
      if (o.parseThreads) args.push('--parse-threads', String(o.parseThreads))
      args.push(...o.collectorArgs)
      const fd = o.sink === 'stdout' ? openSync(out, 'a') : null
      const firstWrite = () => {
        parseAtFirst = s.scrape().then((samples) => {
          const v = samples && s.value('cloudtrail_thread_cpu_seconds_total', { thread: 'parse' })
          if (v === undefined || v === null) throw new Error('no cloudtrail_thread_cpu_seconds_total{thread="parse"} when the first record appeared')
          return v
        })
        parseAtFirst.catch(() => {}) // awaited below
      }
      try {
        result = await runNode(cli, args, {
          env: runEnv(),
          stdout: fd ?? 'ignore',
          onSpawn: (c) => {
            onSpawn(c, firstWrite)
            void s.ready().then((up) => up && s.start(SCRAPE_MS))
          },
        })
      } finally {
        if (fd !== null) closeSync(fd)
        clearInterval(watchdog)
        ;(sampler as ProcSampler | null)?.stop()
      }
      scraper.stop()
    } else {
      result = await runNode(reference, ['--endpoint', emu.endpoint, '--queue-url', w.queueUrl, '--output', out, '--format', o.format, '--wait-time', String(o.waitTime ?? 0)], {
        stdout: 'pipe',
        onSpawn: (c) => onSpawn(c),
      }).finally(() => {
        clearInterval(watchdog)
        ;(sampler as ProcSampler | null)?.stop()
      })
    }
    const exitedAt = performance.now()
    if (stalled) throw new Error(`${subject}: no message deleted for ${STALL_SECONDS} s; killed\n${result.stderr.split('\n').slice(-10).join('\n')}`)
    const cpu = process.cpuUsage(cpu0)
    const machineCores = busyCores(machine0, cpuSnapshot())
    wiring = null
    check(subject, result)
    const left = emu.depth(w).undeleted
    if (left !== 0) throw new Error(`${subject} left ${left} messages in the queue`)
    const finalBytes = statSync(out).size
    const win = recordWindow((sampler as ProcSampler | null)?.samples ?? [], finalBytes)
    if (!win) throw new Error(`${subject}: fewer than two samples saw its output being written (too few files?)`)
    const [atStart, atEnd, lines] = linesAt(out, [win.start.bytes, win.end.bytes, Infinity])
    if (lines !== data.records) throw new Error(`${subject} wrote ${lines} lines, expected ${data.records}`)
    rmSync(out, { force: true })
    emu.unwire(w)
    const windowRecords = atEnd - atStart
    const windowSeconds = (win.end.atMs - win.start.atMs) / 1000
    const processSeconds = win.end.processSeconds - win.start.processSeconds
    const mainSeconds = win.end.mainSeconds - win.start.mainSeconds
    const byName = byNameBetween(win)
    const counted = subject === 'collector' ? parseSecondsAtExit(result.stderr) - (await parseAtFirst) : 0
    // --collector-arg='--state-dir DIR': what the checkpoints' commits took of the main thread (its own count).
    const checkpoints = logLines(result.stderr).find((l) => l.msg === 'checkpoints closed') as { commits?: number; rows?: number; commitMs?: number } | undefined
    const stopped = logLines(result.stderr).find((l) => l.msg === 'collector stopped') as { cpu?: { mainMs?: number } } | undefined
    if (checkpoints && stopped?.cpu?.mainMs) {
      const { commits = 0, rows = 0, commitMs = 0 } = checkpoints
      process.stderr.write(`checkpoints: ${commits} commits, ${rows} rows, ${commitMs} ms committing = ${((100 * commitMs) / stopped.cpu.mainMs).toFixed(1)}% of the main thread's ${stopped.cpu.mainMs} ms CPU (whole run)\n`)
    }
    const named = 'MainThread' in win.end.byName
    const parseSeconds = named ? (byName.WorkerThread ?? 0) : counted
    const micros = (seconds: number) => (seconds * 1e6) / windowRecords
    const windows = (scraper?.windows ?? []).filter((x) => x.atMs > win.start.atMs && x.atMs <= win.end.atMs + SCRAPE_MS)
    return {
      rep,
      windowRecords,
      windowSeconds,
      rate: windowRecords / windowSeconds,
      cpu: { main: micros(mainSeconds), parse: micros(parseSeconds), rest: micros(processSeconds - mainSeconds - parseSeconds), total: micros(processSeconds) },
      parseSource: subject === 'reference' ? 'none' : named ? 'proc' : 'count',
      parseCountedMicros: micros(counted),
      byName,
      startupSeconds: (win.start.atMs - spawnedAt) / 1000,
      tailSeconds: (exitedAt - win.end.atMs) / 1000,
      wallMs: result.wallMs,
      wholeRunMicros: (result.cpuMs * 1000) / data.records,
      harnessCpuMs: (cpu.user + cpu.system) / 1000,
      maxRssBytes: result.report?.maxRssBytes ?? NaN,
      scrapedP99Ms: max(windows.map((x) => x.p99Seconds * 1000)),
      scrapedMaxMs: max(windows.map((x) => x.maxSeconds * 1000)),
      runP99Ms: result.report?.eventLoop.p99Ms ?? NaN,
      othersCores: machineCores - (result.cpuMs + (cpu.user + cpu.system) / 1000) / result.wallMs,
    }
  }

  try {
    for (let rep = 0; rep < o.reps; rep++) {
      const order: SubjectId[] = rep % 2 === 0 ? ['collector', 'reference'] : ['reference', 'collector']
      for (const subject of order) {
        const run = await runOne(subject, rep)
        runs[subject].push(run)
        note(`drain: repetition ${rep + 1}, ${subject}: ${int(run.rate)} events/s, CPU ${fixed(run.cpu.total, 1)} µs/event (main ${fixed(run.cpu.main, 1)}, parse ${fixed(run.cpu.parse, 1)}, rest ${fixed(run.cpu.rest, 1)}), start-up ${fixed(run.startupSeconds, 1)} s, exit ${fixed(run.tailSeconds, 1)} s after the last record`)
      }
    }
  } finally {
    progress.stop()
    await emu.stop()
    rmSync(tmp, { recursive: true, force: true })
  }

  const collector = runs.collector
  const ref = runs.reference
  const paired = (f: (c: Run, r: Run) => number) => pairedRatios(collector, ref, f)
  const goals = [
    {
      goal: '3: CPU per event, all threads, vs the reference loop',
      ratios: paired((c, r) => c.cpu.total / r.cpu.total),
      target: '≤ 0.33×',
      met: (x: number) => x <= 1 / 3,
    },
    {
      goal: "4: main thread's CPU per event vs the loop's (all threads)",
      ratios: paired((c, r) => c.cpu.main / r.cpu.total),
      target: '≤ 0.05×',
      met: (x: number) => x <= 0.05,
    },
    { goal: '5: from the last record to exit, seconds (worst run)', ratios: collector.map((c) => c.tailSeconds), target: '≤ 2 s', met: (x: number) => x <= 2, worst: true },
    { goal: '6: events/s vs the reference loop', ratios: paired((c, r) => c.rate / r.rate), target: '≥ 5.0×', met: (x: number) => x >= 5 },
  ].map((g) => ({ ...g, measured: g.worst ? max(g.ratios) : median(g.ratios) }))
  const spawnToExit = median(paired((c, r) => r.wallMs / c.wallMs))

  const labels: Record<SubjectId, string> = {
    collector: `run --drain${o.parseThreads ? ` --parse-threads ${o.parseThreads}` : ' (3 parse threads)'}, ${o.sink === 'file' ? 'file: sink' : 'stdout to a file'}${o.collectorArgs.length ? ' ' + o.collectorArgs.join(' ') : ''}`,
    reference: 'reference loop (sqs-consumer, sequential)',
  }
  const rows = (['collector', 'reference'] as const).map((id) => {
    const list = runs[id]
    const names = [...new Set(list.flatMap((r) => Object.keys(r.byName)))]
    return {
      subject: labels[id],
      id,
      eventsPerSecond: median(list.map((r) => r.rate)),
      cpuMicrosPerEvent: {
        main: median(list.map((r) => r.cpu.main)),
        parse: median(list.map((r) => r.cpu.parse)),
        rest: median(list.map((r) => r.cpu.rest)),
        total: median(list.map((r) => r.cpu.total)),
      },
      parseSource: list[0]?.parseSource,
      parseCountedMicrosPerEvent: median(list.map((r) => r.parseCountedMicros)),
      /** Median µs per event by thread name in the window (Node 24 names its threads). */
      byNameMicrosPerEvent: Object.fromEntries(names.map((n) => [n, Number(median(list.map((r) => ((r.byName[n] ?? 0) * 1e6) / r.windowRecords)).toFixed(2))])),
      startupSeconds: median(list.map((r) => r.startupSeconds)),
      tailSecondsMax: max(list.map((r) => r.tailSeconds)),
      spawnToExitEventsPerSecond: median(list.map((r) => data.records / (r.wallMs / 1000))),
      wholeRunMicrosPerEvent: median(list.map((r) => r.wholeRunMicros)),
      harnessCpuSeconds: median(list.map((r) => r.harnessCpuMs / 1000)),
      maxRssBytes: median(list.map((r) => r.maxRssBytes)),
      eventLoopP99Ms: max(list.map((r) => r.scrapedP99Ms)),
      eventLoopMaxMs: max(list.map((r) => r.scrapedMaxMs)),
      eventLoopRunP99Ms: median(list.map((r) => r.runP99Ms)),
      othersCores: median(list.map((r) => r.othersCores)),
      runs: list,
    }
  })
  const table = formatTable(
    [
      'subject',
      'events/s',
      'CPU µs/event',
      'main',
      'parse threads',
      'rest',
      'start-up s',
      'last record to exit s',
      'events/s spawn to exit',
      'CPU µs/event, whole run',
      'peak RSS MiB',
      'event loop p99 ms (2 s windows, max)',
      'p99 ms (whole run)',
      'fauxqs+harness CPU s',
      "others' CPU cores",
    ],
    rows.map((r) => [
      r.subject,
      int(r.eventsPerSecond),
      fixed(r.cpuMicrosPerEvent.total, 1),
      fixed(r.cpuMicrosPerEvent.main, 1),
      fixed(r.cpuMicrosPerEvent.parse, 1),
      fixed(r.cpuMicrosPerEvent.rest, 1),
      fixed(r.startupSeconds),
      fixed(r.tailSecondsMax),
      int(r.spawnToExitEventsPerSecond),
      fixed(r.wholeRunMicrosPerEvent, 1),
      mib(r.maxRssBytes),
      fixed(r.eventLoopP99Ms, 1),
      fixed(r.eventLoopRunP99Ms, 1),
      fixed(r.harnessCpuSeconds),
      fixed(r.othersCores, 1),
    ]),
  )
  const goalTable = formatTable(
    ['goal', 'measured', 'per repetition', 'target', 'met'],
    [
      ...goals.map((g) => {
        const show = (x: number) => (g.worst ? `${fixed(x)} s` : times(x, g.goal.startsWith('4') ? 3 : 2))
        return [g.goal, show(g.measured), g.ratios.map((x) => (g.worst ? fixed(x, 1) : times(x, g.goal.startsWith('4') ? 3 : 1))).join(' '), g.target, g.met(g.measured) ? 'yes' : 'no']
      }),
      ['(beside 6: spawn to exit, start-up and exit included)', times(spawnToExit), '', '', ''],
    ],
  )
  const [c, r] = rows
  const cpuChart = stackedBarChart({
    title: `CPU per event by thread, first record to last (${int(data.records)} records, ${o.format})`,
    yLabel: 'CPU µs per event (user + system)',
    segments: ['main thread', 'parse threads', 'the rest: V8 helpers (GC, JIT), libuv, kernel'],
    bars: [
      { label: 'collector (run --drain)', values: [c.cpuMicrosPerEvent.main, c.cpuMicrosPerEvent.parse, c.cpuMicrosPerEvent.rest], note: `${fixed(c.cpuMicrosPerEvent.total, 1)} µs (${times(goals[0].measured)})` },
      { label: 'reference loop', values: [r.cpuMicrosPerEvent.main, r.cpuMicrosPerEvent.parse, r.cpuMicrosPerEvent.rest], note: `${fixed(r.cpuMicrosPerEvent.total, 1)} µs` },
    ],
    marks: [{ label: 'goal 3: a third of the loop', value: r.cpuMicrosPerEvent.total / 3 }],
  })
  const rateChart = barChart({
    title: `Draining ${o.files} files (${int(data.records)} records, ${o.format}) from fauxqs`,
    yLabel: 'events per second (first record to last)',
    bars: [
      { label: 'collector (run --drain)', value: c.eventsPerSecond, note: `${int(c.eventsPerSecond)} (${times(goals[3].measured, 1)})` },
      { label: 'reference loop', value: r.eventsPerSecond, note: int(r.eventsPerSecond) },
    ],
  })
  return {
    summary: {
      mode: 'drain',
      options: o,
      dataset: { dir: data.dir, files: data.files.length, records: data.records },
      rows,
      goals: goals.map(({ goal, measured, ratios, target }) => ({ goal, measured, perRepetition: ratios, target })),
      spawnToExitRatio: spawnToExit,
    },
    tables: {
      drain: table,
      note: `CPU over each run's window from its first written record to its last (/proc every 50 ms). Parse threads: ${c.parseSource === 'proc' ? `the threads Node names WorkerThread (the collector's own count of their CPU on objects: ${fixed(c.parseCountedMicrosPerEvent, 1)} µs/event)` : "the collector's own count of their CPU on objects (this Node does not name its threads)"}; the rest: every other thread of the process (V8's helpers, libuv, ended threads).`,
      goals: goalTable,
    },
    charts: { 'drain.svg': cpuChart, 'drain-eps.svg': rateChart },
  }
}
