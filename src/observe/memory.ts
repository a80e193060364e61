// Peak resident memory of this process. On Linux, VmHWM of /proc/self/status: getrusage's ru_maxrss also
// counts the parent's memory copied by fork() before exec, so a collector started by a large process
// would report that process's size. Elsewhere, ru_maxrss.

import { readFileSync } from 'node:fs'

export function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
    if (m) return Number(m[1]) * 1024
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024
}
