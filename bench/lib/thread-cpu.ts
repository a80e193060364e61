// CPU time by thread of a child process, read from Linux /proc every 50 ms while it runs, with the size of
// the file it writes its records to: enough to take a run's figures over the window from its first
// written record to its last, start-up (Node, modules, SDK clients, parse threads) and exit taken off, the
// same way for the collector and the reference loop (which has no metrics).
//
// /proc/PID/stat counts every thread of the process, those that have ended included; the main thread is
// the task whose id is the process's. Node 24 names its threads (comm): MainThread, WorkerThread (a worker
// thread: the collector's parse threads), V8Worker (V8's GC and compiler helpers), libuv-worker,
// DelayedTaskScheduler, SignalInspector; Node 22 calls them all "node", so the parse threads' share comes
// from the collector's own count (eps/drain.ts), and the names only add detail where Node gives them.
// Times are in clock ticks (USER_HZ, 100 a second on Linux): 10 ms per thread at each end of a window.

import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs'

/** Linux's USER_HZ: the unit of utime and stime in /proc (100 on every architecture Node runs on). */
const TICKS_PER_SECOND = 100

/** utime + stime of one /proc stat line, in seconds (the fields after the command name, which may hold spaces). */
export function statCpuSeconds(line: string): number {
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ')
  // Fields 14 and 15 of proc(5), counted from 1 with pid and comm first: 12th and 13th after comm.
  const ticks = Number(fields[11]) + Number(fields[12])
  if (!Number.isFinite(ticks)) throw new Error(`not a /proc stat line: ${line.slice(0, 80)}`)
  return ticks / TICKS_PER_SECOND
}

export interface ProcSample {
  /** performance.now() of the harness when read. */
  atMs: number
  /** Size of the output file then (0 before it exists). */
  bytes: number
  /** Every thread, those ended included (user + system seconds). */
  processSeconds: number
  mainSeconds: number
  /** Seconds by thread name (the last value read of each thread, ended ones too). */
  byName: Record<string, number>
}

export class ProcSampler {
  readonly samples: ProcSample[] = []
  private timer: NodeJS.Timeout | null = null
  private readonly threads = new Map<string, { name: string; seconds: number }>()
  private firstWrite: (() => void) | null

  /** `onFirstWrite` runs once, at the first sample that finds the output file non-empty. */
  constructor(
    private readonly pid: number,
    private readonly output: string,
    { onFirstWrite, everyMs = 50 }: { onFirstWrite?: () => void; everyMs?: number } = {},
  ) {
    this.firstWrite = onFirstWrite ?? null
    this.timer = setInterval(() => this.sample(), everyMs)
    this.sample()
  }

  /** Stops sampling (the process has exited, or will not be read any more). */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** One sample now; false once the process is gone (and sampling stops). */
  sample(): boolean {
    let processSeconds: number
    let tasks: string[]
    try {
      processSeconds = statCpuSeconds(readFileSync(`/proc/${this.pid}/stat`, 'utf8'))
      tasks = readdirSync(`/proc/${this.pid}/task`)
    } catch {
      this.stop()
      return false
    }
    const main = String(this.pid)
    for (const tid of tasks) {
      try {
        const seconds = statCpuSeconds(readFileSync(`/proc/${this.pid}/task/${tid}/stat`, 'utf8'))
        const known = this.threads.get(tid)
        // Each thread is named again each time: until the child has exec'd node the main task bears its
        // parent's name, and a new thread bears its creator's until it names itself (a worker seen that
        // early was counted as MainThread for good: thread-cpu.test.ts under load).
        const name = readFileSync(`/proc/${this.pid}/task/${tid}/comm`, 'utf8').trim()
        if (known) Object.assign(known, { name, seconds })
        else this.threads.set(tid, { name, seconds })
      } catch {
        // the thread ended between readdir and read: its last value stays
      }
    }
    let bytes = 0
    try {
      bytes = statSync(this.output).size
    } catch {
      // not written yet
    }
    const byName: Record<string, number> = {}
    for (const t of this.threads.values()) byName[t.name] = (byName[t.name] ?? 0) + t.seconds
    this.samples.push({ atMs: performance.now(), bytes, processSeconds, mainSeconds: this.threads.get(main)?.seconds ?? 0, byName })
    if (bytes > 0 && this.firstWrite) {
      const f = this.firstWrite
      this.firstWrite = null
      f()
    }
    return true
  }
}

export interface RecordWindow {
  /** The first sample that found the output non-empty. */
  start: ProcSample
  /** The first sample that found the whole output, else the last one taken before the process exited. */
  end: ProcSample
}

/**
 * The window from the first written record to the last, as the samples saw it: `finalBytes` is the size of
 * the output once the process has exited. Null when fewer than two samples saw it being written.
 */
export function recordWindow(samples: readonly ProcSample[], finalBytes: number): RecordWindow | null {
  const first = samples.findIndex((s) => s.bytes > 0)
  if (first < 0) return null
  let last = samples.findIndex((s) => s.bytes >= finalBytes)
  if (last < 0) last = samples.length - 1
  if (last <= first) return null
  return { start: samples[first], end: samples[last] }
}

/** Seconds by thread name spent in the window (names that only the end knows start from 0). */
export function byNameBetween(w: RecordWindow): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [name, s] of Object.entries(w.end.byName)) out[name] = Number((s - (w.start.byName[name] ?? 0)).toFixed(2))
  return out
}

/**
 * The number of lines in the first `offsets[i]` bytes of `path`, for each offset: the records written when
 * each sample was taken (Infinity: the whole file). One pass, 1 MiB at a time (outputs run to gigabytes).
 */
export function linesAt(path: string, offsets: readonly number[]): number[] {
  const sorted = [...new Set(offsets)].sort((a, b) => a - b)
  const counts = new Map<number, number>()
  const buf = Buffer.allocUnsafe(1 << 20)
  const fd = openSync(path, 'r')
  try {
    let n = 0
    let pos = 0
    let next = 0
    for (;;) {
      const got = readSync(fd, buf, 0, buf.length, pos)
      // Every offset inside this chunk: count up to it, then on.
      let from = 0
      while (next < sorted.length && sorted[next] <= pos + got) {
        const stop = sorted[next] - pos
        for (let i = buf.indexOf(10, from); i >= 0 && i < stop; i = buf.indexOf(10, i + 1)) n++
        from = Math.max(from, stop)
        counts.set(sorted[next++], n)
      }
      if (got === 0) break
      for (let i = buf.indexOf(10, from); i >= 0 && i < got; i = buf.indexOf(10, i + 1)) n++
      pos += got
    }
    while (next < sorted.length) counts.set(sorted[next++], n)
  } finally {
    closeSync(fd)
  }
  return offsets.map((o) => counts.get(o)!)
}
