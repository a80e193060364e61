// Micro-benchmarks in short interleaved rounds (tinybench): on a shared host the load changes from one
// task to the next, so every task runs in each round and keeps its best (lowest) median.

import { Bench, type Task } from 'tinybench'

export interface RoundTask {
  name: string
  fn: () => unknown
}

/** Each task's lowest median over `rounds` rounds, in milliseconds per call. */
export async function bestOfRounds(tasks: readonly RoundTask[], rounds: number, timeMs: number): Promise<Map<string, number>> {
  const best = new Map<string, number>()
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ time: timeMs, warmupTime: 100, iterations: 3, warmupIterations: 2 })
    for (const t of tasks) bench.add(t.name, t.fn)
    await bench.run()
    for (const task of bench.tasks) best.set(task.name, Math.min(best.get(task.name) ?? Infinity, median(task)))
  }
  return best
}

function median(task: Task): number {
  const r = task.result
  if (r.state !== 'completed' && r.state !== 'aborted-with-statistics') throw new Error(`${task.name}: ${r.state}`)
  return r.latency.p50
}
