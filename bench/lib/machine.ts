// What the kernel says about the machine and its processes (Linux /proc). How busy the whole machine was
// (/proc/stat): on a shared host the benchmark reports, beside its own CPU time, how many cores everything
// else on the machine used meanwhile, so that a slow run can be told from a slow program. And the peak RSS
// of another process (/proc/<pid>/status), for the soak and the integration tests.

import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'

export interface CpuSnapshot {
  busy: number
  total: number
}

/** Jiffies of the first /proc/stat line; null where there is no /proc. */
export function cpuSnapshot(): CpuSnapshot | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]
    const f = line.trim().split(/\s+/).slice(1).map(Number)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0) // user … steal; guest is already in user
    const idle = f[3] + (f[4] ?? 0) // idle + iowait
    return { busy: total - idle, total }
  } catch {
    return null
  }
}

/** Cores the whole machine kept busy between two snapshots (NaN without /proc). */
export function busyCores(a: CpuSnapshot | null, b: CpuSnapshot | null): number {
  if (!a || !b || b.total === a.total) return NaN
  return ((b.busy - a.busy) / (b.total - a.total)) * cpus().length
}

/**
 * Peak resident set of a live process so far, from the kernel (VmHWM), in bytes; 0 once it is gone, and 0
 * until it has exec'd the collector (before exec, the forked child still shows its parent's memory).
 */
export function peakRss(pid: number): number {
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cli.js')) return 0
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}
