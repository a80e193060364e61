// Every metric the collector exports, created once, here. Dashboards and alert rules in deploy/ depend
// on these names. Hot paths only touch counters and histograms bound once; gauges that describe state
// (ring depth, pool utilisation, queue backlog) are filled by collect() callbacks at scrape time.

import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { ERRORS, errorInfo, type ErrorCode } from '../errors.ts'
import { EVENT_LAG_BUCKETS, type LagCounts } from '../../workers/protocol.ts'

export type ObjectResult = 'processed' | 'skipped' | 'failed'

/** State read at scrape time; each source is optional (parse has no queue, for instance). */
export interface MetricSources {
  ring?: () => { used: number; capacity: number }
  poolUtilization?: () => number
  queue?: () => { backlog: number; inflight: number; delayed: number } | null
  inputRate?: () => number | null
  capacityRatio?: () => number | null
  achieved?: () => { messages: number; events: number }
  messagesInFlight?: () => number
  /** Seconds since the oldest message held was sent (its SentTimestamp); 0 when none is held. */
  oldestMessageAge?: () => number
  objectsInFlight?: () => number
  /** Unix seconds of the last successful GetQueueAttributes. */
  queueStatsAt?: () => number | null
  config?: () => { pullInterval: number; pullThreads: number; parseThreads: number; queueStatsInterval: number }
  /** What /readyz checks: the last ReceiveMessage succeeded; the sink reaches its destination. */
  ready?: () => { sqs: boolean; sink: boolean }
  /** CPU milliseconds the parse threads spent on objects. */
  parseCpuMs?: () => number
}

/**
 * A gauge read at scrape time that has no sample at all while its value is unknown (prom-client's own
 * Gauge would report 0, which reads as "empty queue" rather than "don't know").
 */
class StateGauge {
  readonly type = 'gauge'
  readonly aggregator = 'sum'

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number | null | undefined,
  ) {}

  get() {
    const value = this.read()
    const known = value !== null && value !== undefined && !Number.isNaN(value)
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: known ? [{ value, labels: {} }] : [] }
  }

  reset(): void {}
}

/**
 * CPU seconds by thread, read at scrape time: the main thread (receive, fetch, hand-off, sink, delete), the
 * parse threads (what they spent on objects), and the whole process (prom-client's
 * process_cpu_seconds_total has it too): what is left is V8's helper threads (GC, compilation), libuv's
 * threads and the kernel.
 */
class ThreadCpuCounter {
  readonly type = 'counter'
  readonly aggregator = 'sum'
  readonly name = 'cloudtrail_thread_cpu_seconds_total'
  readonly help = 'CPU seconds by thread: main, parse (the parse threads on objects), process (every thread)'

  constructor(private readonly parseCpuMs: () => number | undefined) {}

  get() {
    const main = process.threadCpuUsage()
    const all = process.cpuUsage()
    const values = [
      { value: (main.user + main.system) / 1e6, labels: { thread: 'main' } },
      { value: (all.user + all.system) / 1e6, labels: { thread: 'process' } },
    ]
    const parse = this.parseCpuMs()
    if (parse !== undefined) values.push({ value: parse / 1000, labels: { thread: 'parse' } })
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset(): void {}
}

/**
 * A histogram filled in bulk: the parse workers count each object's records per bucket, and the main
 * thread adds the counts (one call per object instead of one observe() per record). prom-client renders
 * it like its own histograms.
 */
export class BulkHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly counts: number[]
  private sum = 0
  private count = 0

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {
    this.counts = new Array<number>(buckets.length + 1).fill(0)
  }

  add(lag: LagCounts): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += lag.counts[i] ?? 0
    this.sum += lag.sum
    this.count += lag.count
  }

  get() {
    let cumulative = 0
    const values = this.buckets.map((le, i) => {
      cumulative += this.counts[i]
      return { metricName: `${this.name}_bucket`, labels: { le }, value: cumulative }
    })
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' as unknown as number }, value: cumulative + this.counts[this.buckets.length] })
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...values, { metricName: `${this.name}_sum`, labels: {}, value: this.sum }, { metricName: `${this.name}_count`, labels: {}, value: this.count }],
    }
  }

  reset(): void {
    this.counts.fill(0)
    this.sum = 0
    this.count = 0
  }
}

