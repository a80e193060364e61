// The issue's "done when": during `demo`, a real Prometheus scrapes /metrics, finds every metric the issue
// names with the throughput counters moving, loads the alert rules without error, and runs every query of
// the Grafana dashboard (template variables substituted as Grafana would) without error; the core
// panels return data. Needs `make build` (the built CLI) and the Debian package prometheus.
//
// Next to the demo (organization acme, queue cloudtrail-demo, queue_stats_interval 5 s), two `run`
// collectors share one queue of an emulator with synthetic traffic: `shared` (2 pull threads every second,
// queue_stats_interval 2 s) and `blind` (1 every 2 seconds, queue_stats_interval = 0, so its queue gauges
// are unknown and CloudTrailQueueStatsStale leaves it out). They check the queue-level recording rules
// across two instances, and that the dashboard shows nothing (never an error, never a made-up 0) where a
// value is unknown.
//
// Labels: every series about a queue carries `source` (by default ACCOUNT/QUEUE_NAME, taken from the queue
// URL: 000000000000/<queue> on the emulator), `queue` and `organization` (when set); the process-wide
// ones (parse pool, sink up, parse threads, thread CPU, process_*, nodejs_*) none of them. The two `run`
// collectors share one source; the demo has its own.

import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERROR_STAGES } from '../../src/errors.ts'
import { Traffic } from '../../src/synthetic/traffic.ts'
import { cli, credentials, runEnv, startCli, startEmulator, type CliProcess, type Emulator } from '../helpers/fauxqs.ts'
import { dashboard, panels, queryVariables, variableQuery } from '../helpers/dashboard.ts'
import { terminate } from '../helpers/child.ts'
import { freePort } from '../helpers/process.ts'
import { Prometheus, type Sample } from '../helpers/prometheus.ts'
import { alertNames, ruleExprs, rulesFile } from '../helpers/rules.ts'
import { waitFor } from '../helpers/wait.ts'

const JOB = 'cloudtrail-ingest'
const ORGANIZATION = 'acme'
const DEMO_QUEUE = 'cloudtrail-demo'

/** Metrics of the whole process: no source, organization or queue label. */
const processWide = /^(cloudtrail_parse_pool_utilization|cloudtrail_sink_up|cloudtrail_config_parse_threads|cloudtrail_thread_cpu_seconds_total|process_.+|nodejs_.+)$/

/** A source's default name: ACCOUNT/QUEUE_NAME, the last two parts of the queue's URL. */
const defaultSource = (queueUrl: string) => new URL(queueUrl).pathname.split('/').filter(Boolean).slice(-2).join('/')

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
/** What the rules and the dashboard need beyond the issue's list. */
const deployMetrics = [
  'cloudtrail_sqs_queue_stats_timestamp_seconds',
  'cloudtrail_config_pull_interval_seconds',
  'cloudtrail_config_pull_threads',
  'cloudtrail_config_parse_threads',
  'cloudtrail_config_queue_stats_interval_seconds',
  'cloudtrail_sqs_up',
  'cloudtrail_sink_up',
  'cloudtrail_sqs_queue_messages',
  'cloudtrail_sqs_delayed_messages',
  'cloudtrail_sqs_oldest_message_age_seconds',
]
const issueHistograms = ['cloudtrail_sqs_message_lag_seconds', 'cloudtrail_event_lag_seconds', 'cloudtrail_parse_seconds']
/** Gauges fed by GetQueueAttributes: no sample at all while unknown (queue_stats_interval = 0 here). */
const queueStatsGauges = [
  'cloudtrail_sqs_backlog_messages',
  'cloudtrail_sqs_inflight_messages',
  'cloudtrail_sqs_delayed_messages',
  'cloudtrail_sqs_queue_messages',
  'cloudtrail_input_rate_messages',
  'cloudtrail_capacity_ratio',
  'cloudtrail_sqs_queue_stats_timestamp_seconds',
]
/** Panels that draw only what goes wrong (`> 0`): empty while the collectors are healthy. */
const quietWhenHealthy = new Set(['Errors per second by stage and reason', 'Records skipped per second by reason', 'Records dropped, redacted and deduplicated per second'])

/** A value as Grafana puts a single selection of a multi-value variable into a regex matcher. */
const regexEscape = (value: string) => value.replace(/[\\^$*+?.()|{}[\]]/g, '\\\\$&')

