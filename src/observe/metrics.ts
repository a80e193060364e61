// Every metric the collector exports, created once, here. Dashboards and alert rules in deploy/ depend
// on these names. Hot paths only touch counters and histograms bound once; gauges that describe state
// (ring depth, pool utilisation, queue backlog) are filled by collect() callbacks at scrape time.

import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { ERRORS, type ErrorCode } from '../errors.ts'
import { EVENT_LAG_BUCKETS, type LagCounts } from '../../workers/protocol.ts'

export type ObjectResult = 'processed' | 'skipped' | 'failed'

/**
 * The labels of every metric about one source (its queue and what it reads): its name, unique in the
 * process and across accounts; its organization (tenant; empty, which Prometheus reads as no label, when
 * unset); its queue's name. Metrics of the whole process (the parse pool, the sink, CPU) carry none.
 */
export interface SourceLabels {
  source: string
  organization: string
  queue: string
}
const SOURCE_LABELS = ['source', 'organization', 'queue'] as const

/** One source's state, read at scrape time; each is optional. */
export interface SourceStates {
  ring?: () => { used: number; capacity: number }
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
  config?: () => { pullInterval: number; pullThreads: number; queueStatsInterval: number }
  /** What /readyz checks of the source: its last ReceiveMessage succeeded. */
  sqsReady?: () => boolean
}

/** The whole process's state, read at scrape time. */
export interface ProcessStates {
  poolUtilization?: () => number
  /** The sink reaches its destination (/readyz). */
  sinkReady?: () => boolean
  parseThreads?: () => number
  /** CPU milliseconds the parse threads spent on objects. */
  parseCpuMs?: () => number
}

type Sample = { value: number; labels: Record<string, string> }

/** A known value as a sample with these labels; nothing while it is unknown. */
function known(value: number | null | undefined, labels: Record<string, string>): Sample[] {
  return value !== null && value !== undefined && !Number.isNaN(value) ? [{ value, labels }] : []
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
    private readonly read: () => Sample[],
  ) {}

  get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.read() }
  }

  reset(): void {}
}

/**
 * CPU seconds by thread, read at scrape time: the main thread (receive, fetch, hand-off, sink, delete), the
 * parse threads (each thread's clock since its first object: ParsePool.cpuMs), and the whole process (prom-client's
 * process_cpu_seconds_total has it too): what is left is V8's helper threads (GC, compilation), libuv's
 * threads and the kernel.
 */
class ThreadCpuCounter {
  readonly type = 'counter'
  readonly aggregator = 'sum'
  readonly name = 'cloudtrail_thread_cpu_seconds_total'
  readonly help = 'CPU seconds by thread: main, parse (the parse threads since their first object), process (every thread)'

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
 * thread adds the counts (one call per object instead of one observe() per record), per source. prom-client
 * renders it like its own histograms.
 */
export class BulkHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly children: BulkHistogramChild[] = []

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {}

  /** The histogram of one label set. */
  child(labels: Record<string, string>): BulkHistogramChild {
    const child = new BulkHistogramChild(labels, this.buckets.length + 1)
    this.children.push(child)
    return child
  }

  get() {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = []
    for (const c of this.children) {
      let cumulative = 0
      this.buckets.forEach((le, i) => {
        cumulative += c.counts[i]
        values.push({ metricName: `${this.name}_bucket`, labels: { ...c.labels, le }, value: cumulative })
      })
      values.push({ metricName: `${this.name}_bucket`, labels: { ...c.labels, le: '+Inf' }, value: cumulative + c.counts[this.buckets.length] })
      values.push({ metricName: `${this.name}_sum`, labels: c.labels, value: c.sum }, { metricName: `${this.name}_count`, labels: c.labels, value: c.count })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset(): void {
    for (const c of this.children) c.reset()
  }
}

export class BulkHistogramChild {
  readonly counts: number[]
  sum = 0
  count = 0

  constructor(
    readonly labels: Record<string, string>,
    buckets: number,
  ) {
    this.counts = new Array<number>(buckets).fill(0)
  }

  add(lag: LagCounts): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += lag.counts[i] ?? 0
    this.sum += lag.sum
    this.count += lag.count
  }

  reset(): void {
    this.counts.fill(0)
    this.sum = 0
    this.count = 0
  }
}

/** Running totals, for rates and the status line (reading a prom-client counter is async). */
export interface Totals {
  received: number
  deleted: number
  events: number
  errors: number
}

type Child = { inc(n?: number): void }

/**
 * Every metric the process exports, in one registry. Counting is done through a SourceMetrics, one per
 * source (forSource): its children are bound once to that source's labels.
 */
export class Metrics {
  readonly registry = new Registry()
  readonly received: Counter<keyof SourceLabels>
  readonly deleted: Counter<keyof SourceLabels>
  readonly testEvents: Counter<keyof SourceLabels>
  readonly messageLag: Histogram<keyof SourceLabels>
  readonly eventLag: BulkHistogram
  readonly objects: Counter<keyof SourceLabels | 'result'>
  readonly s3Bytes: Counter<keyof SourceLabels>
  readonly s3RegionRedirects: Counter<keyof SourceLabels>
  readonly events: Counter<keyof SourceLabels>
  readonly errors: Counter<keyof SourceLabels | 'stage' | 'reason'>
  readonly recordsDropped: Counter<keyof SourceLabels | 'rule'>
  readonly recordsRedacted: Counter<keyof SourceLabels | 'rule'>
  readonly parseSeconds: Histogram<keyof SourceLabels>
  readonly visibilityExtensions: Counter<keyof SourceLabels>
  readonly deduplicated: Counter<keyof SourceLabels>
  /** Every source's, summed. */
  readonly totals: Totals = { received: 0, deleted: 0, events: 0, errors: 0 }
  /** The message lag of the latest receipt of any source, seconds. */
  lastMessageLag: number | null = null
  private readonly views: SourceMetrics[] = []
  private states: ProcessStates = {}