export class Metrics {
  readonly registry = new Registry()
  readonly received: Counter
  readonly deleted: Counter
  readonly testEvents: Counter
  readonly messageLag: Histogram
  readonly eventLag: BulkHistogram
  readonly objects: Counter<'result'>
  readonly s3Bytes: Counter
  readonly s3RegionRedirects: Counter
  readonly events: Counter
  readonly errors: Counter<'stage' | 'reason'>
  readonly parseSeconds: Histogram
  readonly visibilityExtensions: Counter
  private sources: MetricSources = {}
  /** Plain running totals, for rates and the status line (reading a prom-client counter is async). */
  readonly totals = { received: 0, deleted: 0, events: 0, errors: 0 }
  /** The message lag of the latest receipt, seconds. */
  lastMessageLag: number | null = null

  constructor(labels: Record<string, string> = {}, processMetrics = true) {
    const registers = [this.registry]
    this.registry.setDefaultLabels(labels)
    this.received = new Counter({ name: 'cloudtrail_sqs_messages_received_total', help: 'SQS messages received', registers })
    this.deleted = new Counter({ name: 'cloudtrail_sqs_messages_deleted_total', help: 'SQS messages deleted after every record was confirmed', registers })
    this.testEvents = new Counter({ name: 'cloudtrail_sqs_test_events_total', help: 's3:TestEvent messages (deleted, never retried)', registers })
    this.messageLag = new Histogram({
      name: 'cloudtrail_sqs_message_lag_seconds',
      help: "From a message's SentTimestamp to its receipt",
      buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14400, 86400],
      registers,
    })
    this.eventLag = new BulkHistogram('cloudtrail_event_lag_seconds', "From a record's eventTime to its write", EVENT_LAG_BUCKETS)
    this.registry.registerMetric(this.eventLag as never)
    this.objects = new Counter({ name: 'cloudtrail_s3_objects_total', help: 'S3 objects by result', labelNames: ['result'], registers })
    this.s3Bytes = new Counter({ name: 'cloudtrail_s3_bytes_total', help: 'Compressed bytes fetched from S3', registers })
    this.s3RegionRedirects = new Counter({
      name: 'cloudtrail_s3_region_redirects_total',
      help: "S3 redirects to a bucket's region, followed (one per bucket not in region nor in bucket_region)",
      registers,
    })
    this.events = new Counter({ name: 'cloudtrail_events_total', help: 'CloudTrail records written to the sink', registers })
    this.errors = new Counter({ name: 'cloudtrail_errors_total', help: 'Errors by stage and reason', labelNames: ['stage', 'reason'], registers })
    this.parseSeconds = new Histogram({
      name: 'cloudtrail_parse_seconds',
      help: 'Time to fetch, parse and write one object',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    })
    this.visibilityExtensions = new Counter({
      name: 'cloudtrail_sqs_visibility_extensions_total',
      help: 'ChangeMessageVisibility extensions of messages still in flight',
      registers,
    })
    for (const result of ['processed', 'skipped', 'failed'] as const) this.objects.labels(result).inc(0)

    // Every stage and reason of src/errors.ts, at 0 from the start so that rates exist.
    for (const { stage, reason } of ERRORS) if (stage !== null) this.errors.labels(stage, reason).inc(0)

