// The real CloudTrail corpus: the workplace's shared fixtures (../shared/fixtures/corpus beside the
// repository, or CT_CORPUS), 7,944 records in 761 files copied verbatim from public repositories (its
// SOURCES.md says which, and stats.txt counts them). Too large to copy into test/fixtures; the flattener
// benchmark and the format's round-trip test read it where it is. Never edit these files.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { repoRoot } from './paths.ts'

export interface CorpusDocument {
  /** The file, relative to the corpus. */
  name: string
  /** A CloudTrail document, {"Records":[…]}, with the records as the file has them (a bare record is wrapped). */
  bytes: Buffer
}

export function corpusDir(): string {
  return process.env.CT_CORPUS ?? join(repoRoot(), '..', 'shared', 'fixtures', 'corpus')
}

/** The number of records stats.txt says the corpus holds. */
export function corpusRecordCount(): number {
  const m = /^records: (\d+)$/m.exec(readFileSync(join(corpusDir(), 'stats.txt'), 'utf8'))
  if (!m) throw new Error(`${corpusDir()}/stats.txt does not say how many records there are`)
  return Number(m[1])
}

/** Every .json and .json.gz file of the corpus, in a stable order; throws when the corpus is not there. */
export function corpusDocuments(): CorpusDocument[] {
  const dir = corpusDir()
  if (!existsSync(join(dir, 'stats.txt'))) throw new Error(`the CloudTrail corpus is not at ${dir}: clone beside ../shared, or set CT_CORPUS`)
  const names: string[] = []
  const walk = (sub: string) => {
    for (const entry of readdirSync(join(dir, sub)).sort()) {
      const name = sub === '' ? entry : `${sub}/${entry}`
      if (statSync(join(dir, name)).isDirectory()) walk(name)
      else if (/\.json(\.gz)?$/.test(entry)) names.push(name)
    }
  }
  walk('')
  return names.map((name) => {
    const raw = readFileSync(join(dir, name))
    const text = name.endsWith('.gz') ? gunzipSync(raw) : raw
    const doc = JSON.parse(text.toString('utf8')) as { Records?: unknown }
    const bytes = Array.isArray(doc.Records) ? text : Buffer.concat([Buffer.from('{"Records":['), text, Buffer.from(']}')])
    return { name, bytes }
  })
}
