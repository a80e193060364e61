// The ocsf format's record function (workers/ocsf/format.ts) on the real corpus (bench/lib/corpus.ts: every
// record as written, minified), on the main thread: JSON.parse alone (what any JSON.parse-based mapper
// pays at least), the json format's reference (JSON.parse + the text copied), formatOcsf (JSON.parse, the
// event built, JSON.stringify, the unmapped members copied from the text) and its parts. Run after a build
// (ROUNDS=n to change the number of rounds):
//   npx tsc -p tsconfig.json && node dist/bench/ocsf.bench.js

import { Bench, type Task } from 'tinybench'
import { minifyRecord } from '../workers/json/reference.ts'
import { formatOcsf, ocsfEvent } from '../workers/ocsf/format.ts'
import { objectMembers } from '../workers/ocsf/members.ts'
import { corpusRecords } from './lib/corpus.ts'

const texts = corpusRecords()
const parsed = texts.map((t) => JSON.parse(t) as Record<string, unknown>)
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0)
const outBytes = texts.reduce((n, t) => n + Buffer.byteLength(formatOcsf(t, Infinity, false)), 0)

const ROUNDS = Number(process.env.ROUNDS ?? 5)
const tasks: { name: string; fn: () => void }[] = [
  { name: 'JSON.parse', fn: () => texts.forEach((t) => JSON.parse(t)) },
  { name: 'json reference: minifyRecord', fn: () => texts.forEach((t) => minifyRecord(t)) },
  { name: 'ocsf: formatOcsf (whole)', fn: () => texts.forEach((t) => formatOcsf(t, Infinity, false)) },
  { name: 'ocsf part: ocsfEvent + JSON.stringify (parsed)', fn: () => parsed.forEach((r) => JSON.stringify(ocsfEvent(r, new Set(), new Set()))) },
  { name: 'ocsf part: objectMembers (unmapped copy)', fn: () => texts.forEach((t) => objectMembers(t)) },
]

const best = new Map<string, number>()
for (let round = 0; round < ROUNDS; round++) {
  const bench = new Bench({ time: 400, warmupTime: 100, iterations: 3, warmupIterations: 2 })
  for (const t of tasks) bench.add(t.name, t.fn)
  await bench.run()
  for (const task of bench.tasks) best.set(task.name, Math.min(best.get(task.name) ?? Infinity, median(task)))
}

function median(task: Task): number {
  const r = task.result
  if (r.state !== 'completed' && r.state !== 'aborted-with-statistics') throw new Error(`${task.name}: ${r.state}`)
  return r.latency.p50
}

console.log(`corpus: ${texts.length} records, ${(bytes / texts.length).toFixed(0)} bytes each on average; ocsf lines ${(outBytes / texts.length).toFixed(0)} bytes each (x${(outBytes / bytes).toFixed(2)})`)
console.log('| subject | records/s | µs/record |')
console.log('| --- | ---: | ---: |')
for (const t of tasks) {
  const ms = best.get(t.name)!
  console.log(`| ${t.name} | ${Math.round(texts.length / (ms / 1000)).toLocaleString('en-US')} | ${((ms * 1000) / texts.length).toFixed(2)} |`)
}
