// The alert and recording rules in deploy/prometheus and their promtool unit tests, loaded once with the
// `yaml` package (what promtool and Prometheus read, not a guess at the layout), with what the deploy tests
// read out of them.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { repoRoot } from './fixtures.ts'

export const rulesDir = join(repoRoot, 'deploy', 'prometheus')
/** Paths, for promtool and Prometheus. */
export const rulesFile = join(rulesDir, 'cloudtrail-ingest.rules.yml')
export const testsFile = join(rulesDir, 'cloudtrail-ingest.rules.test.yml')
/** Their text. */
export const rules = readFileSync(rulesFile, 'utf8')
export const ruleTests = readFileSync(testsFile, 'utf8')

/** One rule of a group (Prometheus's rule file format): an alert or a recording rule. */
export interface RuleEntry {
  alert?: string
  record?: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

/** What promtool's unit-test file holds, as far as the deploy tests read it. */
export interface RuleTestFile {
  tests: {
    interval?: string
    input_series: { series: string; values: string }[]
    alert_rule_test?: { eval_time: string; alertname: string; exp_alerts: unknown[] }[]
    promql_expr_test?: { expr: string; eval_time: string; exp_samples: unknown[] }[]
  }[]
}

const parsedRules = parse(rules) as { groups: { name: string; rules: RuleEntry[] }[] }
/** The unit tests, parsed. */
export const ruleTestFile = parse(ruleTests) as RuleTestFile

/** Every rule of every group, in file order. */
export const ruleEntries: RuleEntry[] = parsedRules.groups.flatMap((g) => g.rules)
/** The alerting rules. */
export const alertRules = ruleEntries.filter((r): r is RuleEntry & { alert: string } => typeof r.alert === 'string')
/** The recording rules. */
export const recordingRules = ruleEntries.filter((r): r is RuleEntry & { record: string } => typeof r.record === 'string')

/** The alerts' names. */
export const alertNames = alertRules.map((r) => r.alert)
/** The recording rules' names. */
export const recordNames = recordingRules.map((r) => r.record)
/** The `expr:` of every rule. */
export const ruleExprs = ruleEntries.map((r) => r.expr)
