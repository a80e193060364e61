// src/pipeline/ring.ts (the bounded buffer between the SQS receivers and the processor) against a plain array used
// as a queue (push/shift), in the two patterns the collector has: steady state (one in, one out, a few
// dozen waiting) and bursts (a receive fills ten slots, the processor empties them). Run after a build:
//   npx tsc -p tsconfig.json && node dist/bench/ring.bench.js

import { Bench } from 'tinybench'
import { Ring } from '../src/pipeline/ring.ts'

const OPS = 10_000 // push+shift pairs per task run
const DEPTH = 32 // items waiting in steady state
const item = { message: { Body: '{}' }, entry: { id: 'm' } }
let sink: unknown

function steadyRing(): void {
  const ring = new Ring<typeof item>(64)
  for (let i = 0; i < DEPTH; i++) ring.push(item)
  for (let i = 0; i < OPS; i++) {
    ring.push(item)
    sink = ring.shift()
  }
}

function steadyArray(): void {
  const queue: (typeof item)[] = []
  for (let i = 0; i < DEPTH; i++) queue.push(item)
  for (let i = 0; i < OPS; i++) {
    queue.push(item)
    sink = queue.shift()
  }
}

function burstRing(): void {
  const ring = new Ring<typeof item>(64)
  for (let i = 0; i < OPS; i += 10) {
    const room = ring.reserve(10) // as a receiver does before ReceiveMessage
    for (let k = 0; k < room; k++) ring.push(item)
    ring.release(0)
    for (let k = 0; k < room; k++) sink = ring.shift()
  }
}

function burstArray(): void {
  const queue: (typeof item)[] = []
  for (let i = 0; i < OPS; i += 10) {
    for (let k = 0; k < 10; k++) queue.push(item)
    for (let k = 0; k < 10; k++) sink = queue.shift()
  }
}

const bench = new Bench({ name: 'ring: push + shift', time: 1000, warmupTime: 200 })
bench.add('Ring, steady (32 waiting)', steadyRing)
bench.add('array, steady (32 waiting)', steadyArray)
bench.add('Ring, bursts of 10 (reserve first)', burstRing)
bench.add('array, bursts of 10', burstArray)
await bench.run()
void sink

console.log(`${bench.name}: ${OPS.toLocaleString('en-US')} push+shift pairs per run`)
console.table(
  bench.tasks.map((task) => {
    const r = task.result
    if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`)
    const pairs = (OPS * 1000) / r.latency.p50
    return { subject: task.name, 'pairs/s (median)': Math.round(pairs).toLocaleString('en-US'), 'ns/pair': ((r.latency.p50 * 1e6) / OPS).toFixed(1), samples: r.latency.samplesCount }
  }),
)