  constructor(processMetrics = true) {
    const registers = [this.registry]
    const labelNames = SOURCE_LABELS
    this.received = new Counter({ name: 'cloudtrail_sqs_messages_received_total', help: 'SQS messages received', labelNames, registers })
    this.deleted = new Counter({ name: 'cloudtrail_sqs_messages_deleted_total', help: 'SQS messages deleted after every record was confirmed', labelNames, registers })
    this.testEvents = new Counter({ name: 'cloudtrail_sqs_test_events_total', help: 's3:TestEvent messages (deleted, never retried)', labelNames, registers })
    this.messageLag = new Histogram({
      name: 'cloudtrail_sqs_message_lag_seconds',
      help: "From a message's SentTimestamp to its receipt",
      buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14400, 86400],
      labelNames,
      registers,
    })
    this.eventLag = new BulkHistogram('cloudtrail_event_lag_seconds', "From a record's eventTime to its write", EVENT_LAG_BUCKETS)
    this.registry.registerMetric(this.eventLag as never)
    this.objects = new Counter({ name: 'cloudtrail_s3_objects_total', help: 'S3 objects by result', labelNames: [...labelNames, 'result'], registers })
    this.s3Bytes = new Counter({ name: 'cloudtrail_s3_bytes_total', help: 'Compressed bytes fetched from S3', labelNames, registers })
    this.s3RegionRedirects = new Counter({
      name: 'cloudtrail_s3_region_redirects_total',
      help: "S3 redirects to a bucket's region, followed (one per bucket not in region nor in bucket_region)",
      labelNames,
      registers,
    })
    this.events = new Counter({ name: 'cloudtrail_events_total', help: 'CloudTrail records written to the sink', labelNames, registers })
    this.recordsDropped = new Counter({ name: 'cloudtrail_records_dropped_total', help: 'Records dropped by a drop rule, or by no keep rule (rule="keep"), before they were formatted', labelNames: [...labelNames, 'rule'], registers })
    this.recordsRedacted = new Counter({ name: 'cloudtrail_records_redacted_total', help: 'Records written with values replaced by a redact rule', labelNames: [...labelNames, 'rule'], registers })
    this.errors = new Counter({ name: 'cloudtrail_errors_total', help: 'Errors by stage and reason', labelNames: [...labelNames, 'stage', 'reason'], registers })
    this.parseSeconds = new Histogram({
      name: 'cloudtrail_parse_seconds',
      help: 'Time to fetch, parse and write one object',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      labelNames,
      registers,
    })
    this.visibilityExtensions = new Counter({
      name: 'cloudtrail_sqs_visibility_extensions_total',
      help: 'ChangeMessageVisibility extensions of messages still in flight',
      labelNames,
      registers,
    })

    this.deduplicated = new Counter({
      name: 'cloudtrail_records_deduplicated_total',
      help: 'Records dropped as a repeat of an eventID seen in another object (dedup_window)',
      labelNames,
      registers,
    })

