// Small helpers about processes and ports for the integration tests.
import { readFileSync } from 'node:fs'

export { freePort } from '../../bench/lib/ports.ts'

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
