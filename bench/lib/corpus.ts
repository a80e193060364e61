// The benchmark data set from real CloudTrail records: test/fixtures/corpus (a verbatim copy of the
// workplace's corpus, 7,944 records from public trails; SOURCES.md says where each comes from).
//
// - `corpusDataset(files)`: files of 1,000 records each, sampled from the whole corpus with a fixed seed,
//   written as CloudTrail writes its log files: one gzipped `{"Records":[…]}` with no whitespace between
//   tokens. Each record is the source's own text with only the whitespace between tokens dropped (the
//   json format's minifier), so keys, order, escapes and number spellings stay what the trail wrote.
// - `realFiles()`: the log files CloudTrail itself wrote (grycap-cloudtrail-tracker, trailscraper), as
//   they are.
// Written once to a cache directory and reused, like the synthetic data set (dataset.ts).

import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { minifyRecord } from '../../workers/json-line.ts'
import { RecordCutter } from '../../workers/records.ts'
import type { Dataset } from './dataset.ts'
import { repoRoot } from './paths.ts'

export const corpusDir = join(repoRoot(), 'test', 'fixtures', 'corpus')

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? walk(path) : [path]
    })
}

/** Every log document of the corpus (gzipped files and extracted .json files), in a fixed order. */
export function corpusDocuments(): { path: string; text: Buffer }[] {
  return walk(corpusDir)
    .filter((p) => p.endsWith('.json.gz') || p.endsWith('.json'))
    .map((path) => ({ path, text: path.endsWith('.gz') ? gunzipSync(readFileSync(path)) : readFileSync(path) }))
}

let cached: string[] | null = null

/** Every record of the corpus, minified (only whitespace between tokens dropped), in a fixed order. */
export function corpusRecords(): string[] {
  if (cached) return cached
  const decoder = new TextDecoder()
  const records: string[] = []
  for (const { path, text } of corpusDocuments()) {
    const found: string[] = []
    const cutter = new RecordCutter(
      {
        onRecord: (buf, start, end) => found.push(minifyRecord(decoder.decode(buf.subarray(start, end)))),
        onSkip: (reason) => {
          throw new Error(`${relative(corpusDir, path)}: a record was skipped (${reason})`)
        },
      },
      { maxRecordBytes: 1 << 24, maxDepth: 128 },
    )
    try {
      cutter.push(text)
      cutter.end()
    } catch (err) {
      // A few sources hold one bare record, not a log document.
      if ((err as { code?: string }).code !== 'ERR_OBJECT_NO_RECORDS' || found.length > 0) throw err
      found.push(minifyRecord(decoder.decode(text)))
    }
    records.push(...found)
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
  const files = walk(corpusDir).filter((p) => p.endsWith('.json.gz'))
  let records = 0
  for (const f of files) records += (JSON.parse(gunzipSync(readFileSync(f)).toString('utf8')) as { Records: unknown[] }).Records.length
  return { files, records }
}
