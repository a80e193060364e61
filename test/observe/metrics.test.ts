// The metrics registry as Prometheus reads it (the text exposition): the labels on every series (each
// source's, none on the process's), the
// error reasons exported at 0 before the first one happens (so that rate() and alerts have a series),
// what the counting methods add, the state gauges that have no sample while their value is unknown, the
// bulk-filled event-lag histogram, and CPU by thread.

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { errorInfo, isErrorCode, type ErrorStage } from '../../src/errors.ts'
import { Metrics, type SourceMetrics } from '../../src/observe/metrics.ts'
import { sourceMetrics } from '../helpers/metrics.ts'
import { EVENT_LAG_BUCKETS } from '../../workers/protocol.ts'
import { repoRoot } from '../helpers/fixtures.ts'

/** Every sample of the exposition: name, labels and value. */
async function samples(metrics: Pick<Metrics, 'registry'>): Promise<{ name: string; labels: Record<string, string>; value: number }[]> {
  const text = await metrics.registry.metrics()
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
      if (!m) throw new Error(`not a sample line: ${line}`)
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]))
      return { name: m[1], labels, value: Number(m[3]) }
    })
}

const errorSeries = async (metrics: SourceMetrics) => (await samples(metrics)).filter((s) => s.name === 'cloudtrail_errors_total')

/**
 * The stage under which the collector counts each error code of src/errors.ts, by the code's prefix; null
 * for the codes that end the run instead of being counted (a setting, the queue or the state_dir at start-up).
 */
function stageOf(code: string): ErrorStage | null {
  if (code === 'ERR_CONFIG' || code === 'ERR_SQS' || code === 'ERR_STATE') return null
  if (/^ERR_(NOTIFICATION|BUCKET|KEY)_/.test(code)) return 'notification'
  if (code.startsWith('ERR_S3_')) return 's3'
  if (/^ERR_(OBJECT_|WORKER|SHUTDOWN)/.test(code)) return 'object'
  if (code.startsWith('ERR_RECORD_')) return 'record'
  if (code.startsWith('ERR_SINK')) return 'sink'
  if (code.startsWith('ERR_SQS_')) return 'sqs'
  if (code.startsWith('ERR_STS_')) return 'credentials'
  throw new Error(`no stage for ${code}: say here where the collector counts it`)
}

