// The FortiSIEM flatteners on one realistic decompressed file (1000 synthetic records, RecordGenerator seed
// 1): JSON.parse of each record (the parse part of the floor), the reference flattener (workers/fortisiem/reference.ts, as
// object-parser.ts calls it: decode, flatten, encode into the output) and the fast one (workers/fortisiem/fast.ts,
// bytes straight into the output). Then the whole parse path of goal 1 against the floor (gunzip +
// JSON.parse of the document), the fast flattener on a stream of fresh records, where it meets new keys
// and new shapes as a collector does, and both flatteners on the real corpus (bench/lib/corpus.ts: 7,944
// records as CloudTrail and others wrote them). Run after a build (ROUNDS=n to change the number of rounds):
//   npx tsc -p tsconfig.json && node dist/bench/flatten.bench.js

import { gunzipSync } from 'node:zlib'
import { buildLogFile } from '../src/synthetic/log-file.ts'
import { RecordGenerator } from '../src/synthetic/records.ts'
import { FastFlattener } from '../workers/fortisiem/fast.ts'
import { flattenRecord } from '../workers/fortisiem/reference.ts'
import { OutputBuilder } from '../workers/frames.ts'
import { RecordCutter, type RecordHandler } from '../workers/record-cutter.ts'
import { corpusDocuments } from './lib/corpus.ts'
import { bestOfRounds } from './lib/rounds.ts'

const MAX_DEPTH = 128 // config.ts's default max_depth
const MAX_RECORD = 8 << 20 // and max_record_size, which bounds a record's fields too
const CHUNK = 256 * 1024
const decoder = new TextDecoder('utf-8')
const limits = { maxRecordBytes: MAX_RECORD, maxDepth: MAX_DEPTH }

const gen = new RecordGenerator({ seed: 1 })
const file = buildLogFile(gen, { records: 1000, account: '111122223333', region: 'us-east-1', time: new Date('2026-11-26T15:05:00Z') })
const doc = gunzipSync(file.body)

/** [start, end) of each record in `buf`, as the cutter hands them over. */
function cut(buf: Uint8Array): number[] {
  const offsets: number[] = []
  const cutter = new RecordCutter({ onRecord: (_b, start, end) => offsets.push(start, end), onSkip: () => {} }, limits)
  cutter.push(buf)
  cutter.end()
  return offsets
}

const offsets = cut(doc)
const texts: string[] = []
for (let k = 0; k < offsets.length; k += 2) texts.push(decoder.decode(doc.subarray(offsets[k], offsets[k + 1])))
const RECORDS = texts.length

const reference = new OutputBuilder(CHUNK, 'lines')
const fastOut = new OutputBuilder(CHUNK, 'lines')
const fast = new FastFlattener(MAX_DEPTH)

function flattenAll(ff: FastFlattener, buf: Uint8Array, offs: number[], out: OutputBuilder): void {
  for (let k = 0; k < offs.length; k += 2) {
    out.beginRecord()
    ff.flatten(buf, offs[k], offs[k + 1], out, MAX_RECORD)
    out.endRecord()
    if (out.full) out.take()
  }
}

// The whole path: gunzip, cut, fast flatten, as a worker does it (one record handler, output taken when full).
const pathOut = new OutputBuilder(CHUNK, 'lines')
const pathFlattener = new FastFlattener(MAX_DEPTH)
const pathHandler: RecordHandler = {
  onRecord(buf, start, end) {
    pathOut.beginRecord()
    pathFlattener.flatten(buf, start, end, pathOut, MAX_RECORD)
    pathOut.endRecord()
    if (pathOut.full) pathOut.take()
  },
  onSkip() {},
}

// Fresh records: 20,000 of them (seed 2), each run with a new flattener that learns keys and shapes as it goes.
const freshGen = new RecordGenerator({ seed: 2 })
const freshTexts = Array.from({ length: 20_000 }, () => JSON.stringify(freshGen.next()))
const freshDoc = Buffer.from(freshTexts.join(','))
const freshOffsets: number[] = []
for (let k = 0, p = 0; k < freshTexts.length; k++) {
  const n = Buffer.byteLength(freshTexts[k])
  freshOffsets.push(p, p + n)
  p += n + 1
}
const freshOut = new OutputBuilder(CHUNK, 'lines')

// The real corpus: every record cut out of its file as written, laid end to end in one buffer.
const corpusRecords = corpusDocuments().flatMap(({ bytes }) => {
  const offs = cut(bytes)
  return Array.from({ length: offs.length / 2 }, (_, k) => bytes.subarray(offs[2 * k], offs[2 * k + 1]))
})
const corpusDoc = Buffer.concat(corpusRecords.flatMap((r) => [r, Buffer.from(',')]))
const corpusOffsets: number[] = []
for (let k = 0, p = 0; k < corpusRecords.length; p += corpusRecords[k].length + 1, k++) corpusOffsets.push(p, p + corpusRecords[k].length)
const corpusTexts = corpusRecords.map((r) => decoder.decode(r))
const corpusOut = new OutputBuilder(CHUNK, 'lines')
const corpusFast = new FastFlattener(MAX_DEPTH)

/** The fast flattener must write what the reference writes before it is worth timing. */
function check(what: string, buf: Uint8Array, offs: number[], recordTexts: string[]): void {
  const ff = new FastFlattener(MAX_DEPTH)
  const out = new OutputBuilder(1 << 24, 'lines')
  for (let k = 0; k < offs.length; k += 2) {
    out.beginRecord()
    if (!ff.flatten(buf, offs[k], offs[k + 1], out)) throw new Error(`${what}, record ${k / 2}: rejected`)
    out.endRecord()
    const got = Buffer.from(out.take()!.data).toString().slice(0, -1)
    if (got !== flattenRecord(recordTexts[k / 2], MAX_DEPTH)) throw new Error(`${what}, record ${k / 2}: the fast flattener differs from the reference`)
  }
}
check('synthetic', doc, offsets, texts)
check('corpus', corpusDoc, corpusOffsets, corpusTexts)

