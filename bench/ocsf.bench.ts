// The ocsf format's record function (workers/ocsf/format.ts) on the real corpus (bench/lib/corpus.ts: every
// record as written, minified), on the main thread: JSON.parse alone (what any JSON.parse-based mapper
// pays at least), the json format's reference (JSON.parse + the text copied), formatOcsf (JSON.parse, the
// event built, JSON.stringify, the unmapped members copied from the text) and its parts. Run after a build
// (ROUNDS=n to change the number of rounds):
//   npx tsc -p tsconfig.json && node dist/bench/ocsf.bench.js

import { minifyRecord } from '../workers/json/reference.ts'
import { formatOcsf, ocsfEvent } from '../workers/ocsf/format.ts'
import { objectMembers } from '../workers/ocsf/members.ts'
import { corpusRecords } from './lib/corpus.ts'
import { bestOfRounds } from './lib/rounds.ts'

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

const best = await bestOfRounds(tasks, ROUNDS, 400) // task -> lowest median ms

console.log(`corpus: ${texts.length} records, ${(bytes / texts.length).toFixed(0)} bytes each on average; ocsf lines ${(outBytes / texts.length).toFixed(0)} bytes each (x${(outBytes / bytes).toFixed(2)})`)
console.log('| subject | records/s | µs/record |')
console.log('| --- | ---: | ---: |')
for (const t of tasks) {
  const ms = best.get(t.name)!
  console.log(`| ${t.name} | ${Math.round(texts.length / (ms / 1000)).toLocaleString('en-US')} | ${((ms * 1000) / texts.length).toFixed(2)} |`)
}
