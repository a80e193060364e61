// eps --mode drain: goal 4. N log files of 1000 records are uploaded to fauxqs and announced through SNS,
// as CloudTrail does, before the clock starts; then `run --drain` (the collector) or bench/reference-loop.ts
// (sqs-consumer, one object after another) empties the queue into a file, timed from spawn to exit. Each
// repetition seeds a fresh queue and bucket identically for each subject and alternates which goes first;
// the ratio is the median of the ratios within each repetition.

import type { ChildProcess } from 'node:child_process'
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BenchEmulator, runArgs, runEnv, type Wiring } from '../lib/emulator.ts'
import { check, runNode, type ChildResult } from '../lib/child.ts'
import { dataFiles, type DataKind } from '../lib/dataset.ts'
import { dist } from '../lib/paths.ts'
import { Progress, note } from '../lib/progress.ts'
import { Scraper } from '../lib/scraper.ts'
import { busyCores, cpuSnapshot } from '../lib/machine.ts'
import { max, median, pairedRatios } from '../lib/stats.ts'
import { barChart } from '../lib/svg-chart.ts'
import { fixed, formatTable, int, mib, times } from '../lib/table.ts'

export interface DrainOptions {
  /** Real records sampled from the corpus (default), or the synthetic generator's. */
  data: DataKind
  files: number
  reps: number
  format: 'fortisiem' | 'json'
  /** Passed to the collector when set; otherwise its default (cloudtrail_file_parse_thread_num = 3). */
  parseThreads?: number
  /** SQS long-poll wait for both subjects; 0 ends each run as soon as the queue is empty. */
  waitTime: number
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

interface Run {
  rep: number
  wallMs: number
  cpuMs: number
  harnessCpuMs: number
  maxRssBytes: number
  /** Max over 1 s windows of nodejs_eventloop_lag_p99_seconds (collector only), ms. */
  scrapedP99Ms: number
  scrapedMaxMs: number
  /** Whole run, from child-report.ts (includes start-up), ms. */
  runP99Ms: number
  /** Cores the rest of the machine used meanwhile (not the child, not this harness). */
  othersCores: number
}

async function countLines(path: string): Promise<number> {
  let n = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++
  }
  return n
}

