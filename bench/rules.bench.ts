// drop, keep and redact rules in the parse path (workers/rules/): what a dropped record costs against a
// written one. Files of 1,000 real records sampled from the corpus (bench/lib/corpus.ts), decompressed once;
// each subject runs the parse thread's work on them (cut, rules, format, frame: ObjectParser fed 256 KiB
// pieces as a worker is), one thread, in both formats:
//   - no rules: every record written, as before;
//   - a drop rule that matches nothing: the rules' scan on top of writing every record;
//   - drop 90%: one drop rule on eventName whose alternatives are the commonest names, to 90% of the records;
//   - redact: requestParameters and responseElements/credentials/* replaced.
// Then the same with gunzip (parseObjectSync on the .json.gz), the whole of a parse thread's work.
// Run after a build (ROUNDS=n for more rounds; FILES=n files):
//   npx tsc -p tsconfig.json && node dist/bench/rules.bench.js

import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { ObjectParser, parseObjectSync } from '../workers/object-parser.ts'
import type { Format, ParseOptions } from '../workers/protocol.ts'
import type { RuleSpec } from '../workers/rules/compile.ts'
import { corpusDataset } from './lib/corpus.ts'

const ROUNDS = Number(process.env.ROUNDS ?? 5)
const FILES = Number(process.env.FILES ?? 8)
const PIECE = 256 * 1024
const set = corpusDataset(FILES)
const gz = set.files.map((f) => readFileSync(f))
const docs = gz.map((g) => gunzipSync(g))
const RECORDS = set.records

// The commonest event names, to 90% of the records.
const counts = new Map<string, number>()
for (const d of docs) for (const r of (JSON.parse(d.toString('utf8')) as { Records: { eventName?: string }[] }).Records) counts.set(String(r.eventName), (counts.get(String(r.eventName)) ?? 0) + 1)
const names: string[] = []
let covered = 0
for (const [name, n] of [...counts].sort((a, b) => b[1] - a[1])) {
  if (covered >= 0.9 * RECORDS) break
  if (/[*|\\]/.test(name)) continue
  names.push(name)
  covered += n
}

const none: RuleSpec = { drop: [], keep: [], redact: [] }
const subjects: [string, RuleSpec][] = [
  ['no rules', none],
  ['drop rule, matches nothing', { ...none, drop: ['eventName=NoSuchEvent*'] }],
  [`drop ${((100 * covered) / RECORDS).toFixed(1)}% (eventName, ${names.length} names)`, { ...none, drop: [`eventName=${names.join('|')}`] }],
  ['redact 2 paths', { ...none, redact: ['requestParameters', 'responseElements/credentials/*'] }],
]

const options = (format: Format, rules: RuleSpec): ParseOptions => ({
  format,
  framing: 'lines',
  limits: { maxDecompressedBytes: 1 << 30, maxRecordBytes: 8 << 20, maxDepth: 128, outputChunkBytes: 1 << 20 },
  rules,
})

function parseDecompressed(o: ParseOptions): number {
  let written = 0
  for (const doc of docs) {
    const p = new ObjectParser(o)
    for (let at = 0; at < doc.length; at += PIECE) {
      p.push(doc.subarray(at, at + PIECE))
      while (p.full) p.take()
    }
    p.end()
    while (p.take());
    written += p.stats.records
  }
  return written
}

function parseGzipped(o: ParseOptions): number {
  let written = 0
  for (const g of gz) written += parseObjectSync(g, o).stats.records
  return written
}

/**
 * Best of ROUNDS, wall and CPU µs per record (CPU of the process: this thread and V8's helpers). The subjects
 * take turns within each round, so that a busy spell of the machine (it is shared) falls on all of them.
 */
function measureAll(fns: (() => number)[]): { wall: number; cpu: number; written: number }[] {
  const best = fns.map(() => ({ wall: Infinity, cpu: Infinity, written: 0 }))
  for (const fn of fns) fn() // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    fns.forEach((fn, k) => {
      const c0 = process.cpuUsage()
      const t0 = performance.now()
      const written = fn()
      const t = (performance.now() - t0) * 1000
      const c = process.cpuUsage(c0)
      best[k].wall = Math.min(best[k].wall, t / RECORDS)
      best[k].cpu = Math.min(best[k].cpu, (c.user + c.system) / RECORDS)
      best[k].written = written
    })
  }
  return best
}

console.log(`rules: ${RECORDS.toLocaleString('en-US')} corpus records in ${FILES} files (bench/lib/corpus.ts, seed 1), best of ${ROUNDS} rounds, one thread`)
for (const format of ['fortisiem', 'json'] as const) {
  for (const [what, fn] of [['decompressed: cut + rules + format', parseDecompressed], ['gzipped: gunzip + cut + rules + format', parseGzipped]] as const) {
    const results = measureAll(subjects.map(([, rules]) => () => fn(options(format, rules))))
    const base = results[0]
    console.log(`${format}, ${what}`)
    console.table(
      results.map((m, k) => ({
        subject: subjects[k][0],
        written: m.written.toLocaleString('en-US'),
        'records/s': Math.round(1e6 / m.wall).toLocaleString('en-US'),
        'µs/record': m.wall.toFixed(2),
        'CPU µs/record': m.cpu.toFixed(2),
        'vs no rules (wall)': `${(base.wall / m.wall).toFixed(2)}x`,
        'vs no rules (CPU)': `${(base.cpu / m.cpu).toFixed(2)}x`,
      })),
    )
  }
}