    const sources = () => this.sources
    const gauge = (name: string, help: string, read: () => number | null | undefined) =>
      this.registry.registerMetric(new StateGauge(name, help, read) as never)
    gauge('cloudtrail_ring_buffer_used', 'Messages waiting in the ring buffer', () => sources().ring?.().used)
    gauge('cloudtrail_ring_buffer_capacity', 'Capacity of the ring buffer', () => sources().ring?.().capacity)
    gauge('cloudtrail_parse_pool_utilization', 'Share of parse-thread time spent parsing (0-1)', () => sources().poolUtilization?.())
    gauge('cloudtrail_sqs_backlog_messages', 'ApproximateNumberOfMessages of the queue', () => sources().queue?.()?.backlog)
    gauge('cloudtrail_sqs_inflight_messages', 'ApproximateNumberOfMessagesNotVisible of the queue', () => sources().queue?.()?.inflight)
    gauge('cloudtrail_sqs_delayed_messages', 'ApproximateNumberOfMessagesDelayed of the queue', () => sources().queue?.()?.delayed)
    gauge('cloudtrail_sqs_queue_messages', 'Every message in the queue: visible, in flight and delayed (what only deletion or expiry lowers)', () => {
      const q = sources().queue?.()
      return q && q.backlog + q.inflight + q.delayed
    })
    gauge(
      'cloudtrail_input_rate_messages',
      "Estimated messages per second arriving in the queue: its growth plus this collector's deletes",
      () => sources().inputRate?.(),
    )
    gauge(
      'cloudtrail_capacity_ratio',
      "input rate x cloudtrail_msg_pull_interval / (cloudtrail_msg_pull_thread_num x 10): FortiSIEM's sizing rule (not a limit here: the pull interval applies only after an empty receive)",
      () => sources().capacityRatio?.(),
    )
    gauge('cloudtrail_achieved_max_message_rate', 'Highest rate of messages deleted this collector sustained over a minute', () => sources().achieved?.().messages)
    gauge('cloudtrail_achieved_max_event_rate', 'Highest event rate this collector sustained over a minute', () => sources().achieved?.().events)
    gauge('cloudtrail_messages_in_flight', 'Messages received and not yet deleted or released by this collector', () => sources().messagesInFlight?.())
    gauge(
      'cloudtrail_sqs_oldest_message_age_seconds',
      "Seconds since the oldest message this collector holds was sent (SentTimestamp); 0 when it holds none",
      () => sources().oldestMessageAge?.(),
    )
    gauge('cloudtrail_objects_in_flight', 'Objects being fetched, parsed or written', () => sources().objectsInFlight?.())
    gauge('cloudtrail_sqs_queue_stats_timestamp_seconds', 'When GetQueueAttributes last answered (unix seconds)', () => sources().queueStatsAt?.())
    const up = (ok: boolean | undefined) => (ok === undefined ? undefined : ok ? 1 : 0)
    gauge('cloudtrail_sqs_up', 'The last ReceiveMessage succeeded (1) or failed (0): the sqs check of /readyz', () => up(sources().ready?.().sqs))
    gauge('cloudtrail_sink_up', 'The sink reaches its destination (1) or not (0): the sink check of /readyz', () => up(sources().ready?.().sink))
    gauge('cloudtrail_config_pull_interval_seconds', 'cloudtrail_msg_pull_interval', () => sources().config?.().pullInterval)
    gauge('cloudtrail_config_pull_threads', 'cloudtrail_msg_pull_thread_num', () => sources().config?.().pullThreads)
    gauge('cloudtrail_config_parse_threads', 'cloudtrail_file_parse_thread_num', () => sources().config?.().parseThreads)
    gauge('cloudtrail_config_queue_stats_interval_seconds', 'queue_stats_interval (0: the queue gauges are off)', () => sources().config?.().queueStatsInterval)
    this.registry.registerMetric(new ThreadCpuCounter(() => sources().parseCpuMs?.()) as never)
    if (processMetrics) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 })
  }

  /** Registers the callbacks that fill state gauges at scrape time. */
  setSources(sources: MetricSources): void {
    this.sources = { ...this.sources, ...sources }
  }

  countReceived(sentTimestampMs: number, now: number): void {
    this.received.inc()
    this.totals.received++
    if (sentTimestampMs > 0) {
      const lag = Math.max(0, now - sentTimestampMs) / 1000
      this.messageLag.observe(lag)
      this.lastMessageLag = lag
    }
  }

  countDeleted(): void {
    this.deleted.inc()
    this.totals.deleted++
  }

  countEvents(records: number): void {
    this.events.inc(records)
    this.totals.events += records
  }

  /** Children bound once per label set (prom-client's labels() looks the set up on every call). */
  private readonly errorChildren = new Map<ErrorCode, ReturnType<Counter['labels']>>()
  private readonly objectChildren = new Map<ObjectResult, ReturnType<Counter['labels']>>()

  countObject(result: ObjectResult): void {
    let child = this.objectChildren.get(result)
    if (!child) this.objectChildren.set(result, (child = this.objects.labels(result)))
    child.inc()
  }

  /**
   * Counts `n` of an error or skip under its stage and reason in src/errors.ts. The start-up codes (no
   * stage: ERR_CONFIG, ERR_SQS) stop the collector before there is anything to count; they count nothing.
   */
  error(code: ErrorCode, n = 1): void {
    let child = this.errorChildren.get(code)
    if (!child) {
      const { stage, reason } = errorInfo(code)
      if (stage === null) return
      this.errorChildren.set(code, (child = this.errors.labels(stage, reason)))
    }
    child.inc(n)
    this.totals.errors += n
  }
}
