// The issue's "done when": during `demo`, a real Prometheus scrapes /metrics, finds every metric the issue
// names with the throughput counters moving, loads the alert rules without error, and runs every query of
// the Grafana dashboard (template variables substituted as Grafana would) without error; the core
// panels return data. Needs `make build` (the built CLI) and the Debian package prometheus.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, startCli, type CliProcess } from '../helpers/fauxqs.ts'
import { repoRoot } from '../helpers/fixtures.ts'
import { Prometheus, freePort, terminate, waitFor, type Sample } from '../helpers/prometheus.ts'

const rulesFile = join(repoRoot, 'deploy', 'prometheus', 'cloudtrail-ingest.rules.yml')
const dashboardFile = join(repoRoot, 'deploy', 'grafana', 'cloudtrail-ingest.json')
const JOB = 'cloudtrail-ingest'
const ORGANIZATION = 'acme'

/** The metrics the issue fixes by name (histograms by their base name). */
const issueMetrics = [
  'cloudtrail_sqs_messages_received_total',
  'cloudtrail_sqs_messages_deleted_total',
  'cloudtrail_sqs_backlog_messages',
  'cloudtrail_sqs_inflight_messages',
  'cloudtrail_s3_objects_total',
  'cloudtrail_s3_bytes_total',
  'cloudtrail_events_total',
  'cloudtrail_errors_total',
  'cloudtrail_ring_buffer_used',
  'cloudtrail_ring_buffer_capacity',
  'cloudtrail_parse_pool_utilization',
  'cloudtrail_input_rate_messages',
  'cloudtrail_capacity_ratio',
  // "what this collector really achieves" and Node's default process metrics with event-loop delay
  'cloudtrail_achieved_max_message_rate',
  'cloudtrail_achieved_max_event_rate',
  'process_resident_memory_bytes',
  'process_cpu_seconds_total',
  'nodejs_eventloop_lag_p99_seconds',
]
const issueHistograms = ['cloudtrail_sqs_message_lag_seconds', 'cloudtrail_event_lag_seconds', 'cloudtrail_parse_seconds']
/**
 * Labelled counters that nothing has incremented have no sample yet (prom-client prints only their HELP
 * and TYPE): the healthy demo has no errors. Prometheus still records them in its metadata.
 */
const declaredOnly = new Set(['cloudtrail_errors_total'])
/** Panels that are empty while nothing goes wrong. */
const mayBeEmpty = new Set(['Errors per second by stage and reason', 'Records skipped per second by reason'])

interface Target {
  expr: string
  refId: string
  datasource?: { uid?: string }
}
interface Panel {
  id: number
  type: string
  title: string
  datasource?: { uid?: string }
  targets?: Target[]
  panels?: Panel[]
}
interface Variable {
  name: string
  type: string
  query: string | { query: string }
  multi?: boolean
  includeAll?: boolean
  allValue?: string
}
interface Dashboard {
  schemaVersion: number
  panels: Panel[]
  templating: { list: Variable[] }
}

const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as Dashboard
/** Every panel, including those inside collapsed rows. */
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row')
const queryVariables = dashboard.templating.list.filter((v) => v.type === 'query')

/** A value as Grafana puts a single selection of a multi-value variable into a regex matcher. */
const regexEscape = (value: string) => value.replace(/[\\^$*+?.()|{}[\]]/g, '\\\\$&')

/** Grafana's built-in intervals for a 1 s scrape interval, and the chosen template variable values. */
function substitute(expr: string, values: Record<string, string>): string {
  const builtIns: Record<string, string> = { __rate_interval: '15s', __interval: '5s', __range: '1m' }
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => builtIns[name] ?? values[name] ?? whole)
}

const variableQuery = (v: Variable) => (typeof v.query === 'string' ? v.query : v.query.query)

/** The `expr:` values of a rules file: the key's line and the more indented lines that follow it. */
function ruleExprs(rules: string): string[] {
  const exprs: string[] = []
  let current: { indent: number; lines: string[] } | null = null
  for (const line of rules.split('\n')) {
    const indent = line.search(/\S/)
    if (current && (indent < 0 || indent > current.indent)) {
      current.lines.push(line)
      continue
    }
    if (current) exprs.push(current.lines.join('\n'))
    const m = /^(\s*)expr:(.*)$/.exec(line)
    current = m ? { indent: m[1].length, lines: [m[2]] } : null
  }
  if (current) exprs.push(current.lines.join('\n'))
  return exprs
}

