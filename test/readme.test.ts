// The README is the user's manual: it must document every setting and the two commands.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { envName, settings } from '../src/config.ts'
import { ERROR_STAGES, ERRORS, isErrorCode } from '../src/errors.ts'
import { errorTable, errorTableIn, labelsIn, pair } from './helpers/error-table.ts'
import { repoRoot } from './helpers/fixtures.ts'

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')

describe('README', () => {
  it('shows the two commands for a newcomer', () => {
    expect(readme).toContain('make demo')
    expect(readme).toContain('make test')
  })

  it('documents every setting with its flag and environment variable', () => {
    for (const s of settings) {
      expect(readme, s.name).toContain(`\`--${s.flag}\``)
      if (!s.flagOnly) {
        expect(readme, s.name).toContain(`\`${s.name}\``)
        expect(readme, s.name).toContain(`\`${envName(s)}\``)
      }
    }
  })

  it("lists the per-source settings as src/config.ts scopes them", () => {
    const listed = /<!-- per-source settings[^>]*-->(.*?)<!-- end -->/s.exec(readme)?.[1] ?? ''
    const names = [...listed.matchAll(/`(\w+)`/g)].map((m) => m[1]).map((n) => (n === 'name' ? 'source_name' : n))
    expect([...new Set(names)].sort()).toEqual(settings.filter((s) => s.scope === 'source').map((s) => s.name).sort())
  })

  it('gives the IAM permissions the collector needs', () => {
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 's3:GetObject']) {
      expect(readme).toContain(action)
    }
  })

  it('has the table of errors of src/errors.ts, row for row', () => {
    // On a failure: the expected side is the table to paste into the README.
    expect(errorTableIn(readme)).toBe(errorTable())
  })

  it('names only codes, stages and reasons of src/errors.ts elsewhere', () => {
    for (const [code] of readme.matchAll(/\bERR_[A-Z0-9_]+/g)) expect(isErrorCode(code), code).toBe(true)
    const counted = ERRORS.filter((e) => e.stage !== null)
    const found = labelsIn(readme)
    expect(found.pairs.size).toBeGreaterThan(0)
    // The metric's row in *Observability* lists the stages.
    expect(readme).toContain(`by stage (${ERROR_STAGES.map((s) => `\`${s}\``).join(', ')})`)
    for (const s of found.stages) expect(ERROR_STAGES as readonly string[], s).toContain(s)
    for (const r of found.reasons) expect(counted.map((e) => e.reason), r).toContain(r)
    for (const p of found.pairs) expect(counted.map((e) => pair(e.stage!, e.reason)), p).toContain(p)
  })
})
