// eps --mode threads: the parse stage alone, whole process against whole process. `parse --threads k`
// for k = 1…K and every format (fortisiem, json, ocsf) over one local data set, the floor (bench/floor.ts: gunzipSync +
// JSON.parse of each file, one thread) and gunzip alone, interleaved: each repetition runs every subject
// once, in an order rotated by one each time, and every ratio is the median of ratios taken within one
// repetition. Issue 10's goal 2: fortisiem ≥ 1.0× the floor and json ≥ 1.5× on one thread, and two threads'
// speed-up over one ≥ 0.9 × what two floor processes side by side get over one on this host.
//
// The goals are judged on records/s with start-up taken off: the seconds each child measured itself
// (parse: from the start of its work, pool start included, to the end of its output; the floor: its loop),
// not Node's start-up and exit; spawn to exit is shown beside. CPU per record of `parse` is split as its
// "parse finished" log line counts it (main thread, parse threads on objects, the rest: V8's helpers,
// libuv, the kernel), over the same span; the floor's is its whole process (one thread and V8's helpers).

import type { Format } from '../../workers/protocol.ts'
import { dist } from '../lib/paths.ts'
import { logLines } from '../../src/emulator/collector-cli.ts'
import { check, runNode, type ChildResult } from '../lib/child.ts'
import { dataFiles, type DataKind } from '../lib/dataset.ts'
import { busyCores, cpuSnapshot } from '../lib/machine.ts'
import { median, pairedRatios } from '../lib/stats.ts'
import { Progress, note } from '../lib/progress.ts'
import { fixed, formatTable, int, mib, times } from '../lib/table.ts'
import { lineChart, type Series } from '../lib/svg-chart.ts'

export interface ThreadsOptions {
  /** Real records sampled from the corpus (default), or the synthetic generator's. */
  data: DataKind
  files: number
  maxThreads: number
  reps: number
  formats: Format[]
}

/** CPU milliseconds by thread, as `parse` logs them at the end ("parse finished"). */
interface CpuSplit {
  mainMs: number
  parseMs: number
  processMs: number
}

interface Subject {
  id: string
  label: string
  format?: Format
  threads?: number
  /** The child, the seconds it measured itself (without start-up and exit), and its CPU by thread if it says. */
  run: () => Promise<{ child: ChildResult; innerSeconds: number; split?: CpuSplit }>
}

interface Run {
  rep: number
  wallMs: number
  cpuMs: number
  maxRssBytes: number
  innerSeconds: number
  split?: CpuSplit
  /** Cores the rest of the machine used meanwhile (everything but this child). */
  othersCores: number
}

