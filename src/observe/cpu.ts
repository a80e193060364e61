// CPU time by thread, for the logs at exit and the benchmarks: this process's main thread and all its
// threads (user + system). The parse threads count their own (ParsePool.cpuMs); what is left of the
// process's is V8's helper threads (GC, compilation), libuv's threads and the kernel.

export interface CpuMs {
  mainMs: number
  processMs: number
}

export function cpuMs(): CpuMs {
  const main = process.threadCpuUsage()
  const all = process.cpuUsage()
  return { mainMs: (main.user + main.system) / 1000, processMs: (all.user + all.system) / 1000 }
}

/** CPU milliseconds spent since `since`, by thread, with the parse threads' share. */
export function cpuSince(since: CpuMs, parseMs: number): CpuMs & { parseMs: number } {
  const now = cpuMs()
  const round = (ms: number) => Math.round(ms)
  return { mainMs: round(now.mainMs - since.mainMs), parseMs: round(parseMs), processMs: round(now.processMs - since.processMs) }
}
