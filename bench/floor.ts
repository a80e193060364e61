// The floor: what any collector built on JSON.parse pays at least, on one thread. For each file:
// gunzipSync, then JSON.parse of the whole document (nothing else). Also "gunzip alone".
//
//   node dist/bench/floor.js [--mode parse|gunzip] DIR
// Prints one JSON line: { mode, records, seconds, recordsPerSecond }.

import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { gunzipSync } from 'node:zlib'

const { values, positionals } = parseArgs({ options: { mode: { type: 'string', default: 'parse' } }, allowPositionals: true })
const dir = positionals[0]
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json.gz'))
  .sort()
  .map((f) => join(dir, f))
const started = performance.now()
let records = 0
for (const file of files) {
  const text = gunzipSync(readFileSync(file))
  if (values.mode === 'gunzip') records += 1000
  else records += (JSON.parse(text.toString('utf8')) as { Records: unknown[] }).Records.length
}
const seconds = (performance.now() - started) / 1000
console.log(JSON.stringify({ mode: values.mode, records, seconds, recordsPerSecond: Math.round(records / seconds) }))
