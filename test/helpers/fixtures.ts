// Loads the real CloudTrail records and documents in test/fixtures: a verbatim copy of the workplace's
// shared fixtures (../shared/fixtures), so that a clean clone tests alone. Never edit them; SOURCES.md
// says where each comes from and under which licence.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
export const fixturesDir = join(repoRoot, 'test', 'fixtures')

export interface FixtureRecord {
  source: string
  record: Record<string, unknown>
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { eventVersion?: unknown }).eventVersion === 'string'

function collect(value: unknown, source: string, out: FixtureRecord[]): void {
  if (typeof value === 'string') {
    const t = value.trim()
    if (t.startsWith('{') && t.includes('eventVersion')) {
      try {
        collect(JSON.parse(t), source, out)
      } catch {
        /* not JSON: not a record */
      }
    }
    return
  }
  if (isRecord(value)) {
    out.push({ source, record: value })
    return
  }
  if (Array.isArray(value)) for (const v of value) collect(v, source, out)
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) collect(v, source, out)
}

/** Every CloudTrail record in the fixtures (an object with a string eventVersion), wherever it is nested. */
export function fixtureRecords(): FixtureRecord[] {
  const dir = join(fixturesDir, 'records')
  const out: FixtureRecord[] = []
  for (const name of readdirSync(dir).sort()) {
    const text = readFileSync(join(dir, name), 'utf8')
    if (name.endsWith('.jsonl')) {
      text
        .split('\n')
        .filter((l) => l.trim())
        .forEach((line, i) => collect(JSON.parse(line), `${name}:${i + 1}`, out))
    } else {
      collect(JSON.parse(text), name, out)
    }
  }
  return out
}

/** Fixture files that are whole CloudTrail documents, {"Records":[…]}, as their original text. */
export function fixtureDocuments(): { name: string; text: string }[] {
  const dir = join(fixturesDir, 'records')
  return readdirSync(dir)
    .sort()
    .filter((name) => name.endsWith('.json'))
    .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }))
    .filter(({ text }) => {
      const doc = JSON.parse(text)
      return typeof doc === 'object' && doc !== null && Array.isArray(doc.Records)
    })
}
