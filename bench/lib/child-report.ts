// Preloaded into every process the benchmarks time (node --import …/child-report.js): at exit, writes the
// process's own CPU time (user and system, all threads: getrusage(RUSAGE_SELF) counts threads that have
// ended), its peak RSS (VmHWM) and its event-loop delay over the whole run to the file named by
// CT_BENCH_REPORT. Does nothing in worker threads (they inherit --import) or when the variable is unset.
//
// Event-loop delay comes from monitorEventLoopDelay at 10 ms resolution, as prom-client samples it; its
// values include the 10 ms timer interval itself, so an idle loop shows about 10 ms.

import { writeFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { isMainThread } from 'node:worker_threads'
import { peakRssBytes } from '../../src/observe/memory.ts'

export interface ChildReport {
  userMs: number
  systemMs: number
  maxRssBytes: number
  eventLoop: { p50Ms: number; p99Ms: number; maxMs: number; samples: number }
}

const file = process.env.CT_BENCH_REPORT
if (isMainThread && file) {
  delete process.env.CT_BENCH_REPORT
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  process.on('exit', () => {
    delay.disable()
    const cpu = process.cpuUsage()
    const ms = (ns: number) => Number((ns / 1e6).toFixed(2))
    const report: ChildReport = {
      userMs: cpu.user / 1000,
      systemMs: cpu.system / 1000,
      maxRssBytes: peakRssBytes(),
      eventLoop: { p50Ms: ms(delay.percentile(50)), p99Ms: ms(delay.percentile(99)), maxMs: ms(delay.max), samples: delay.count },
    }
    writeFileSync(file, JSON.stringify(report))
  })
}