    // A gauge of each source's state, and one of the whole process's.
    const perSource = (name: string, help: string, read: (s: SourceStates) => number | null | undefined) =>
      this.registry.registerMetric(new StateGauge(name, help, () => this.views.flatMap((v) => known(read(v.states), v.labelValues))) as never)
    const whole = (name: string, help: string, read: (s: ProcessStates) => number | null | undefined) =>
      this.registry.registerMetric(new StateGauge(name, help, () => known(read(this.states), {})) as never)
    const up = (ok: boolean | undefined) => (ok === undefined ? undefined : ok ? 1 : 0)
    perSource('cloudtrail_ring_buffer_used', 'Messages waiting in the ring buffer', (s) => s.ring?.().used)
    perSource('cloudtrail_ring_buffer_capacity', 'Capacity of the ring buffer', (s) => s.ring?.().capacity)
    whole('cloudtrail_parse_pool_utilization', 'Share of parse-thread time spent parsing (0-1)', (s) => s.poolUtilization?.())
    perSource('cloudtrail_sqs_backlog_messages', 'ApproximateNumberOfMessages of the queue', (s) => s.queue?.()?.backlog)
    perSource('cloudtrail_sqs_inflight_messages', 'ApproximateNumberOfMessagesNotVisible of the queue', (s) => s.queue?.()?.inflight)
    perSource('cloudtrail_sqs_delayed_messages', 'ApproximateNumberOfMessagesDelayed of the queue', (s) => s.queue?.()?.delayed)
    perSource('cloudtrail_sqs_queue_messages', 'Every message in the queue: visible, in flight and delayed (what only deletion or expiry lowers)', (s) => {
      const q = s.queue?.()
      return q && q.backlog + q.inflight + q.delayed
    })
    perSource('cloudtrail_input_rate_messages', "Estimated messages per second arriving in the queue: its growth plus this collector's deletes", (s) => s.inputRate?.())
    perSource(
      'cloudtrail_capacity_ratio',
      "input rate x cloudtrail_msg_pull_interval / (cloudtrail_msg_pull_thread_num x 10): FortiSIEM's sizing rule (not a limit here: the pull interval applies only after an empty receive)",
      (s) => s.capacityRatio?.(),
    )
    perSource('cloudtrail_achieved_max_message_rate', 'Highest rate of messages deleted this collector sustained over a minute', (s) => s.achieved?.().messages)
    perSource('cloudtrail_achieved_max_event_rate', 'Highest event rate this collector sustained over a minute', (s) => s.achieved?.().events)
    perSource('cloudtrail_messages_in_flight', 'Messages received and not yet deleted or released by this collector', (s) => s.messagesInFlight?.())
    perSource(
      'cloudtrail_sqs_oldest_message_age_seconds',
      'Seconds since the oldest message this collector holds was sent (SentTimestamp); 0 when it holds none',
      (s) => s.oldestMessageAge?.(),
    )
    perSource('cloudtrail_objects_in_flight', 'Objects being fetched, parsed or written', (s) => s.objectsInFlight?.())
    perSource('cloudtrail_sqs_queue_stats_timestamp_seconds', 'When GetQueueAttributes last answered (unix seconds)', (s) => s.queueStatsAt?.())
    perSource('cloudtrail_sqs_up', 'The last ReceiveMessage succeeded (1) or failed (0): the sqs check of /readyz', (s) => up(s.sqsReady?.()))
    whole('cloudtrail_sink_up', 'The sink reaches its destination (1) or not (0): the sink check of /readyz', (s) => up(s.sinkReady?.()))
    perSource('cloudtrail_config_pull_interval_seconds', 'cloudtrail_msg_pull_interval', (s) => s.config?.().pullInterval)
    perSource('cloudtrail_config_pull_threads', 'cloudtrail_msg_pull_thread_num', (s) => s.config?.().pullThreads)
    whole('cloudtrail_config_parse_threads', 'cloudtrail_file_parse_thread_num', (s) => s.parseThreads?.())
    perSource('cloudtrail_config_queue_stats_interval_seconds', 'queue_stats_interval (0: the queue gauges are off)', (s) => s.config?.().queueStatsInterval)
    this.registry.registerMetric(new ThreadCpuCounter(() => this.states.parseCpuMs?.()) as never)
    if (processMetrics) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 })
  }

  /** Registers the callbacks that fill the process's gauges at scrape time. */
  setStates(states: ProcessStates): void {
    this.states = { ...this.states, ...states }
  }

  /** A source that stopped (a reload removed it): its gauges go; its counters keep their totals. */
  removeSource(view: SourceMetrics): void {
    const i = this.views.indexOf(view)
    if (i >= 0) this.views.splice(i, 1)
  }

  /** The metrics of one source: its series exist from now on (errors and results at 0, so that rates exist). */
  forSource(labels: SourceLabels): SourceMetrics {
    const view = new SourceMetrics(this, labels)
    this.views.push(view)
    return view
  }
}

