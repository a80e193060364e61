// What the kernel says about the machine (Linux /proc/stat): how busy the whole machine was. On a shared
// host the benchmark reports, beside its own CPU time, how many cores everything else on the machine used
// meanwhile, so that a slow run can be told from a slow program. (A process's peak RSS, which the soak and
// the tests read too, is src/emulator/peak-rss.ts.)

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