export async function threadsMode(o: ThreadsOptions) {
  const data = await dataFiles(o.data, o.files)
  const cli = dist('src/cli.js')
  const floor = dist('bench/floor.js')
  const records = data.records

  const parse = (format: string, threads: number) => async () => {
    const r = check(`parse --threads ${threads} --format ${format}`, await runNode(cli, ['parse', '--threads', String(threads), '--format', format, '--output', 'stdout', data.dir]))
    const done = logLines(r.stderr).find((l) => l.msg === 'parse finished')
    if (!done || done.records !== records) throw new Error(`parse --threads ${threads} --format ${format}: wrote ${String(done?.records)} records of ${records}`)
    const split = done.cpu as CpuSplit | undefined
    if (!split || typeof split.parseMs !== 'number') throw new Error(`parse --threads ${threads}: no cpu in its "parse finished" log line`)
    return { child: r, innerSeconds: Number(done.seconds), split }
  }
  const floorRun = (mode: string) => async () => {
    const r = check(`floor --mode ${mode}`, await runNode(floor, ['--mode', mode, data.dir], { stdout: 'pipe' }))
    const out = JSON.parse(r.stdout) as { records: number; seconds: number }
    if (out.records !== records) throw new Error(`floor --mode ${mode}: ${out.records} records of ${records}`)
    return { child: r, innerSeconds: out.seconds }
  }

  // Two floors at once: how far this host scales two busy threads (a VM's vCPUs may share a core; other
  // tenants take their share). Goal 3's ratio cannot exceed what this shows.
  const floorPair = async () => {
    const started = performance.now()
    const [a, b] = await Promise.all([floorRun('parse')(), floorRun('parse')()])
    const child = { ...a.child, wallMs: performance.now() - started, cpuMs: a.child.cpuMs + b.child.cpuMs }
    return { child, innerSeconds: Math.max(a.innerSeconds, b.innerSeconds) }
  }
  const subjects: Subject[] = [
    { id: 'floor', label: 'floor: gunzipSync + JSON.parse, 1 thread', run: floorRun('parse') },
    { id: 'gunzip', label: 'gunzipSync alone, 1 thread', run: floorRun('gunzip') },
    { id: 'floor-pair', label: 'host check: 2 floor processes at once', run: floorPair },
  ]
  for (const format of o.formats) {
    for (let k = 1; k <= o.maxThreads; k++) subjects.push({ id: `${format}-${k}`, label: `parse --format ${format} --threads ${k}`, format, threads: k, run: parse(format, k) })
  }

  const runs = new Map<string, Run[]>(subjects.map((s) => [s.id, []]))
  const started = Date.now()
  let current = ''
  let rep = 0
  const progress = new Progress(() => `threads: repetition ${rep + 1}/${o.reps} | ${current} | ${Math.round((Date.now() - started) / 1000)} s`).start()
  note(`threads: ${data.files.length} files, ${int(records)} records (${data.dir}); ${subjects.length} subjects x ${o.reps} repetitions, interleaved`)
  try {
    for (rep = 0; rep < o.reps; rep++) {
      for (let i = 0; i < subjects.length; i++) {
        const s = subjects[(i + rep) % subjects.length]
        current = s.label
        const before = cpuSnapshot()
        const { child: r, innerSeconds, split } = await s.run()
        const othersCores = busyCores(before, cpuSnapshot()) - r.cpuMs / r.wallMs
        runs.get(s.id)!.push({ rep, wallMs: r.wallMs, cpuMs: r.cpuMs, maxRssBytes: r.report?.maxRssBytes ?? NaN, innerSeconds, split, othersCores })
      }
    }
  } finally {
    progress.stop()
  }

  const of = (id: string) => runs.get(id)!
  const recordsOf = (id: string) => (id === 'floor-pair' ? 2 * records : records)
  /** Median over repetitions of a ratio taken within each repetition. */
  const paired = (a: string, b: string, f: (x: Run, y: Run) => number) => median(pairedRatios(of(a), of(b), f))
  /** Records/s of `a` over records/s of `b` (start-up taken off: the seconds each measured itself), within each repetition. */
  const speed = (a: string, b: string) => paired(a, b, (x, y) => (recordsOf(a) / x.innerSeconds) / (recordsOf(b) / y.innerSeconds))
  /** The same, spawn to exit. */
  const wallSpeed = (a: string, b: string) => paired(a, b, (x, y) => (recordsOf(a) / x.wallMs) / (recordsOf(b) / y.wallMs))
  const cpuSpeed = (a: string, b: string) => paired(a, b, (x, y) => (recordsOf(a) / x.cpuMs) / (recordsOf(b) / y.cpuMs))

  const rows = subjects.map((s) => {
    const list = of(s.id)
    const n = recordsOf(s.id)
    const rate = (run: Run) => n / (run.wallMs / 1000)
    const base = s.format ? `${s.format}-1` : null
    const perRecord = (f: (x: CpuSplit) => number) => (list.every((r) => r.split) ? median(list.map((r) => (f(r.split!) * 1000) / n)) : NaN)
    return {
      subject: s.label,
      format: s.format ?? null,
      threads: s.threads ?? 1,
      recordsPerSecond: median(list.map(rate)),
      innerRecordsPerSecond: median(list.map((r) => n / r.innerSeconds)),
      wallSeconds: median(list.map((r) => r.wallMs / 1000)),
      cpuSeconds: median(list.map((r) => r.cpuMs / 1000)),
      cpuMicrosPerRecord: median(list.map((r) => (r.cpuMs * 1000) / n)),
      /** parse only, from its own count (start-up taken off): main thread, parse threads, the rest, all. */
      cpuSplitMicrosPerRecord: {
        main: perRecord((x) => x.mainMs),
        parse: perRecord((x) => x.parseMs),
        rest: perRecord((x) => x.processMs - x.mainMs - x.parseMs),
        total: perRecord((x) => x.processMs),
      },
      maxRssBytes: median(list.map((r) => r.maxRssBytes)),
      othersCores: median(list.map((r) => r.othersCores)),
      vsFloor: speed(s.id, 'floor'),
      vsFloorSpawnToExit: wallSpeed(s.id, 'floor'),
      speedupVs1: base && s.threads ? speed(s.id, base) : null,
      runs: list,
    }
  })

  const pairSpeedup = speed('floor-pair', 'floor')
  const goals = [
    ...(o.formats.includes('fortisiem')
      ? [{ goal: '2: parse --threads 1 --format fortisiem vs the floor', measured: speed('fortisiem-1', 'floor'), spawnToExit: wallSpeed('fortisiem-1', 'floor'), byCpu: cpuSpeed('fortisiem-1', 'floor'), target: 1.0 }]
      : []),
    ...(o.formats.includes('json')
      ? [{ goal: '2: parse --threads 1 --format json vs the floor', measured: speed('json-1', 'floor'), spawnToExit: wallSpeed('json-1', 'floor'), byCpu: cpuSpeed('json-1', 'floor'), target: 1.5 }]
      : []),
    // Two threads' speed-up over one, against what two floors side by side get over one, in the same repetition.
    ...(o.maxThreads >= 2
      ? o.formats.map((f) => ({
          goal: `2: --threads 2 speed-up over 1 (${f}) vs 2 floors' over 1`,
          measured: median(
            of(`${f}-2`).map((x2) => {
              const x1 = of(`${f}-1`).find((r) => r.rep === x2.rep)!
              const fl = of('floor').find((r) => r.rep === x2.rep)!
              const pair = of('floor-pair').find((r) => r.rep === x2.rep)!
              return (x1.innerSeconds / x2.innerSeconds) / ((2 * fl.innerSeconds) / pair.innerSeconds)
            }),
          ),
          spawnToExit: NaN,
          byCpu: NaN,
          target: 0.9,
        }))
      : []),
    { goal: 'host check: 2 floors at once vs 1 (speed-up)', measured: pairSpeedup, spawnToExit: wallSpeed('floor-pair', 'floor'), byCpu: NaN, target: NaN },
  ]

  const curve = formatTable(
    ['subject', 'records/s', 'vs floor', 'speedup vs 1 thread', 'CPU µs/record', 'main', 'parse threads', 'rest', 'records/s spawn to exit', 'CPU µs/record, whole process', 'peak RSS MiB', "others' CPU cores"],
    rows.map((r) => [
      r.subject,
      int(r.innerRecordsPerSecond),
      times(r.vsFloor),
      r.speedupVs1 === null ? null : times(r.speedupVs1),
      fixed(r.cpuSplitMicrosPerRecord.total),
      fixed(r.cpuSplitMicrosPerRecord.main),
      fixed(r.cpuSplitMicrosPerRecord.parse),
      fixed(r.cpuSplitMicrosPerRecord.rest),
      int(r.recordsPerSecond),
      fixed(r.cpuMicrosPerRecord),
      mib(r.maxRssBytes),
      fixed(r.othersCores, 1),
    ]),
  )
  const goalTable = formatTable(
    ['goal', 'measured (without start-up)', 'spawn to exit', 'by CPU time (whole process)', 'target', 'met'],
    goals.map((g) => [
      g.goal,
      times(g.measured),
      Number.isNaN(g.spawnToExit) ? null : times(g.spawnToExit),
      Number.isNaN(g.byCpu) ? null : times(g.byCpu),
      Number.isNaN(g.target) ? null : `≥ ${times(g.target, 1)}`,
      Number.isNaN(g.target) ? null : g.measured >= g.target ? 'yes' : 'no',
    ]),
  )

  const series: Series[] = o.formats.map((f) => ({
    name: `parse --format ${f}`,
    points: rows.filter((r) => r.format === f).map((r) => [r.threads, r.innerRecordsPerSecond] as const),
  }))
  const floorRate = rows[0].innerRecordsPerSecond
  series.push({ name: 'floor (1 thread)', points: [[1, floorRate], [o.maxThreads, floorRate]], dashed: true })
  const pairRate = rows.find((r) => r.subject.startsWith('host check'))!.innerRecordsPerSecond
  series.push({ name: 'host: floors side by side', points: [[1, floorRate], [2, pairRate]], dashed: true })
  const chart = lineChart({
    title: `Records/s against parse threads (${data.files.length} files, ${int(records)} records)`,
    xLabel: 'parse threads (--threads)',
    yLabel: 'records per second',
    series,
    xTicks: Array.from({ length: o.maxThreads }, (_, i) => i + 1),
  })

  return {
    summary: {
      mode: 'threads',
      options: o,
      dataset: { dir: data.dir, files: data.files.length, records },
      rows,
      goals,
    },
    tables: { curve, goals: goalTable },
    charts: { 'threads.svg': chart },
  }
}