/** One source's metrics: what its stages count, bound once to its labels (prom-client's labels() looks the set up on every call). */
export class SourceMetrics {
  readonly received: Child
  readonly deleted: Child
  readonly testEvents: Child
  readonly messageLag: { observe(value: number): void }
  readonly eventLag: BulkHistogramChild
  readonly s3Bytes: Child
  readonly s3RegionRedirects: Child
  readonly events: Child
  readonly parseSeconds: { observe(value: number): void }
  readonly visibilityExtensions: Child
  readonly deduplicated: Child
  /** This source's own. */
  readonly totals: Totals = { received: 0, deleted: 0, events: 0, errors: 0 }
  /** The message lag of this source's latest receipt, seconds. */
  lastMessageLag: number | null = null
  states: SourceStates = {}
  readonly labelValues: Record<string, string>
  private readonly objectChildren = new Map<ObjectResult, Child>()
  private readonly errorChildren = new Map<ErrorCode, Child>()
  /** By rule: bound once, the first time a rule drops or redacts (the rules are the configuration's, so few). */
  private readonly droppedChildren = new Map<string, Child>()
  private readonly redactedChildren = new Map<string, Child>()

  constructor(
    readonly root: Metrics,
    readonly labels: SourceLabels,
  ) {
    this.labelValues = { source: labels.source, organization: labels.organization, queue: labels.queue }
    const l = this.labelValues
    this.received = root.received.labels(l)
    this.deleted = root.deleted.labels(l)
    this.testEvents = root.testEvents.labels(l)
    // Histograms too have their series from the start (a labelled child has none until its first
    // observation, and a dashboard's rate() over it would show no data instead of none seen).
    root.messageLag.zero(l)
    root.parseSeconds.zero(l)
    this.messageLag = root.messageLag.labels(l)
    this.eventLag = root.eventLag.child(l)
    this.s3Bytes = root.s3Bytes.labels(l)
    this.s3RegionRedirects = root.s3RegionRedirects.labels(l)
    this.events = root.events.labels(l)
    this.parseSeconds = root.parseSeconds.labels(l)
    this.visibilityExtensions = root.visibilityExtensions.labels(l)
    this.deduplicated = root.deduplicated.labels(l)
    for (const result of ['processed', 'skipped', 'failed'] as const) this.objectChildren.set(result, root.objects.labels({ ...l, result }))
    for (const child of this.objectChildren.values()) child.inc(0)
    // Every stage and reason of src/errors.ts, at 0 from the start so that rates exist.
    for (const { code, stage, reason } of ERRORS) {
      if (stage === null) continue
      const child = root.errors.labels({ ...l, stage, reason })
      child.inc(0)
      this.errorChildren.set(code, child)
    }
    for (const c of [this.received, this.deleted, this.testEvents, this.s3Bytes, this.s3RegionRedirects, this.events, this.visibilityExtensions, this.deduplicated]) c.inc(0)
  }

  /** The registry every source's metrics are in. */
  get registry(): Registry {
    return this.root.registry
  }

  /** Registers the callbacks that fill this source's gauges at scrape time. */
  setStates(states: SourceStates): void {
    this.states = { ...this.states, ...states }
  }

  countReceived(sentTimestampMs: number, now: number): void {
    this.received.inc()
    this.totals.received++
    this.root.totals.received++
    if (sentTimestampMs > 0) {
      const lag = Math.max(0, now - sentTimestampMs) / 1000
      this.messageLag.observe(lag)
      this.lastMessageLag = lag
      this.root.lastMessageLag = lag
    }
  }

  countDeleted(): void {
    this.deleted.inc()
    this.totals.deleted++
    this.root.totals.deleted++
  }

  countEvents(records: number): void {
    this.events.inc(records)
    this.totals.events += records
    this.root.totals.events += records
  }

  /** An object's records dropped and redacted, by rule (workers/protocol.ts, ParseStats). */
  countRules(dropped: Readonly<Record<string, number>>, redacted: Readonly<Record<string, number>>): void {
    for (const rule in dropped) this.ruleChild(this.droppedChildren, this.root.recordsDropped, rule).inc(dropped[rule])
    for (const rule in redacted) this.ruleChild(this.redactedChildren, this.root.recordsRedacted, rule).inc(redacted[rule])
  }

  private ruleChild(children: Map<string, Child>, counter: Counter<keyof SourceLabels | 'rule'>, rule: string): Child {
    let child = children.get(rule)
    if (!child) children.set(rule, (child = counter.labels({ ...this.labelValues, rule })))
    return child
  }

  countObject(result: ObjectResult): void {
    this.objectChildren.get(result)!.inc()
  }

  /**
   * Counts `n` of an error or skip under its stage and reason in src/errors.ts. The start-up codes (no
   * stage: ERR_CONFIG, ERR_SQS) stop the collector before there is anything to count; they count nothing.
   */
  error(code: ErrorCode, n = 1): void {
    const child = this.errorChildren.get(code)
    if (!child) return
    child.inc(n)
    this.totals.errors += n
    this.root.totals.errors += n
  }
}
