// The one table of errors (src/errors.ts) against what uses it: the error counter exports exactly its
// stages and reasons, counts each code under its own, and deploy/ (dashboard, alert rules and their tests)
// names only stages and reasons it has.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CollectorError, ERROR_STAGES, ERRORS, SKIP_CODES, errorInfo, isErrorCode } from '../src/errors.ts'
import type { SourceMetrics } from '../src/observe/metrics.ts'
import { sourceMetrics } from './helpers/metrics.ts'
import { labelsIn, pair } from './helpers/error-table.ts'
import { repoRoot } from './helpers/fixtures.ts'

const counted = ERRORS.filter((e) => e.stage !== null)

async function errorSamples(metrics: SourceMetrics): Promise<Map<string, number>> {
  const { values } = await metrics.root.errors.get()
  return new Map(values.map((v) => [pair(String(v.labels.stage), String(v.labels.reason)), v.value]))
}

describe('the error table', () => {
  it('names each code once and each stage and reason pair once', () => {
    expect(new Set(ERRORS.map((e) => e.code)).size).toBe(ERRORS.length)
    expect(new Set(counted.map((e) => pair(e.stage!, e.reason))).size).toBe(counted.length)
    for (const e of ERRORS) {
      expect(isErrorCode(e.code), e.code).toBe(true)
      expect(e.reason, e.code).toMatch(/^[a-z][a-z0-9_]*$/)
      expect(e.permanent, e.code).toBe(e.fate === 'permanent')
    }
    expect(isErrorCode('ERR_SOURCE')).toBe(false)
  })

  it('gives every stage at least one reason, and no stage to the start-up codes alone', () => {
    for (const stage of ERROR_STAGES) expect(counted.some((e) => e.stage === stage), stage).toBe(true)
    for (const e of ERRORS.filter((e) => e.stage === null)) expect(e.fate, e.code).toBe('fatal')
    for (const e of ERRORS.filter((e) => e.fate === 'fatal')) expect(e.stage, e.code).toBeNull()
  })

  it('maps each reason a parse worker counts a skipped record under to a record code of that reason', () => {
    const skips = ERRORS.filter((e) => e.fate === 'skipped')
    expect(Object.keys(SKIP_CODES).sort()).toEqual(skips.map((e) => e.reason).sort())
    for (const [reason, code] of Object.entries(SKIP_CODES)) expect(errorInfo(code), reason).toMatchObject({ stage: 'record', reason, fate: 'skipped' })
  })

  it('is what a CollectorError carries', () => {
    for (const e of ERRORS) {
      const err = new CollectorError(e.code, 'm')
      expect({ code: err.code, stage: err.stage, reason: err.reason, permanent: err.permanent }).toEqual({ code: e.code, stage: e.stage, reason: e.reason, permanent: e.permanent })
    }
  })
})

describe('cloudtrail_errors_total', () => {
  it('exports every stage and reason of the table at 0 from the start, and nothing else', async () => {
    const samples = await errorSamples(sourceMetrics())
    expect([...samples.keys()]).toEqual(counted.map((e) => pair(e.stage!, e.reason)))
    expect([...samples.values()].every((v) => v === 0)).toBe(true)
  })

  it("counts each code under its own stage and reason, and the start-up codes nowhere", async () => {
    const metrics = sourceMetrics()
    ERRORS.forEach((e, i) => metrics.error(e.code, i + 1))
    const samples = await errorSamples(metrics)
    ERRORS.forEach((e, i) => {
      if (e.stage !== null) expect(samples.get(pair(e.stage, e.reason)), e.code).toBe(i + 1)
    })
    expect(samples.size).toBe(counted.length)
    expect(metrics.totals.errors).toBe(ERRORS.reduce((sum, e, i) => sum + (e.stage === null ? 0 : i + 1), 0))
  })
})

describe('deploy/', () => {
  const files = ['deploy/README.md', 'deploy/prometheus/cloudtrail-ingest.rules.yml', 'deploy/prometheus/cloudtrail-ingest.rules.test.yml', 'deploy/grafana/cloudtrail-ingest.json']
  const stages = new Set<string>(ERROR_STAGES)
  const reasons = new Set(counted.map((e) => e.reason))
  const pairs = new Set(counted.map((e) => pair(e.stage!, e.reason)))

  it.each(files)('%s names only stages and reasons of the table', (file) => {
    const found = labelsIn(readFileSync(join(repoRoot, file), 'utf8'))
    expect(found.stages.size + found.reasons.size, 'no label matcher found: the pattern is out of date').toBeGreaterThan(0)
    for (const s of found.stages) expect(stages, s).toContain(s)
    for (const r of found.reasons) expect(reasons, r).toContain(r)
    for (const p of found.pairs) expect(pairs, p).toContain(p)
  })
})