describe('deploy/ against a real Prometheus scraping the demo', () => {
  let demo: CliProcess | undefined
  let prometheus: Prometheus | undefined
  let dir: string
  let metricsPort: number

  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run make build first`)
    dir = mkdtempSync(join(tmpdir(), 'ct-deploy-'))
    metricsPort = await freePort()
    demo = startCli(['demo', '--metrics-port', String(metricsPort), '--output', `file:${join(dir, 'out.log')}`, '--eps', '1000', '--organization', ORGANIZATION])
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`
    await waitFor(async () => {
      if (demo!.child.exitCode !== null || demo!.child.signalCode !== null) throw new Error(`the demo exited early:\n${demo!.stderr()}`)
      return (await fetch(metricsUrl)).ok
    }, 'the demo to serve /metrics')
    prometheus = await Prometheus.start({ targets: [`127.0.0.1:${metricsPort}`], job: JOB, ruleFiles: [rulesFile], interval: '1s' })
    const p = prometheus
    // A few scrapes, throughput moving, and the collector up long enough (> 10 s) to report the highest
    // rates it sustained.
    await waitFor(async () => ((await p.value(`count_over_time(up{job="${JOB}"}[1m])`)) ?? 0) >= 5, 'a few scrapes', 15_000)
    await waitFor(async () => ((await p.value('rate(cloudtrail_events_total[30s])')) ?? 0) > 0, 'events to flow', 20_000)
    await waitFor(async () => ((await p.value('cloudtrail_achieved_max_event_rate')) ?? 0) > 0, 'an achieved event rate', 25_000)
  })

  afterAll(async () => {
    await prometheus?.stop()
    if (demo) await terminate(demo.child)
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('finds every metric the issue names', async () => {
    const names = new Set((await prometheus!.api<{ data: string[] }>('label/__name__/values')).data)
    const metadata = (await prometheus!.api<{ data: Record<string, { type: string }[]> }>('metadata')).data
    for (const name of issueMetrics) {
      if (declaredOnly.has(name) && !names.has(name)) expect(metadata[name]?.[0]?.type, `${name} declared`).toBe('counter')
      else expect(names.has(name), `${name} scraped`).toBe(true)
    }
    for (const name of issueHistograms) {
      for (const suffix of ['_bucket', '_sum', '_count']) expect(names.has(name + suffix), name + suffix).toBe(true)
      expect(metadata[name]?.[0]?.type, `${name} type`).toBe('histogram')
    }
    const results = await prometheus!.api<{ data: Record<string, string>[] }>('series', { 'match[]': 'cloudtrail_s3_objects_total' })
    expect(new Set(results.data.map((s) => s.result))).toEqual(new Set(['processed', 'skipped', 'failed']))
    // The collector's own label, as the dashboard's organization variable expects.
    expect(results.data.every((s) => s.organization === ORGANIZATION)).toBe(true)
  })

  it('sees the throughput counters moving', async () => {
    for (const counter of ['cloudtrail_events_total', 'cloudtrail_sqs_messages_received_total', 'cloudtrail_sqs_messages_deleted_total', 'cloudtrail_s3_bytes_total']) {
      expect(await prometheus!.value(`rate(${counter}[30s])`), counter).toBeGreaterThan(0)
    }
    expect(await prometheus!.value('increase(cloudtrail_s3_objects_total{result="processed"}[30s])')).toBeGreaterThan(0)
  })

  it('uses only metrics the collector exports, in the dashboard and the rules', async () => {
    const names = new Set((await prometheus!.api<{ data: string[] }>('label/__name__/values')).data)
    const metadata = (await prometheus!.api<{ data: Record<string, unknown> }>('metadata')).data
    const known = (name: string) => names.has(name) || name in metadata || name.replace(/_(bucket|sum|count)$/, '') in metadata
    const text = [...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...queryVariables.map(variableQuery), ...ruleExprs(readFileSync(rulesFile, 'utf8'))].join('\n')
    const used = new Set(text.match(/\b(?:cloudtrail|process|nodejs)_[a-z0-9_]+/g))
    expect(ruleExprs(readFileSync(rulesFile, 'utf8')).length).toBeGreaterThan(10)
    expect(used.size).toBeGreaterThan(20)
    for (const name of used) expect(known(name), name).toBe(true)
  })

  it('resolves the template variables', async () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39)
    expect(queryVariables.map((v) => v.name)).toEqual(expect.arrayContaining(['job', 'organization', 'instance']))
    expect(dashboard.templating.list.some((v) => v.type === 'datasource' && v.name === 'DS_PROMETHEUS')).toBe(true)
    const found: Record<string, string[]> = {}
    for (const v of queryVariables) {
      // label_values(selector, label), Grafana's variable query: the label API with a match[].
      const m = /^label_values\((.+),\s*(\w+)\)$/.exec(variableQuery(v))
      expect(m, `${v.name}: label_values(selector, label)`).not.toBeNull()
      const selector = substitute(m![1], { job: JOB, organization: ORGANIZATION, instance: '.*' })
      const answer = await prometheus!.api<{ status: string; data: string[] }>(`label/${m![2]}/values`, { 'match[]': selector })
      expect(answer.status, v.name).toBe('success')
      found[v.name] = answer.data
    }
    expect(found).toEqual({ job: [JOB], organization: [ORGANIZATION], instance: [`127.0.0.1:${metricsPort}`] })
  })

  it('runs every dashboard query without error; the core panels return data', async () => {
    const variants: Record<string, Record<string, string>> = {
      // "All" selected: Grafana substitutes the variables' allValue.
      all: Object.fromEntries(queryVariables.map((v) => [v.name, v.allValue ?? '.*'])),
      // One value of each selected.
      one: { job: JOB, organization: regexEscape(ORGANIZATION), instance: regexEscape(`127.0.0.1:${metricsPort}`) },
    }
    expect(panels.length).toBeGreaterThan(20)
    const problems: string[] = []
    let queries = 0
    for (const panel of panels) {
      expect(panel.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}')
      expect(panel.targets?.length, `${panel.title} has queries`).toBeGreaterThan(0)
      for (const target of panel.targets ?? []) {
        expect(target.datasource?.uid ?? '${DS_PROMETHEUS}', panel.title).toBe('${DS_PROMETHEUS}')
        for (const [variant, values] of Object.entries(variants)) {
          const expr = substitute(target.expr, values)
          const where = `${panel.title} [${target.refId}, ${variant}]: ${expr}`
          if (expr.includes('$')) {
            problems.push(`${where}: unresolved variable`)
            continue
          }
          const result = await prometheus!.query(expr)
          queries++
          if (result.status !== 'success') problems.push(`${where}: ${result.error}`)
          else if ((result.data?.result as Sample[]).length === 0 && !mayBeEmpty.has(panel.title)) problems.push(`${where}: no data`)
        }
      }
    }
    expect(problems).toEqual([])
    expect(queries).toBeGreaterThan(80)
  })

  it('loads the alert rules without error, and none fires while the demo is healthy', async () => {
    const alerts = [...readFileSync(rulesFile, 'utf8').matchAll(/^\s*- alert:\s*(\S+)\s*$/gm)].map((m) => m[1])
    interface Rule {
      name: string
      type: 'alerting' | 'recording'
      health: string
      lastError?: string
    }
    const rules = await waitFor(async () => {
      const answer = await prometheus!.api<{ status: string; data: { groups: { rules: Rule[] }[] } }>('rules')
      const all = answer.data.groups.flatMap((g) => g.rules)
      // Every rule evaluated at least once.
      return all.length > 0 && all.every((r) => r.health !== 'unknown') && all
    }, 'every rule to be evaluated', 10_000)
    expect(rules.filter((r) => r.type === 'alerting').map((r) => r.name).sort()).toEqual([...alerts].sort())
    expect(rules.filter((r) => r.type === 'recording').length).toBeGreaterThan(0)
    for (const rule of rules) expect({ name: rule.name, health: rule.health, lastError: rule.lastError || undefined }).toEqual({ name: rule.name, health: 'ok', lastError: undefined })
    // The queue-level recording rules produce series for the demo's queue.
    expect(await prometheus!.value(`cloudtrail:input_rate_messages:queue{organization="${ORGANIZATION}"}`)).toBeGreaterThan(0)
    const active = (await prometheus!.api<{ data: { alerts: { labels: Record<string, string>; state: string }[] } }>('alerts')).data.alerts
    expect(active.map((a) => `${a.labels.alertname} ${a.state}`)).toEqual([])
  })
})
