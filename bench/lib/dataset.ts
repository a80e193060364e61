// The benchmark data set: gzipped CloudTrail log files of synthetic records (src/synthetic, realistic
// shapes, about 1.4 KB each), 1000 per file, deterministic from a seed, written once to a cache
// directory and reused.

import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildLogFile } from '../../src/synthetic/log-file.ts'
import { RecordGenerator } from '../../src/synthetic/records.ts'

export interface Dataset {
  dir: string
  files: string[]
  records: number
}

export function dataset(files: number, perFile = 1000, seed = 1): Dataset {
  const dir = join(tmpdir(), `cloudtrail-ingest-bench-${seed}-${files}x${perFile}`)
  const done = join(dir, '.complete')
  if (!existsSync(done)) {
    mkdirSync(dir, { recursive: true })
    const gen = new RecordGenerator({ seed, startTime: new Date('2026-11-26T00:00:00Z') })
    for (let i = 0; i < files; i++) {
      const file = buildLogFile(gen, { records: perFile, account: '111122223333', region: 'us-east-1', time: new Date(Date.UTC(2026, 10, 26, 0, 5 * i)) })
      writeFileSync(join(dir, `${String(i).padStart(5, '0')}.json.gz`), file.body)
    }
    writeFileSync(done, '')
  }
  const list = readdirSync(dir)
    .filter((f) => f.endsWith('.json.gz'))
    .sort()
    .map((f) => join(dir, f))
  return { dir, files: list, records: list.length * perFile }
}

export type DataKind = 'corpus' | 'synthetic'

/**
 * The data set a benchmark runs on: files of real CloudTrail records sampled from the corpus (corpus.ts,
 * the default: what performance claims are made on), or of the synthetic generator's records (for figures
 * beside them, and load at rates the corpus cannot cover).
 */
export async function dataFiles(kind: DataKind, files: number, perFile = 1000): Promise<Dataset> {
  if (kind === 'synthetic') return dataset(files, perFile)
  const { corpusDataset } = await import('./corpus.ts')
  return corpusDataset(files, perFile)
}
