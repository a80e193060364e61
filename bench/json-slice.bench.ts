// The json format's cut: workers/record-cutter.ts's RecordCutter over decompressed synthetic CloudTrail files,
// against the json output path as it is built (workers/object-parser.ts, ObjectParser with format json:
// cut, check, frame into output chunks), the reference json path (cut, decode, workers/json/reference.ts's
// minifyRecord: JSON.parse and minify) and the floor's JSON.parse of the same bytes. Records/s and MB/s
// of decompressed input. Run after a build:
//   npx tsc -p tsconfig.json && node dist/bench/json-slice.bench.js

import { gunzipSync } from 'node:zlib'
import { readFileSync } from 'node:fs'
import { Bench } from 'tinybench'
import { minifyRecord } from '../workers/json/reference.ts'
import { ObjectParser } from '../workers/object-parser.ts'
import type { ParseOptions } from '../workers/protocol.ts'
import { RecordCutter, type RecordHandler } from '../workers/record-cutter.ts'
import { dataset } from './lib/dataset.ts'

const FILES = 8
const CHUNK = 256 * 1024 // as the worker slices an inflated object (object-stream.ts)
const limits = { maxRecordBytes: 8 << 20, maxDepth: 128 }
const options: ParseOptions = { format: 'json', framing: 'lines', limits: { ...limits, maxDecompressedBytes: 2 ** 31, outputChunkBytes: 1 << 20 } }

const docs = dataset(FILES).files.map((f) => gunzipSync(readFileSync(f)))
const bytes = docs.reduce((n, d) => n + d.length, 0)
let records = 0
let sink = 0

const counter: RecordHandler = {
  onRecord: (_buf, start, end) => {
    sink += end - start
    records++
  },
  onSkip: () => {},
}
/** Every document through a RecordCutter, in the worker's chunks, records to `handler`. */
function cutAll(handler: RecordHandler): void {
  for (const doc of docs) {
    const cutter = new RecordCutter(handler, limits)
    for (let at = 0; at < doc.length; at += CHUNK) cutter.push(doc.subarray(at, at + CHUNK))
    cutter.end()
  }
}
cutAll(counter)
const RECORDS = records

const decoder = new TextDecoder()
const minify: RecordHandler = {
  onRecord: (buf, start, end) => {
    sink += minifyRecord(decoder.decode(buf.subarray(start, end))).length
  },
  onSkip: () => {},
}

function objectParser(): void {
  for (const doc of docs) {
    const parser = new ObjectParser(options)
    for (let at = 0; at < doc.length; at += CHUNK) {
      parser.push(doc.subarray(at, at + CHUNK))
      if (parser.full) sink += parser.take()!.records
    }
    parser.end()
    for (let t = parser.take(); t; t = parser.take()) sink += t.records
    if (parser.stats.records !== RECORDS / FILES) throw new Error(`ObjectParser wrote ${parser.stats.records} records of ${RECORDS / FILES}`)
  }
}

function jsonParse(): void {
  for (const doc of docs) sink += (JSON.parse(doc.toString('utf8')) as { Records: unknown[] }).Records.length
}

const bench = new Bench({ name: 'json slice', time: 2000, warmupTime: 300 })
bench.add('RecordCutter alone (cut, no output)', () => cutAll(counter))
bench.add('ObjectParser json (the output path as built)', objectParser)
bench.add('cut + decode + minifyRecord (reference json path)', () => cutAll(minify))
bench.add('floor part: JSON.parse(document)', jsonParse)
await bench.run()
void sink

console.log(`${bench.name}: ${FILES} files, ${RECORDS.toLocaleString('en-US')} records, ${(bytes / 1e6).toFixed(1)} MB decompressed (${Math.round(bytes / RECORDS)} B/record)`)
const base = bench.tasks[3].result
const baseMs = base.state === 'completed' ? base.latency.p50 : NaN
console.table(
  bench.tasks.map((task) => {
    const r = task.result
    if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`)
    const seconds = r.latency.p50 / 1000
    return {
      subject: task.name,
      'records/s': Math.round(RECORDS / seconds).toLocaleString('en-US'),
      'MB/s': (bytes / 1e6 / seconds).toFixed(0),
      'vs JSON.parse': `${(baseMs / r.latency.p50).toFixed(2)}×`,
      samples: r.latency.samplesCount,
    }
  }),
)
