// The real CloudTrail corpus: test/fixtures/corpus, a verbatim copy of the workplace's corpus (7,944 records
// in 761 files from public repositories; its SOURCES.md says which, and stats.txt counts them), or CT_CORPUS.
// The format's round-trip test and the benchmarks read it. Never edit these files.
//
// - `corpusDocuments()`: every document as it is (a bare record wrapped in {"Records":[…]}).
// - `corpusRecords()`: every record, with only the whitespace between tokens dropped (the json format's
//   minifier), so keys, order, escapes and number spellings stay what the trail wrote.
// - `corpusDataset(files)`: files of 1,000 records each, sampled from the whole corpus with a fixed seed,
//   written as CloudTrail writes its log files: one gzipped `{"Records":[…]}` with no whitespace between
//   tokens. Written once to a cache directory and reused, like the synthetic data set (dataset.ts).
// - `realFiles()`: the log files CloudTrail itself wrote (grycap-cloudtrail-tracker, trailscraper), as they are.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { minifyRecord } from '../../workers/json/reference.ts'
import { RecordCutter } from '../../workers/record-cutter.ts'
import type { Dataset } from './dataset.ts'
import { repoRoot } from './paths.ts'

export interface CorpusDocument {
  /** The file, relative to the corpus. */
  name: string
  /** A CloudTrail document, {"Records":[…]}, with the records as the file has them (a bare record is wrapped). */
  bytes: Buffer
}

export function corpusDir(): string {
  return process.env.CT_CORPUS ?? join(repoRoot(), 'test', 'fixtures', 'corpus')
}

/** The number of records stats.txt says the corpus holds. */
export function corpusRecordCount(): number {
  const m = /^records: (\d+)$/m.exec(readFileSync(join(corpusDir(), 'stats.txt'), 'utf8'))
  if (!m) throw new Error(`${corpusDir()}/stats.txt does not say how many records there are`)
  return Number(m[1])
}

/** The corpus's .json and .json.gz files (relative names), in a stable order; throws when it is not there. */
function corpusFiles(): string[] {
  const dir = corpusDir()
  if (!existsSync(join(dir, 'stats.txt'))) throw new Error(`the CloudTrail corpus is not at ${dir} (set CT_CORPUS)`)
  const names: string[] = []
  const walk = (sub: string) => {
    for (const entry of readdirSync(join(dir, sub)).sort()) {
      const name = sub === '' ? entry : `${sub}/${entry}`
      if (statSync(join(dir, name)).isDirectory()) walk(name)
      else if (/\.json(\.gz)?$/.test(entry)) names.push(name)
    }
  }
  walk('')
  return names
}

/** Every .json and .json.gz file of the corpus, in a stable order. */
export function corpusDocuments(): CorpusDocument[] {
  const dir = corpusDir()
  return corpusFiles().map((name) => {
    const raw = readFileSync(join(dir, name))
    const text = name.endsWith('.gz') ? gunzipSync(raw) : raw
    const doc = JSON.parse(text.toString('utf8')) as { Records?: unknown }
    const bytes = Array.isArray(doc.Records) ? text : Buffer.concat([Buffer.from('{"Records":['), text, Buffer.from(']}')])
    return { name, bytes }
  })
}

let cached: string[] | null = null

/** Every record of the corpus, minified (only whitespace between tokens dropped), in a fixed order. */
export function corpusRecords(): string[] {
  if (cached) return cached
  const decoder = new TextDecoder()
  const records: string[] = []
  for (const { name, bytes } of corpusDocuments()) {
    const cutter = new RecordCutter(
      {
        onRecord: (buf, start, end) => records.push(minifyRecord(decoder.decode(buf.subarray(start, end)))),
        onSkip: (reason) => {
          throw new Error(`${name}: a record was skipped (${reason})`)
        },
      },
      { maxRecordBytes: 1 << 24, maxDepth: 128 },
    )
    cutter.push(bytes)
    cutter.end()
  }
  cached = records
  return records
}

/** Files of `perFile` records sampled (with replacement) from the corpus; deterministic from the seed. */
export function corpusDataset(files: number, perFile = 1000, seed = 1): Dataset {
  const dir = join(tmpdir(), `cloudtrail-ingest-corpus-${seed}-${files}x${perFile}`)
  const done = join(dir, '.complete')
  if (!existsSync(done)) {
    mkdirSync(dir, { recursive: true })
    const records = corpusRecords()
    let state = seed >>> 0 || 1
    // xorshift32: the same files on every machine, for every Node version.
    const next = () => {
      state ^= state << 13
      state ^= state >>> 17
      state ^= state << 5
      return (state >>> 0) / 2 ** 32
    }
    for (let i = 0; i < files; i++) {
      const picked: string[] = []
      for (let k = 0; k < perFile; k++) picked.push(records[Math.floor(next() * records.length)])
      writeFileSync(join(dir, `${String(i).padStart(5, '0')}.json.gz`), gzipSync(`{"Records":[${picked.join(',')}]}`))
    }
    writeFileSync(done, '')
  }
  const list = readdirSync(dir)
    .filter((f) => f.endsWith('.json.gz'))
    .sort()
    .map((f) => join(dir, f))
  return { dir, files: list, records: list.length * perFile }
}

/** The log files CloudTrail wrote, as they are (gzipped; records per file as the trail had them). */
export function realFiles(): { files: string[]; records: number } {
  const files = corpusFiles().filter((n) => n.endsWith('.json.gz')).map((n) => join(corpusDir(), n))
  let records = 0
  for (const f of files) records += (JSON.parse(gunzipSync(readFileSync(f)).toString('utf8')) as { Records: unknown[] }).Records.length
  return { files, records }
}