export async function drainMode(o: DrainOptions) {
  const data = await dataFiles(o.data, o.files)
  const bodies = data.files.map((f) => readFileSync(f))
  const cli = dist('src/cli.js')
  const reference = dist('bench/reference-loop.js')
  const emu = await BenchEmulator.start()
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
  note(`drain: ${o.files} files x 1000 records (${data.dir}), ${o.reps} repetitions, format ${o.format}, collector sink ${o.sink}, fauxqs at ${emu.endpoint}`)

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
    if (subject === 'collector') {
      const { port, scraper: s } = await Scraper.onFreePort()
      scraper = s
      const args = runArgs(emu.endpoint, w, { drain: true })
      args.push('--format', o.format, '--output', o.sink === 'file' ? `file:${out}` : 'stdout', '--metrics-port', String(port), '--wait-time', String(o.waitTime), '--pull-interval', '1')
      if (o.parseThreads) args.push('--parse-threads', String(o.parseThreads))
      args.push(...o.collectorArgs)
      const fd = o.sink === 'stdout' ? openSync(out, 'a') : null
      try {
        result = await runNode(cli, args, {
          env: runEnv(),
          stdout: fd ?? 'ignore',
          onSpawn: (c) => {
            child = c
            void s.ready().then((up) => up && s.start())
          },
        })
      } finally {
        if (fd !== null) closeSync(fd)
        clearInterval(watchdog)
      }
      scraper.stop()
    } else {
      result = await runNode(reference, ['--endpoint', emu.endpoint, '--queue-url', w.queueUrl, '--output', out, '--format', o.format, '--wait-time', String(o.waitTime)], {
        stdout: 'pipe',
        onSpawn: (c) => (child = c),
      }).finally(() => clearInterval(watchdog))
    }
    if (stalled) throw new Error(`${subject}: no message deleted for ${STALL_SECONDS} s; killed\n${result.stderr.split('\n').slice(-10).join('\n')}`)
    const cpu = process.cpuUsage(cpu0)
    const machineCores = busyCores(machine0, cpuSnapshot())
    wiring = null
    check(subject, result)
    const left = emu.depth(w).undeleted
    if (left !== 0) throw new Error(`${subject} left ${left} messages in the queue`)
    const lines = await countLines(out)
    if (lines !== data.records) throw new Error(`${subject} wrote ${lines} lines, expected ${data.records}`)
    rmSync(out, { force: true })
    emu.unwire(w)
    const windows = scraper?.windows ?? []
    return {
      rep,
      wallMs: result.wallMs,
      cpuMs: result.cpuMs,
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
      for (const subject of order) runs[subject].push(await runOne(subject, rep))
    }
  } finally {
    progress.stop()
    await emu.stop()
    rmSync(tmp, { recursive: true, force: true })
  }

  const rate = (r: Run) => data.records / (r.wallMs / 1000)
  const ratios = pairedRatios(runs.collector, runs.reference, (c, r) => rate(c) / rate(r))
  const cpuRatios = pairedRatios(runs.collector, runs.reference, (c, r) => r.cpuMs / c.cpuMs)
  const labels: Record<SubjectId, string> = {
    collector: `run --drain${o.parseThreads ? ` --parse-threads ${o.parseThreads}` : ' (3 parse threads)'}, ${o.sink === 'file' ? 'file: sink' : 'stdout to a file'}${o.collectorArgs.length ? ' ' + o.collectorArgs.join(' ') : ''}`,
    reference: 'reference loop (sqs-consumer, sequential)',
  }
  const rows = (['collector', 'reference'] as const).map((id) => {
    const list = runs[id]
    return {
      subject: labels[id],
      id,
      recordsPerSecond: median(list.map(rate)),
      wallSeconds: median(list.map((r) => r.wallMs / 1000)),
      cpuSeconds: median(list.map((r) => r.cpuMs / 1000)),
      harnessCpuSeconds: median(list.map((r) => r.harnessCpuMs / 1000)),
      maxRssBytes: median(list.map((r) => r.maxRssBytes)),
      eventLoopP99Ms: max(list.map((r) => r.scrapedP99Ms)),
      eventLoopMaxMs: max(list.map((r) => r.scrapedMaxMs)),
      eventLoopRunP99Ms: median(list.map((r) => r.runP99Ms)),
      othersCores: median(list.map((r) => r.othersCores)),
      runs: list,
    }
  })
  const ratio = median(ratios)
  const cpuRatio = median(cpuRatios)
  const table = formatTable(
    ['subject', 'records/s', 'wall s', 'child CPU s', 'fauxqs+harness CPU s', 'peak RSS MiB', 'event loop p99 ms (1 s windows, max)', 'p99 ms (whole run)', "others' CPU cores"],
    rows.map((r) => [
      r.subject,
      int(r.recordsPerSecond),
      fixed(r.wallSeconds),
      fixed(r.cpuSeconds),
      fixed(r.harnessCpuSeconds),
      mib(r.maxRssBytes),
      fixed(r.eventLoopP99Ms, 1),
      fixed(r.eventLoopRunP99Ms, 1),
      fixed(r.othersCores, 1),
    ]),
  )
  const goalTable = formatTable(
    ['goal', 'measured (wall)', 'by CPU time', 'per repetition', 'target', 'met'],
    [['4: run --drain vs the reference loop', times(ratio), times(cpuRatio), ratios.map((x) => times(x, 1)).join(' '), '≥ 5.0×', ratio >= 5 ? 'yes' : 'no']],
  )
  const chart = barChart({
    title: `Draining ${o.files} files (${int(data.records)} records, ${o.format}) from fauxqs`,
    yLabel: 'records per second (spawn to exit)',
    bars: [
      { label: 'collector (run --drain)', value: rows[0].recordsPerSecond, note: `${int(rows[0].recordsPerSecond)} (${times(ratio, 1)})` },
      { label: 'reference loop', value: rows[1].recordsPerSecond, note: int(rows[1].recordsPerSecond) },
    ],
  })
  return {
    summary: { mode: 'drain', options: o, dataset: { dir: data.dir, files: data.files.length, records: data.records }, rows, ratio, ratios, cpuRatio },
    tables: { drain: table, goals: goalTable },
    charts: { 'drain.svg': chart },
  }
}
