// Every metric the collector exports, created once, here. Dashboards and alert rules in deploy/ depend
// on these names. Hot paths only touch counters and histograms bound once; gauges that describe state
// (ring depth, pool utilisation, queue backlog) are filled by collect() callbacks at scrape time.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export type ObjectResult = 'processed' | 'skipped' | 'failed'
export type ErrorStage = 'notification' | 'object' | 'record' | 's3' | 'sqs' | 'sink'

/** State read at scrape time; each source is optional (parse has no queue, for instance). */
export interface MetricSources {
  ring?: () => { used: number; capacity: number }
  poolUtilization?: () => number
  queue?: () => { backlog: number; inflight: number } | null
  inputRate?: () => number | null
  capacityRatio?: () => number | null
  achieved?: () => { messages: number; events: number }
  messagesInFlight?: () => number
  objectsInFlight?: () => number
}

export class Metrics {
  readonly registry = new Registry()
  readonly received: Counter
  readonly deleted: Counter
  readonly testEvents: Counter
  readonly messageLag: Histogram
  readonly eventLag: Histogram
  readonly objects: Counter<'result'>
  readonly s3Bytes: Counter
  readonly events: Counter
  readonly errors: Counter<'stage' | 'reason'>
  readonly parseSeconds: Histogram
  readonly visibilityExtensions: Counter
  private sources: MetricSources = {}

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
    this.eventLag = new Histogram({
      name: 'cloudtrail_event_lag_seconds',
      help: "From a record's eventTime to its write",
      buckets: [30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 21600, 86400],
      registers,
    })
    this.objects = new Counter({ name: 'cloudtrail_s3_objects_total', help: 'S3 objects by result', labelNames: ['result'], registers })
    this.s3Bytes = new Counter({ name: 'cloudtrail_s3_bytes_total', help: 'Compressed bytes fetched from S3', registers })
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

    const sources = () => this.sources
    const gauge = (name: string, help: string, read: () => number | null | undefined) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const value = read()
          if (value === null || value === undefined || Number.isNaN(value)) this.reset()
          else this.set(value)
        },
      })
    gauge('cloudtrail_ring_buffer_used', 'Messages waiting in the ring buffer', () => sources().ring?.().used)
    gauge('cloudtrail_ring_buffer_capacity', 'Capacity of the ring buffer', () => sources().ring?.().capacity)
    gauge('cloudtrail_parse_pool_utilization', 'Share of parse-thread time spent parsing (0-1)', () => sources().poolUtilization?.())
    gauge('cloudtrail_sqs_backlog_messages', 'ApproximateNumberOfMessages of the queue', () => sources().queue?.()?.backlog)
    gauge('cloudtrail_sqs_inflight_messages', 'ApproximateNumberOfMessagesNotVisible of the queue', () => sources().queue?.()?.inflight)
    gauge('cloudtrail_input_rate_messages', 'Estimated messages per second arriving in the queue', () => sources().inputRate?.())
    gauge(
      'cloudtrail_capacity_ratio',
      'input rate x cloudtrail_msg_pull_interval / (cloudtrail_msg_pull_thread_num x 10); above 1 FortiSIEM sizing cannot keep up',
      () => sources().capacityRatio?.(),
    )
    gauge('cloudtrail_achieved_max_message_rate', 'Highest message rate this collector sustained over a minute', () => sources().achieved?.().messages)
    gauge('cloudtrail_achieved_max_event_rate', 'Highest event rate this collector sustained over a minute', () => sources().achieved?.().events)
    gauge('cloudtrail_messages_in_flight', 'Messages received and not yet deleted or released by this collector', () => sources().messagesInFlight?.())
    gauge('cloudtrail_objects_in_flight', 'Objects being fetched, parsed or written', () => sources().objectsInFlight?.())
    if (processMetrics) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 })
  }

  /** Registers the callbacks that fill state gauges at scrape time. */
  setSources(sources: MetricSources): void {
    this.sources = { ...this.sources, ...sources }
  }

  error(stage: ErrorStage, reason: string): void {
    this.errors.labels(stage, reason).inc()
  }
}