// Each task does one whole batch of records. On a shared machine the load changes from one second to the
// next, so the tasks run in short interleaved rounds and each keeps its best (lowest) median.
const ROUNDS = Number(process.env.ROUNDS ?? 7)
const tasks: { name: string; records: number; fn: () => void }[] = [
  {
    name: 'JSON.parse (each record)',
    records: RECORDS,
    fn: () => {
      for (const t of texts) JSON.parse(t)
    },
  },
  {
    name: 'reference: decode + flattenRecord + write',
    records: RECORDS,
    fn: () => {
      for (let k = 0; k < offsets.length; k += 2) {
        reference.beginRecord()
        reference.writeString(flattenRecord(decoder.decode(doc.subarray(offsets[k], offsets[k + 1])), MAX_DEPTH, MAX_RECORD))
        reference.endRecord()
        if (reference.full) reference.take()
      }
    },
  },
  { name: 'fast: flatten into OutputBuilder', records: RECORDS, fn: () => flattenAll(fast, doc, offsets, fastOut) },
  {
    name: 'floor: gunzip + JSON.parse(document)',
    records: RECORDS,
    fn: () => {
      JSON.parse(gunzipSync(file.body).toString())
    },
  },
  {
    name: 'path: gunzip + cut + fast flatten',
    records: RECORDS,
    fn: () => {
      const cutter = new RecordCutter(pathHandler, limits)
      cutter.push(gunzipSync(file.body))
      cutter.end()
    },
  },
  {
    name: 'JSON.parse, fresh records',
    records: freshTexts.length,
    fn: () => {
      for (const t of freshTexts) JSON.parse(t)
    },
  },
  { name: 'fast, fresh records', records: freshTexts.length, fn: () => flattenAll(new FastFlattener(MAX_DEPTH), freshDoc, freshOffsets, freshOut) },
  {
    name: 'JSON.parse, corpus',
    records: corpusTexts.length,
    fn: () => {
      for (const t of corpusTexts) JSON.parse(t)
    },
  },
  {
    name: 'reference, corpus',
    records: corpusTexts.length,
    fn: () => {
      for (let k = 0; k < corpusOffsets.length; k += 2) {
        corpusOut.beginRecord()
        corpusOut.writeString(flattenRecord(decoder.decode(corpusDoc.subarray(corpusOffsets[k], corpusOffsets[k + 1])), MAX_DEPTH, MAX_RECORD))
        corpusOut.endRecord()
        if (corpusOut.full) corpusOut.take()
      }
    },
  },
  { name: 'fast, corpus', records: corpusTexts.length, fn: () => flattenAll(corpusFast, corpusDoc, corpusOffsets, corpusOut) },
]

const best = await bestOfRounds(tasks, ROUNDS, 300) // task -> lowest median ms

/** Records per second of a task, from its best median. */
function rate(name: string): number {
  const t = tasks.find((x) => x.name === name)!
  return t.records / (best.get(name)! / 1000)
}

const rParse = rate(tasks[0].name)
const rRef = rate(tasks[1].name)
const rFast = rate(tasks[2].name)
const rFloor = rate(tasks[3].name)
const rPath = rate(tasks[4].name)
const rFreshParse = rate(tasks[5].name)
const rFresh = rate(tasks[6].name)
const rCorpusParse = rate(tasks[7].name)
const rCorpusRef = rate(tasks[8].name)
const rCorpusFast = rate(tasks[9].name)
const row = (subject: string, r: number, extra: Record<string, string> = {}) => ({ subject, 'records/s': Math.round(r).toLocaleString('en-US'), 'µs/record': (1e6 / r).toFixed(2), ...extra })

console.log(`flatteners: ${RECORDS} records of ${(doc.length / RECORDS).toFixed(0)} bytes (RecordGenerator seed 1), best of ${ROUNDS} rounds`)
console.table([
  row('JSON.parse (each record)', rParse),
  row('reference flattener', rRef),
  row('fast flattener', rFast, { 'fast/JSON.parse': (rFast / rParse).toFixed(2), 'fast/reference': (rFast / rRef).toFixed(2) }),
])
console.log(`${freshTexts.length.toLocaleString('en-US')} fresh records (seed 2, ${(freshDoc.length >> 20)} MiB), a new fast flattener each run: it learns keys and shapes as it goes`)
console.table([row('JSON.parse (each record)', rFreshParse), row('fast flattener', rFresh, { 'fast/JSON.parse': (rFresh / rFreshParse).toFixed(2) })])
console.log(`the real corpus: ${corpusTexts.length.toLocaleString('en-US')} records of ${(corpusDoc.length / corpusTexts.length).toFixed(0)} bytes (bench/lib/corpus.ts), one fast flattener across runs`)
console.table([
  row('JSON.parse (each record)', rCorpusParse),
  row('reference flattener', rCorpusRef),
  row('fast flattener', rCorpusFast, { 'fast/JSON.parse': (rCorpusFast / rCorpusParse).toFixed(2), 'fast/reference': (rCorpusFast / rCorpusRef).toFixed(2) }),
])
console.log('goal 1, one thread: the parse path against the floor')
console.table([row('floor: gunzip + JSON.parse(document)', rFloor), row('gunzip + cut + fast flatten', rPath, { 'path/floor': (rPath / rFloor).toFixed(2) })])
