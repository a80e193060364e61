// The peak RSS of a collector started as another process, from the kernel (/proc/<pid>/status), for the
// soak and the integration suites' memory bounds.

import { readFileSync } from 'node:fs'

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
