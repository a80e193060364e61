// The README is the user's manual: it must document every setting and the two commands.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { envName, settings } from '../src/config.ts'
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

  it('gives the IAM permissions the collector needs', () => {
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 's3:GetObject']) {
      expect(readme).toContain(action)
    }
  })
})
