// The whole path's gunzip (workers/inflate.ts): libdeflate (native/gunzip.c, built by `make`) against
// Node's zlib into the same kept buffer, and gunzipSync as a parse thread would call it without either.
// Two data sets: the corpus's 687 real log files as CloudTrail wrote them (9 records each on average), and
// files of 1,000 corpus records (bench/lib/corpus.ts). CPU per record of one thread, best of ROUNDS rounds.
// Run after `make build`:  node dist/bench/inflate.bench.js   (ROUNDS=n, FILES=n)

import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { WholeInflater } from '../workers/inflate.ts'
import { nativeGunzip } from '../workers/native-gunzip.ts'
import { corpusDataset, realFiles } from './lib/corpus.ts'
import { bestOfRounds } from './lib/rounds.ts'

const ROUNDS = Number(process.env.ROUNDS ?? 5)
const FILES = Number(process.env.FILES ?? 50)
const LIMIT = 16 << 20

const native = nativeGunzip()
if (!native) throw new Error('build/gunzip.node is not built (make build; needs cc and libdeflate-dev), or CT_INFLATE=zlib is set')

const sets = [
  { name: 'real log files', ...loaded(realFiles()) },
  { name: `${FILES} files of 1,000 records`, ...loaded(corpusDataset(FILES)) },
]

function loaded({ files, records }: { files: string[]; records: number }) {
  return { gz: files.map((f) => readFileSync(f)), records }
}

const withNative = new WholeInflater(native)
const withZlib = new WholeInflater(null)

function all(gz: Buffer[], inflate: (g: Buffer) => number): number {
  let bytes = 0
  for (const g of gz) bytes += inflate(g)
  return bytes
}

function through(inflater: WholeInflater) {
  return (g: Buffer): number => {
    const r = inflater.inflate(g, LIMIT)
    if (!r) throw new Error('inflate failed')
    const n = r.text.length
    r.release()
    return n
  }
}

console.log(`libdeflate ${native.version}, Node ${process.version}; best of ${ROUNDS} rounds\n`)
console.log('| data | inflater | µs/record | MB/s out | vs zlib |')
console.log('|---|---|---:|---:|---:|')
for (const set of sets) {
  const out = all(set.gz, (g) => gunzipSync(g).length)
  const tasks = [
    { name: 'libdeflate, kept buffer', fn: () => all(set.gz, through(withNative)) },
    { name: 'zlib, kept buffer', fn: () => all(set.gz, through(withZlib)) },
    { name: 'gunzipSync, 2 MiB chunks', fn: () => all(set.gz, (g) => gunzipSync(g, { chunkSize: 2 << 20 }).length) },
  ]
  const best = await bestOfRounds(tasks, ROUNDS, 1000)
  const zlib = best.get('zlib, kept buffer')!
  for (const t of tasks) {
    const ms = best.get(t.name)!
    console.log(`| ${set.name} | ${t.name} | ${((ms * 1000) / set.records).toFixed(3)} | ${(out / 1e6 / (ms / 1000)).toFixed(0)} | ${(zlib / ms).toFixed(2)}x |`)
  }
}