/** Grafana's built-in intervals for a 1 s scrape interval, and the chosen template variable values. */
function substitute(expr: string, values: Record<string, string>): string {
  const builtIns: Record<string, string> = { __rate_interval: '15s', __interval: '5s', __range: '1m' }
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => builtIns[name] ?? values[name] ?? whole)
}


/** A query that reads a queue-stats gauge of the selected collectors only: no data for a collector without queue stats. */
const perCollectorQueueStats = new RegExp(`\\b(?:${queueStatsGauges.join('|')})\\{[^}]*instance=~`)

/** instance -> value of an instant query's samples. */
const byInstance = (samples: Sample[]) => Object.fromEntries(samples.map((s) => [s.metric.instance, Number(s.value[1])]))

describe('deploy/ against a real Prometheus scraping the demo and two collectors sharing a queue', () => {
  const children: CliProcess[] = []
  let emulator: Emulator | undefined
  let traffic: Traffic | undefined
  let prometheus: Prometheus | undefined
  let dir: string
  /** host:port of each collector. */
  const at = { demo: '', shared: '', blind: '' }
  let sharedQueue: string
  /** The source label of the demo's queue and of the shared one. */
  const sources = { demo: '', shared: '' }

  async function serving(child: CliProcess, port: number, what: string): Promise<string> {
    await waitFor(async () => {
      if (child.child.exitCode !== null || child.child.signalCode !== null) throw new Error(`${what} exited early:\n${child.stderr()}`)
      return (await fetch(`http://127.0.0.1:${port}/metrics`)).ok
    }, `${what} to serve /metrics`, 60_000)
    return `127.0.0.1:${port}`
  }

  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run make build first`)
    dir = mkdtempSync(join(tmpdir(), 'ct-deploy-'))
    const [demoPort, sharedPort, blindPort] = [await freePort(), await freePort(), await freePort()]
    const demo = startCli(['demo', '--metrics-port', String(demoPort), '--output', `file:${join(dir, 'demo.log')}`, '--eps', '1000', '--organization', ORGANIZATION])
    children.push(demo)

    emulator = await startEmulator()
    sharedQueue = emulator.queueName
    const run = (name: string, port: number, extra: string[]) => {
      const child = startCli(
        [
          'run',
          '--queue-url', emulator!.queueUrl,
          '--endpoint', emulator!.endpoint,
          '--bucket', emulator!.bucket,
          '--access-key-id', credentials.accessKeyId,
          '--wait-time', '1',
          '--metrics-port', String(port),
          '--output', `file:${join(dir, `${name}.log`)}`,
          ...extra,
        ],
        runEnv,
      )
      children.push(child)
      return child
    }
    const shared = run('shared', sharedPort, ['--pull-threads', '2', '--pull-interval', '1', '--parse-threads', '1', '--queue-stats-interval', '2'])
    // The blind collector filters too, so that the filtering panel's metrics are there to query.
    const filters = ['--drop', 'eventName=Describe*|List*', '--redact', 'requestParameters', '--dedup-window', '1000']
    const blind = run('blind', blindPort, ['--pull-threads', '1', '--pull-interval', '2', '--parse-threads', '2', '--queue-stats-interval', '0', ...filters])
    traffic = new Traffic({ eps: 300, bucket: emulator.bucket, topicArn: emulator.topicArn, s3: emulator.s3, sns: emulator.sns })
    traffic.start()

    at.demo = await serving(demo, demoPort, 'the demo')
    at.shared = await serving(shared, sharedPort, 'the shared collector')
    at.blind = await serving(blind, blindPort, 'the blind collector')
    prometheus = await Prometheus.start({ targets: [at.demo, at.shared, at.blind], job: JOB, ruleFiles: [rulesFile], interval: '1s' })
    const p = prometheus
    /** On a timeout, what each collector shows and the end of its log (the suite runs next to heavy ones). */
    const settle = async (probe: () => Promise<boolean>, what: string, timeoutMs: number, show: string) => {
      try {
        await waitFor(probe, what, timeoutMs)
      } catch (err) {
        const state = (await p.samples(show)).map((x) => `${x.metric.instance ?? x.metric.source}=${x.value[1]}`).join(', ')
        const logs = children.map((c) => c.stderr().trim().split('\n').slice(-3).join('\n')).join('\n---\n')
        throw new Error(`${(err as Error).message}\n${show}: ${state}\n${logs}`)
      }
    }
    // A few scrapes of each, throughput moving on both queues, the demo up long enough (> 10 s) to report the
    // highest rates it sustained, and the queue gauges known where they can be. Generous timeouts: on a
    // busy 2-core runner the collectors, the emulator and the traffic share the CPU with another suite.
    await settle(async () => ((await p.value(`min(count_over_time(up{job="${JOB}"}[1m]))`)) ?? 0) >= 5, 'a few scrapes', 30_000, `count_over_time(up{job="${JOB}"}[1m])`)
    await settle(async () => (await p.value('count(sum by (source) (rate(cloudtrail_events_total[30s])) > 0)')) === 2, 'events to flow on both queues', 45_000, 'rate(cloudtrail_events_total[30s])')
    await settle(async () => ((await p.value(`cloudtrail_achieved_max_event_rate{instance="${at.demo}"}`)) ?? 0) > 0, 'an achieved event rate', 30_000, 'cloudtrail_achieved_max_event_rate')
    await settle(async () => (await p.value('count(cloudtrail_capacity_ratio)')) === 2, 'the capacity ratios', 30_000, 'cloudtrail_capacity_ratio')
    await settle(async () => (await p.value('count(cloudtrail:capacity_ratio:queue)')) === 2, "the queues' capacity ratios", 15_000, 'cloudtrail:capacity_ratio:queue')
    const sourceOf = async (instance: string) => (await p.api<{ data: string[] }>('label/source/values', { 'match[]': `cloudtrail_events_total{instance="${instance}"}` })).data
    sources.demo = (await sourceOf(at.demo))[0] ?? ''
    sources.shared = (await sourceOf(at.shared))[0] ?? ''
  }, 180_000)

  afterAll(async () => {
    await traffic?.stop()
    await prometheus?.stop()
    for (const child of children) await terminate(child.child)
    await emulator?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('finds every metric the issue names, and those the rules and dashboard add', async () => {
    const names = new Set((await prometheus!.api<{ data: string[] }>('label/__name__/values')).data)
    const metadata = (await prometheus!.api<{ data: Record<string, { type: string }[]> }>('metadata')).data
    for (const name of [...issueMetrics, ...deployMetrics]) expect(names.has(name), `${name} scraped`).toBe(true)
    for (const name of issueHistograms) {
      for (const suffix of ['_bucket', '_sum', '_count']) expect(names.has(name + suffix), name + suffix).toBe(true)
      expect(metadata[name]?.[0]?.type, `${name} type`).toBe('histogram')
    }
    const results = await prometheus!.api<{ data: Record<string, string>[] }>('series', { 'match[]': 'cloudtrail_s3_objects_total' })
    expect(new Set(results.data.map((s) => s.result))).toEqual(new Set(['processed', 'skipped', 'failed']))
  })

  it('labels every series about a queue with its source, queue and organization (when set), and the process-wide ones with none', async () => {
    const series = (await prometheus!.api<{ data: Record<string, string>[] }>('series', { 'match[]': `{job="${JOB}", __name__=~"(cloudtrail|process|nodejs)_.+"}` })).data
    expect(series.length).toBeGreaterThan(100)
    // Default names: ACCOUNT/QUEUE_NAME. The two collectors of the shared queue name it alike (so the
    // queue-level rules add them up); the demo's queue is another source.
    expect(sources.shared).toBe(defaultSource(emulator!.queueUrl))
    expect(sources.demo).toMatch(new RegExp(`^\\d{12}/${DEMO_QUEUE}$`))
    expect((await prometheus!.api<{ data: string[] }>('label/source/values', { 'match[]': `cloudtrail_events_total{instance="${at.blind}"}` })).data).toEqual([sources.shared])
    const expected = {
      [at.demo]: { source: sources.demo, queue: DEMO_QUEUE, organization: ORGANIZATION },
      [at.shared]: { source: sources.shared, queue: sharedQueue, organization: undefined },
      [at.blind]: { source: sources.shared, queue: sharedQueue, organization: undefined },
    }
    const none = { source: undefined, queue: undefined, organization: undefined }
    const wrong = series.filter((s) => {
      const want = processWide.test(s.__name__) ? none : expected[s.instance]
      return s.source !== want?.source || s.queue !== want?.queue || s.organization !== want?.organization
    })
    expect(wrong.map((s) => `${s.__name__} ${s.instance} source=${s.source} queue=${s.queue} organization=${s.organization}`).slice(0, 5)).toEqual([])
    expect(series.filter((s) => processWide.test(s.__name__)).length).toBeGreaterThan(20)
    expect(new Set(series.map((s) => s.instance))).toEqual(new Set(Object.keys(expected)))
  })

  it('exports the error counters at 0 for every stage from the start', async () => {
    const stages = (await prometheus!.api<{ data: string[] }>('label/stage/values', { 'match[]': `cloudtrail_errors_total{instance="${at.demo}"}` })).data
    // Every stage of src/errors.ts; each has its reasons exported at 0 from the start.
    expect(new Set(stages)).toEqual(new Set(ERROR_STAGES))
    const failures = byInstance(await prometheus!.samples('cloudtrail_errors_total{stage="sqs", reason="queue_attributes_failed"}'))
    expect(failures).toEqual({ [at.demo]: 0, [at.shared]: 0, [at.blind]: 0 })
  })

  it('has no queue gauges where the queue is unknown (not 0), and every collector its settings', async () => {
    for (const gauge of queueStatsGauges) {
      expect(Object.keys(byInstance(await prometheus!.samples(gauge))).sort(), gauge).toEqual([at.demo, at.shared].sort())
    }
    expect(await prometheus!.value(`time() - cloudtrail_sqs_queue_stats_timestamp_seconds{instance="${at.shared}"}`)).toBeLessThan(30)
    // Ready: SQS answers and every file sink can be written.
    for (const check of ['cloudtrail_sqs_up', 'cloudtrail_sink_up']) expect(byInstance(await prometheus!.samples(check)), check).toEqual({ [at.demo]: 1, [at.shared]: 1, [at.blind]: 1 })
    expect(byInstance(await prometheus!.samples('cloudtrail_config_pull_threads'))).toEqual({ [at.demo]: 1, [at.shared]: 2, [at.blind]: 1 })
    expect(byInstance(await prometheus!.samples('cloudtrail_config_pull_interval_seconds'))).toEqual({ [at.demo]: 1, [at.shared]: 1, [at.blind]: 2 })
    expect(byInstance(await prometheus!.samples('cloudtrail_config_parse_threads'))).toEqual({ [at.demo]: 3, [at.shared]: 1, [at.blind]: 2 })
    // The setting, 0 included (a known value: polling off), unlike the queue gauges it turns off. The demo
    // sets 5 s, shared --queue-stats-interval 2.
    expect(byInstance(await prometheus!.samples('cloudtrail_config_queue_stats_interval_seconds'))).toEqual({ [at.demo]: 5, [at.shared]: 2, [at.blind]: 0 })
  })

  it('sees the throughput counters moving on both queues', async () => {
    // Per queue: SQS promises no share of the messages to either collector of the shared queue (the one
    // polling every 2 s may get none for a while).
    for (const counter of ['cloudtrail_events_total', 'cloudtrail_sqs_messages_received_total', 'cloudtrail_sqs_messages_deleted_total', 'cloudtrail_s3_bytes_total']) {
      expect(await prometheus!.value(`count(sum by (source) (rate(${counter}[30s])) > 0)`), counter).toBe(2)
    }
    expect(await prometheus!.value('count(sum by (source) (increase(cloudtrail_s3_objects_total{result="processed"}[30s])) > 0)')).toBe(2)
    expect(await prometheus!.value(`rate(cloudtrail_events_total{instance="${at.demo}"}[30s])`)).toBeGreaterThan(0)
  })

  it("draws what the blind collector's rules dropped and redacted", async () => {
    const panel = panels.find((p) => p.title === 'Records dropped, redacted and deduplicated per second')!
    const values = { job: JOB, organization: '.*', source: '.*', instance: regexEscape(at.blind) }
    // Over 2 minutes rather than the 15 s of a 1 s scrape: the blind collector shares the queue and, on a
    // busy runner, may go a while without a message of its own.
    const query = (expr: string) => prometheus!.samples(substitute(expr.replaceAll('$__rate_interval', '2m'), values))
    await waitFor(async () => {
      for (const t of panel.targets!.slice(0, 2)) if ((await query(t.expr)).length === 0) return false
      return true
    }, 'dropped and redacted records on the dashboard', 60_000)
    const rules = (await query(panel.targets![0].expr)).map((s) => s.metric.rule)
    expect(rules).toEqual(['eventName=Describe*|List*'])
  })

  it('uses only metrics the collectors export, in the dashboard and the rules', async () => {
    const names = new Set((await prometheus!.api<{ data: string[] }>('label/__name__/values')).data)
    const known = (name: string) => names.has(name) || names.has(`${name}_bucket`)
    const text = [...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...queryVariables.map(variableQuery), ...ruleExprs].join('\n')
    const used = new Set(text.match(/\b(?:cloudtrail|process|nodejs)_[a-z0-9_]+/g))
    expect(ruleExprs.length).toBeGreaterThan(15)
    expect(used.size).toBeGreaterThan(25)
    for (const name of used) expect(known(name), name).toBe(true)
  })

  it('resolves the template variables', async () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39)
    expect(queryVariables.map((v) => v.name)).toEqual(['job', 'organization', 'source', 'instance'])
    expect(dashboard.templating.list.some((v) => v.type === 'datasource' && v.name === 'DS_PROMETHEUS')).toBe(true)
    /** Each variable's values, the variables before it set to `selected` (Grafana's label_values(selector, label)). */
    const resolve = async (selected: Record<string, string>) => {
      const found: Record<string, string[]> = {}
      for (const v of queryVariables) {
        const m = /^label_values\((.+),\s*(\w+)\)$/.exec(variableQuery(v))
        expect(m, `${v.name}: label_values(selector, label)`).not.toBeNull()
        const selector = substitute(m![1], { job: JOB, organization: '.*', source: '.*', instance: '.*', ...selected })
        const answer = await prometheus!.api<{ status: string; data: string[] }>(`label/${m![2]}/values`, { 'match[]': selector })
        expect(answer.status, v.name).toBe('success')
        found[v.name] = [...answer.data].sort()
      }
      return found
    }
    expect(await resolve({})).toEqual({
      job: [JOB],
      organization: [ORGANIZATION],
      source: [sources.shared, sources.demo].sort(),
      instance: [at.demo, at.shared, at.blind].sort(),
    })
    expect((await resolve({ organization: ORGANIZATION })).source).toEqual([sources.demo])
    expect((await resolve({ source: regexEscape(sources.shared) })).instance).toEqual([at.shared, at.blind].sort())
  })

  it('runs every dashboard query without error; the panels show data, and nothing where it is unknown', async () => {
    const variants: Record<string, Record<string, string>> = {
      // "All" selected: Grafana substitutes the variables' allValue.
      all: Object.fromEntries(queryVariables.map((v) => [v.name, v.allValue ?? '.*'])),
      // The demo: one value of each selected.
      demo: { job: JOB, organization: regexEscape(ORGANIZATION), source: regexEscape(sources.demo), instance: regexEscape(at.demo) },
      // The collector without queue stats, on a queue whose other collector has them: its own queue
      // gauges have no data, the queue's figures come from the other collector.
      blind: { job: JOB, organization: '.*', source: regexEscape(sources.shared), instance: regexEscape(at.blind) },
    }
    expect(panels.length).toBeGreaterThan(20)
    const problems: string[] = []
    let queries = 0
    let unknown = 0
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
          if (result.status !== 'success') {
            problems.push(`${where}: ${result.error}`)
            continue
          }
          const samples = result.data?.result as Sample[]
          if (variant === 'blind' && perCollectorQueueStats.test(target.expr)) {
            unknown++
            if (samples.length > 0) problems.push(`${where}: shows ${JSON.stringify(samples.map((s) => s.value[1]))} for an unknown value`)
          } else if (samples.length === 0 && !quietWhenHealthy.has(panel.title)) problems.push(`${where}: no data`)
        }
      }
    }
    expect(problems).toEqual([])
    expect(queries).toBeGreaterThan(120)
    expect(unknown).toBeGreaterThanOrEqual(5)
  })

  it('adds up the collectors of a queue in the recording rules', async () => {
    const q = `source="${sources.shared}"`
    // Capacity by FortiSIEM's rule: shared 2 x 10 / 1 s + blind 1 x 10 / 2 s; the demo 1 x 10 / 1 s.
    expect(await prometheus!.value(`cloudtrail:capacity_messages_per_second:queue{${q}}`)).toBe(25)
    expect(await prometheus!.value(`cloudtrail:capacity_messages_per_second:queue{source="${sources.demo}", organization="${ORGANIZATION}"}`)).toBe(10)
    // One queue-level series for the two collectors, whichever of them knows the backlog.
    for (const record of [
      'cloudtrail:sqs_messages_received:rate5m',
      'cloudtrail:sqs_messages_deleted:rate5m',
      'cloudtrail:input_rate_messages:queue',
      'cloudtrail:capacity_ratio:queue',
      'cloudtrail:sqs_backlog_messages:avg',
      'cloudtrail:sqs_oldest_message_age_seconds:max',
      'cloudtrail:sqs_message_age_seconds:queue',
    ]) {
      const samples = await prometheus!.samples(`${record}{${q}}`)
      expect(samples.map((s) => s.metric), record).toEqual([{ __name__: record, job: JOB, source: sources.shared, queue: sharedQueue }])
    }
    expect(await prometheus!.value(`cloudtrail:input_rate_messages:queue{${q}}`)).toBeGreaterThan(0)
    // ratio = input / capacity (rules of one group may be caught between two evaluations: retry).
    await waitFor(
      async () => Math.abs((await prometheus!.value(`cloudtrail:capacity_ratio:queue{${q}} - cloudtrail:input_rate_messages:queue{${q}} / 25`)) ?? 1) < 1e-9,
      'the ratio to be input rate / capacity',
      5_000,
    )
    expect(await prometheus!.value(`cloudtrail:input_rate_messages:queue{organization="${ORGANIZATION}"}`)).toBeGreaterThan(0)
  })

  it('shows the age of the oldest message each collector holds, with or without queue stats, and the queue\'s message age from it', async () => {
    // Known everywhere (the acker's own bookkeeping, not GetQueueAttributes): seconds, or 0 when nothing is held.
    const ages = byInstance(await prometheus!.samples('cloudtrail_sqs_oldest_message_age_seconds'))
    expect(Object.keys(ages).sort()).toEqual([at.demo, at.shared, at.blind].sort())
    // Healthy collectors: what they hold was sent moments ago (a generous bound for a loaded runner).
    for (const [instance, age] of Object.entries(ages)) {
      expect(age, instance).toBeGreaterThanOrEqual(0)
      expect(age, instance).toBeLessThan(60)
    }
    // The panel draws one line per selected collector, the blind one included.
    const held = panels.find((p) => p.title.startsWith('Oldest message held'))!
    const all = Object.fromEntries(queryVariables.map((v) => [v.name, v.allValue ?? '.*']))
    const lines = await prometheus!.samples(substitute(held.targets![0].expr, all))
    expect(lines.map((l) => l.metric.instance).sort()).toEqual([at.demo, at.shared, at.blind].sort())
    // The lag alerts' input: the larger of the p95 at receipt and the oldest held, per queue (source).
    const q = `source="${sources.shared}"`
    const age = (await prometheus!.value(`cloudtrail:sqs_message_age_seconds:queue{${q}}`))!
    expect(age).toBeGreaterThanOrEqual((await prometheus!.value(`cloudtrail:sqs_oldest_message_age_seconds:max{${q}}`))! - 5)
    expect(age).toBeLessThan(60)
  })

  it('loads the alert rules without error; nothing fires or is pending, not even for the collector without queue stats', async () => {
    const alerts = alertNames
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
    expect(rules.filter((r) => r.type === 'recording').length).toBeGreaterThanOrEqual(7)
    for (const rule of rules) expect({ name: rule.name, health: rule.health, lastError: rule.lastError || undefined }).toEqual({ name: rule.name, health: 'ok', lastError: undefined })
    // The blind collector has no GetQueueAttributes answer by design (queue_stats_interval = 0):
    // CloudTrailQueueStatsStale leaves it out, so not even a pending alert.
    const expected: string[] = []
    const active = async () =>
      (await prometheus!.api<{ data: { alerts: { labels: Record<string, string>; state: string }[] } }>('alerts')).data.alerts
        .map((a) => `${a.labels.alertname} ${a.state} ${a.labels.instance ?? ''}`.trim())
        .sort()
    // A collector may be caught for a second before its first GetQueueAttributes answer.
    await waitFor(async () => JSON.stringify(await active()) === JSON.stringify(expected), 'no alert, not even pending', 5_000).catch(() => {})
    expect(await active()).toEqual(expected)
  })
})
