// The alert rules in deploy/prometheus pass `promtool check rules` and their `promtool test rules` unit
// tests, every alert has a firing and a not-firing test case and every recording rule a test, and queues
// are grouped by the collector's own labels: a queue is (job, organization, source), never its name
// alone (two accounts may have queues of the same name). The example Prometheus config is valid.

import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { promtoolBin } from '../helpers/prometheus.ts'
import { alertNames, alertRules, recordNames, recordingRules, ruleExprs, ruleTestFile, rulesDir, rulesFile, testsFile } from '../helpers/rules.ts'

const exampleConfig = join(rulesDir, 'prometheus.example.yml')

async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(promtoolBin, args, { cwd: rulesDir })
    return { code: 0, output: stdout + stderr }
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string }
    if (e.code === 'ENOENT') throw new Error(`${promtoolBin} not found: install the Debian package prometheus (.ci/run does)`)
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` }
  }
}

/** The alert test cases of the unit-test file: `exp_alerts: []` (or none) for a case where the alert must not fire. */
const testCases = ruleTestFile.tests.flatMap((t) => t.alert_rule_test ?? []).map((c) => ({ alert: c.alertname, fires: (c.exp_alerts ?? []).length > 0 }))

/** Every input series of the unit tests. */
const inputSeries = ruleTestFile.tests.flatMap((t) => t.input_series)

/** Every rule's expression, one text: what the PromQL says, comments left out. */
const allExprs = ruleExprs.join('\n')

const alertExpr = (name: string): string => alertRules.find((r) => r.alert === name)!.expr

describe('deploy/prometheus rules', () => {
  it('pass promtool check rules', async () => {
    const { code, output } = await promtool('check', 'rules', rulesFile)
    expect(code, output).toBe(0)
    expect(output).toMatch(/SUCCESS: \d+ rules found/)
  })

  it('pass their promtool unit tests', async () => {
    const { code, output } = await promtool('test', 'rules', testsFile)
    expect(code, output).toBe(0)
    expect(output).toContain('SUCCESS')
  })

  it('have a firing and a not-firing test case for every alert', () => {
    const alerts = alertNames
    const cases = testCases
    expect(alerts.length).toBeGreaterThanOrEqual(7)
    expect(new Set(alerts).size, 'alert names are unique').toBe(alerts.length)
    for (const alert of alerts) {
      expect(cases.some((c) => c.alert === alert && c.fires), `${alert} has a firing case`).toBe(true)
      expect(cases.some((c) => c.alert === alert && !c.fires), `${alert} has a not-firing case`).toBe(true)
    }
    // No test names an alert that does not exist (a renamed alert would leave its tests vacuous).
    for (const c of cases) expect(alerts, `test case for ${c.alert}`).toContain(c.alert)
  })

  it('have a promql_expr_test for every recording rule', () => {
    const records = recordNames
    const tested = new Set(ruleTestFile.tests.flatMap((t) => t.promql_expr_test ?? []).map((e) => /^\s*([\w:]+)/.exec(e.expr)?.[1]))
    expect(records.length).toBeGreaterThanOrEqual(7)
    for (const record of records) expect(tested.has(record), `${record} has a promql_expr_test`).toBe(true)
  })

  it('identify a queue by the job and the labels the collector sets (organization, source), keeping queue', () => {
    // Every aggregation that keeps the organization keeps the job and the source too, and the queue's
    // name (constant for a source: it stays on the recorded series). Nothing groups or matches by the
    // queue's name without the source: same-named queues of two accounts would be merged.
    const groupings = [...allExprs.matchAll(/\bby \(([^)]*)\)/g)].map((m) => m[1].split(',').map((l) => l.trim()))
    expect(groupings.length).toBeGreaterThan(10)
    for (const labels of groupings) {
      if (labels.includes('organization')) expect(labels, labels.join(', ')).toEqual(expect.arrayContaining(['job', 'source', 'queue']))
      if (labels.includes('queue')) expect(labels, labels.join(', ')).toContain('source')
    }
    const matchings = [...allExprs.matchAll(/\bon \(([^)]*)\)/g)].map((m) => m[1].split(',').map((l) => l.trim()))
    expect(matchings.length).toBeGreaterThan(5)
    for (const labels of matchings) {
      expect(labels, labels.join(', ')).not.toContain('queue')
      // A collector reads several queues: matching one of its series to another is per source.
      if (!labels.includes('organization')) expect(labels, labels.join(', ')).toEqual(['job', 'instance', 'source'])
      else expect(labels, labels.join(', ')).toEqual(['job', 'organization', 'source'])
    }
    expect(allExprs).toMatch(/cloudtrail_config_pull_threads \* 10 \/ cloudtrail_config_pull_interval_seconds/)
  })

  it('name the source in the alerts on a queue, and leave it out of the process-wide ones', () => {
    // Process-wide series (the parse pool, the sink) have no source, organization or queue label.
    const processWide = ['CloudTrailParsePoolSaturated', 'CloudTrailSinkUnreachable', 'CloudTrailCollectorDown', 'CloudTrailCollectorAbsent']
    for (const rule of alertRules) {
      if (processWide.includes(rule.alert)) expect(rule.annotations!.summary, rule.alert).not.toMatch(/\$labels\.(source|queue|organization)\b/)
      else expect(rule.annotations!.summary, rule.alert).toMatch(/\$labels\.source\b/)
    }
    for (const s of inputSeries.filter((x) => /^cloudtrail_(parse_pool_utilization|sink_up|config_parse_threads)\{/.test(x.series))) {
      expect(s.series).not.toMatch(/\b(source|organization|queue)=/)
    }
    // Every input series about a queue carries its source, and its queue name.
    for (const s of inputSeries.filter((x) => /\bqueue="/.test(x.series))) expect(s.series).toMatch(/\bsource="[^"]+"/)
  })

  it('keep two queues of the same name in different accounts apart, in the unit tests', () => {
    const label = (series: string, name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(series)?.[1]
    // The input: one organization, one queue name, two sources (accounts), one collector reading both.
    const sources = new Set(
      inputSeries.filter((s) => label(s.series, 'organization') === 'acme' && label(s.series, 'queue') === 'cloudtrail').map((s) => label(s.series, 'source')),
    )
    expect([...sources].sort()).toEqual(['111122223333/cloudtrail', '444455556666/cloudtrail'])
    // Recording rules and alerts that expect the two apart.
    const samples = ruleTestFile.tests.flatMap((t) => t.promql_expr_test ?? []).flatMap((e) => (e.exp_samples as { labels: string }[]).map((x) => x.labels))
    const alerts = ruleTestFile.tests.flatMap((t) => t.alert_rule_test ?? []).flatMap((c) => (c.exp_alerts as { exp_labels: Record<string, string> }[]).map((a): Record<string, string> => ({ ...a.exp_labels, name: c.alertname })))
    expect(samples.filter((l) => l.includes('source="444455556666/cloudtrail"')).length).toBeGreaterThanOrEqual(5)
    for (const name of ['CloudTrailQueueStatsStale', 'CloudTrailSinkNotConfirming', 'CloudTrailReceiveFailing']) {
      expect(alerts.some((a) => a.name === name && a.source === '444455556666/cloudtrail' && a.queue === 'cloudtrail'), name).toBe(true)
    }
  })

  it('scale CloudTrailQueueStatsStale with queue_stats_interval and leave out collectors with it at 0, and test both', () => {
    const stale = alertExpr('CloudTrailQueueStatsStale')
    // Stale when older than max(5 minutes, 4 x the collector's interval) ...
    expect(stale).toMatch(/clamp_min\(4 \* cloudtrail_config_queue_stats_interval_seconds, 5 \* 60\)/)
    // ... and no "never answered" alert for a collector that polls never.
    expect(stale).toMatch(/unless on \(job, instance, source\) \(cloudtrail_config_queue_stats_interval_seconds == 0\)/)
    // The unit tests have collectors with the interval at 0 and at one where 4 x interval beats 5 minutes.
    const intervals = inputSeries
      .filter((s) => s.series.startsWith('cloudtrail_config_queue_stats_interval_seconds{'))
      .map((s) => Number(/^(\d+)\+0x\d+$/.exec(s.values)?.[1]))
    expect(intervals).toContain(0)
    expect(intervals.some((i) => 4 * i > 5 * 60)).toBe(true)
    expect(intervals.some((i) => i > 0 && 4 * i < 5 * 60)).toBe(true)
  })

  it("alert on falling behind and on the age of held messages, not on FortiSIEM's capacity ratio", () => {
    const exprs = Object.fromEntries(alertRules.map((r) => [r.alert, r.expr]))
    // The pull interval applies only after an empty receive: a ratio above 1 says nothing about keeping up.
    for (const [alert, expr] of Object.entries(exprs)) expect(expr, alert).not.toMatch(/capacity_ratio/)
    // Falling behind: more arrive than are deleted, and the messages' age grows.
    expect(exprs.CloudTrailFallingBehind).toMatch(/cloudtrail:input_rate_messages:queue > cloudtrail:sqs_messages_deleted:rate5m/)
    expect(exprs.CloudTrailFallingBehind).toMatch(/deriv\(cloudtrail:sqs_message_age_seconds:queue\[15m\]\) > 0/)
    // The lag alerts see the messages held, not only those received.
    for (const alert of ['CloudTrailMessageLagHigh', 'CloudTrailMessageLagCritical']) expect(exprs[alert], alert).toMatch(/cloudtrail:sqs_message_age_seconds:queue/)
    expect(allExprs).toMatch(/max by \(job, organization, source, queue\) \(cloudtrail_sqs_oldest_message_age_seconds\)/)
    // The input rate is conserved: deletes plus the growth of everything the queue holds; receives are not arrivals.
    const input = recordingRules.find((r) => r.record === 'cloudtrail:input_rate_messages:queue')!.expr
    expect(input).toMatch(/increase\(cloudtrail_sqs_messages_deleted_total\[5m\]\)/)
    expect(input).toMatch(/delta\(cloudtrail_sqs_queue_messages\[5m\]\)/)
    expect(input).not.toMatch(/received/)
    // The unit tests hold a healthy collector far above FortiSIEM's ratio (defaults, 1 message/s: 3).
    expect(inputSeries.find((s) => /^cloudtrail_capacity_ratio\{[^}]*organization="defaults"/.test(s.series))?.values).toBe('3+0x60')
  })

  it('give every alert a severity, a summary and a description', () => {
    expect(alertRules.length).toBeGreaterThanOrEqual(7)
    for (const rule of alertRules) {
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/)
      expect(rule.labels?.severity, rule.alert).toMatch(/^(critical|warning|info)$/)
      expect(rule.annotations?.summary, rule.alert).toMatch(/\S/)
      expect(rule.annotations?.description, rule.alert).toMatch(/\S/)
    }
  })

  it('come with a valid example Prometheus config that loads them', async () => {
    const { code, output } = await promtool('check', 'config', exampleConfig)
    expect(code, output).toBe(0)
    const example = readFileSync(exampleConfig, 'utf8')
    expect(example).toMatch(/job_name:\s*cloudtrail-ingest/)
    // The collectors set source, queue and organization themselves: a target label of the same name would
    // rename theirs to exported_source / exported_queue / exported_organization.
    expect(example).not.toMatch(/^\s*labels:/m)
    expect(example).not.toMatch(/^\s*(source|queue|organization):/m)
  })
})