describe('Metrics', () => {
  it("puts each source's labels (source, organization, queue) on its series, and none on the process's", async () => {
    const metrics = new Metrics(false)
    // Two queues of the same name in two accounts stay apart by `source`.
    const a = metrics.forSource({ source: '111122223333/ct', organization: 'acme', queue: 'ct' })
    const b = metrics.forSource({ source: '444455556666/ct', organization: '', queue: 'ct' })
    a.setStates({ ring: () => ({ used: 1, capacity: 8 }) })
    b.setStates({ ring: () => ({ used: 2, capacity: 8 }) })
    metrics.setStates({ poolUtilization: () => 0.5, sinkReady: () => true, parseThreads: () => 3 })
    a.countReceived(Date.now() - 2000, Date.now())
    b.countEvents(7)
    const all = await samples(metrics)
    expect(all.length).toBeGreaterThan(100)
    const processWide = new Set(['cloudtrail_parse_pool_utilization', 'cloudtrail_sink_up', 'cloudtrail_config_parse_threads', 'cloudtrail_thread_cpu_seconds_total'])
    for (const s of all) {
      if (processWide.has(s.name)) expect(s.labels.source, s.name).toBeUndefined()
      else expect(['111122223333/ct', '444455556666/ct'], s.name).toContain(s.labels.source)
    }
    const of = (name: string, source: string) => all.find((s) => s.name === name && s.labels.source === source)
    expect(of('cloudtrail_sqs_messages_received_total', '111122223333/ct')).toMatchObject({ value: 1, labels: { organization: 'acme', queue: 'ct' } })
    expect(of('cloudtrail_sqs_messages_received_total', '444455556666/ct')?.value).toBe(0)
    expect(of('cloudtrail_events_total', '444455556666/ct')?.value).toBe(7)
    expect(of('cloudtrail_ring_buffer_used', '444455556666/ct')?.value).toBe(2)
    expect(metrics.totals).toMatchObject({ received: 1, events: 7 })
    expect([a.totals.events, b.totals.received]).toEqual([0, 0])
  })

  it('counts records dropped and redacted by rule, with the source labels, one series per rule', async () => {
    const metrics = new Metrics(false)
    const a = metrics.forSource({ source: '111122223333/ct', organization: 'acme', queue: 'ct' })
    const b = metrics.forSource({ source: '444455556666/ct', organization: '', queue: 'ct' })
    a.countRules({ 'eventName=Describe*|List*': 90, keep: 3 }, { 'responseElements/credentials/*': 2 })
    a.countRules({ 'eventName=Describe*|List*': 10 }, {})
    b.countRules({}, { requestParameters: 5 })
    const all = await samples(metrics)
    const of = (name: string, source: string, rule: string) => all.find((s) => s.name === name && s.labels.source === source && s.labels.rule === rule)
    expect(of('cloudtrail_records_dropped_total', '111122223333/ct', 'eventName=Describe*|List*')).toMatchObject({ value: 100, labels: { organization: 'acme', queue: 'ct' } })
    expect(of('cloudtrail_records_dropped_total', '111122223333/ct', 'keep')?.value).toBe(3)
    expect(of('cloudtrail_records_redacted_total', '111122223333/ct', 'responseElements/credentials/*')?.value).toBe(2)
    expect(of('cloudtrail_records_redacted_total', '444455556666/ct', 'requestParameters')?.value).toBe(5)
    expect(all.filter((s) => s.name === 'cloudtrail_records_dropped_total' && s.labels.source === '444455556666/ct')).toEqual([])
    // Dropped records are not written: the events counter does not move.
    expect(metrics.totals.events).toBe(0)
  })

  it("exports every stage's error reasons at 0 from the start, among them the reason of each error code the pipeline counts", async () => {
    const metrics = sourceMetrics()
    const series = await errorSeries(metrics)
    expect(series.every((s) => s.value === 0)).toBe(true)
    expect(new Set(series.map((s) => s.labels.stage))).toEqual(new Set(['notification', 's3', 'object', 'record', 'sqs', 'sink', 'credentials']))
    const exported = new Set(series.map((s) => `${s.labels.stage}/${s.labels.reason}`))
    // The codes as src/errors.ts spells them, each checked against its table.
    const codes = [...new Set(readFileSync(join(repoRoot, 'src', 'errors.ts'), 'utf8').match(/\bERR_[A-Z0-9_]+/g))].filter(isErrorCode)
    expect(codes.length).toBeGreaterThan(20)
    for (const code of codes) {
      const stage = stageOf(code)
      expect(errorInfo(code).stage, code).toBe(stage)
      if (stage) expect(exported, code).toContain(`${stage}/${errorInfo(code).reason}`)
    }
    // And what records are skipped for, and the replaced UTF-8.
    for (const reason of ['non_object', 'record_too_large', 'record_too_deep', 'record_not_json', 'invalid_utf8']) expect(exported).toContain(`record/${reason}`)
    // The objects' results too.
    const objects = (await samples(metrics)).filter((s) => s.name === 'cloudtrail_s3_objects_total')
    expect(objects.map((s) => [s.labels.result, s.value])).toEqual([['processed', 0], ['skipped', 0], ['failed', 0]])
    // And the histograms: a rate() over a source that has seen nothing yet is 0, not "no data".
    for (const name of ['cloudtrail_sqs_message_lag_seconds_count', 'cloudtrail_parse_seconds_count', 'cloudtrail_event_lag_seconds_count']) {
      expect((await samples(metrics)).filter((s) => s.name === name).map((s) => s.value), name).toEqual([0])
    }
  })

  it('counts errors, objects, receipts, deletes and events in the exposition and in the running totals', async () => {
    const metrics = sourceMetrics()
    metrics.error('ERR_S3_TRANSIENT')
    metrics.error('ERR_S3_TRANSIENT', 2)
    metrics.error('ERR_RECORD_TOO_DEEP', 5)
    metrics.countObject('processed')
    metrics.countObject('failed')
    metrics.countObject('failed')
    const now = Date.now()
    metrics.countReceived(now - 3000, now)
    metrics.countReceived(0, now) // no SentTimestamp: no lag
    metrics.countDeleted()
    metrics.countEvents(40)
    metrics.countEvents(2)
    const all = await samples(metrics)
    const value = (name: string, labels: Record<string, string> = {}) =>
      all.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
    expect(value('cloudtrail_errors_total', { stage: 's3', reason: 's3_transient' })).toBe(3)
    expect(value('cloudtrail_errors_total', { stage: 'record', reason: 'record_too_deep' })).toBe(5)
    expect(value('cloudtrail_errors_total', { stage: 'sink', reason: 'sink_rejected' })).toBe(0)
    expect(value('cloudtrail_s3_objects_total', { result: 'processed' })).toBe(1)
    expect(value('cloudtrail_s3_objects_total', { result: 'failed' })).toBe(2)
    expect(value('cloudtrail_sqs_messages_received_total')).toBe(2)
    expect(value('cloudtrail_sqs_message_lag_seconds_count')).toBe(1)
    expect(value('cloudtrail_sqs_message_lag_seconds_sum')).toBeCloseTo(3, 3)
    expect(value('cloudtrail_sqs_message_lag_seconds_bucket', { le: '1' })).toBe(0)
    expect(value('cloudtrail_sqs_message_lag_seconds_bucket', { le: '5' })).toBe(1)
    expect(value('cloudtrail_sqs_messages_deleted_total')).toBe(1)
    expect(value('cloudtrail_events_total')).toBe(42)
    expect(metrics.totals).toEqual({ received: 2, deleted: 1, events: 42, errors: 8 })
    expect(metrics.root.totals).toEqual(metrics.totals)
    expect(metrics.lastMessageLag).toBeCloseTo(3, 3)
  })

  it('leaves a state gauge without a sample while its value is unknown, and reads it at scrape time once known', async () => {
    const metrics = sourceMetrics()
    const names = async () => new Set((await samples(metrics)).map((s) => s.name))
    for (const name of ['cloudtrail_sqs_backlog_messages', 'cloudtrail_sqs_queue_messages', 'cloudtrail_input_rate_messages', 'cloudtrail_ring_buffer_used', 'cloudtrail_sqs_up']) {
      expect(await names()).not.toContain(name)
    }
    let queue: { backlog: number; inflight: number; delayed: number } | null = null
    let rate: number | null = Number.NaN
    metrics.setStates({ queue: () => queue, inputRate: () => rate, ring: () => ({ used: 3, capacity: 8 }), sqsReady: () => true })
    metrics.root.setStates({ sinkReady: () => false })
    expect(await names()).not.toContain('cloudtrail_sqs_backlog_messages') // a source that does not know yet
    expect(await names()).not.toContain('cloudtrail_input_rate_messages') // NaN is not a value
    queue = { backlog: 5, inflight: 2, delayed: 1 }
    rate = 0
    const all = await samples(metrics)
    const value = (name: string) => all.find((s) => s.name === name)?.value
    expect(value('cloudtrail_sqs_backlog_messages')).toBe(5)
    expect(value('cloudtrail_sqs_queue_messages')).toBe(8)
    expect(value('cloudtrail_input_rate_messages')).toBe(0) // 0 is known: an idle queue
    expect(value('cloudtrail_ring_buffer_used')).toBe(3)
    expect(value('cloudtrail_ring_buffer_capacity')).toBe(8)
    expect(value('cloudtrail_sqs_up')).toBe(1)
    expect(value('cloudtrail_sink_up')).toBe(0)
  })

  it('renders the event-lag histogram filled in bulk as cumulative buckets, and forgets it on reset', async () => {
    const metrics = sourceMetrics()
    const counts = new Array<number>(EVENT_LAG_BUCKETS.length + 1).fill(0)
    counts[0] = 4 // <= 60 s
    counts[2] = 3 // (120, 300]
    counts[EVENT_LAG_BUCKETS.length] = 1 // beyond the last bound
    metrics.eventLag.add({ counts, sum: 100_000, count: 8 })
    metrics.eventLag.add({ counts: [1], sum: 10, count: 1 })
    const lag = (await samples(metrics)).filter((s) => s.name.startsWith('cloudtrail_event_lag_seconds'))
    const bucket = (le: string) => lag.find((s) => s.name === 'cloudtrail_event_lag_seconds_bucket' && s.labels.le === le)?.value
    expect(bucket('60')).toBe(5)
    expect(bucket('120')).toBe(5)
    expect(bucket('300')).toBe(8)
    expect(bucket(String(EVENT_LAG_BUCKETS.at(-1)))).toBe(8)
    expect(bucket('+Inf')).toBe(9)
    expect(lag.find((s) => s.name === 'cloudtrail_event_lag_seconds_sum')?.value).toBe(100_010)
    expect(lag.find((s) => s.name === 'cloudtrail_event_lag_seconds_count')?.value).toBe(9)
    metrics.root.eventLag.reset()
    expect((await samples(metrics)).find((s) => s.name === 'cloudtrail_event_lag_seconds_count')?.value).toBe(0)
  })

  it("reports CPU by thread: main and process always, parse once the pool says, and the process metrics only when asked", async () => {
    const bare = new Metrics(false)
    const threads = async (m: Metrics) => (await samples(m)).filter((s) => s.name === 'cloudtrail_thread_cpu_seconds_total')
    let cpu = await threads(bare)
    expect(cpu.map((s) => s.labels.thread)).toEqual(['main', 'process'])
    const [main, all] = cpu.map((s) => s.value)
    expect(main).toBeGreaterThan(0)
    expect(all).toBeGreaterThanOrEqual(main)
    bare.setStates({ parseCpuMs: () => 1500 })
    cpu = await threads(bare)
    expect(cpu.find((s) => s.labels.thread === 'parse')?.value).toBe(1.5)
    expect((await samples(bare)).some((s) => s.name.startsWith('process_') || s.name.startsWith('nodejs_'))).toBe(false)
    const full = new Metrics(true)
    const names = new Set((await samples(full)).map((s) => s.name))
    expect(names).toContain('process_cpu_seconds_total')
    expect(names).toContain('nodejs_eventloop_lag_seconds')
  })
})
