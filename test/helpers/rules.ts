// The alert and recording rules in deploy/prometheus and their promtool unit tests, loaded once, with what
// the deploy tests read out of them.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from './fixtures.ts'

export const rulesDir = join(repoRoot, 'deploy', 'prometheus')
/** Paths, for promtool and Prometheus. */
export const rulesFile = join(rulesDir, 'cloudtrail-ingest.rules.yml')
export const testsFile = join(rulesDir, 'cloudtrail-ingest.rules.test.yml')
/** Their text. */
export const rules = readFileSync(rulesFile, 'utf8')
export const ruleTests = readFileSync(testsFile, 'utf8')

/** The `- alert: Name` lines of the rules file. */
export const alertNames = [...rules.matchAll(/^\s*- alert:\s*(\S+)\s*$/gm)].map((m) => m[1])
/** The `- record: name` lines of the rules file. */
export const recordNames = [...rules.matchAll(/^\s*- record:\s*(\S+)\s*$/gm)].map((m) => m[1])

/** The `expr:` values of a rules file: the key's line and the more indented lines that follow it. */
function exprs(text: string): string[] {
  const found: string[] = []
  let current: { indent: number; lines: string[] } | null = null
  for (const line of text.split('\n')) {
    const indent = line.search(/\S/)
    if (current && (indent < 0 || indent > current.indent)) {
      current.lines.push(line)
      continue
    }
    if (current) found.push(current.lines.join('\n'))
    const m = /^(\s*)expr:(.*)$/.exec(line)
    current = m ? { indent: m[1].length, lines: [m[2]] } : null
  }
  if (current) found.push(current.lines.join('\n'))
  return found
}

/** The `expr:` of every rule. */
export const ruleExprs = exprs(rules)
