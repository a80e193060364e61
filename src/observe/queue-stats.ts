// The queue as SQS sees it, polled with GetQueueAttributes: backlog (ApproximateNumberOfMessages), in
// flight (…NotVisible), delayed (…Delayed), and from them the rate at which messages arrive.
//
// The rate is conserved, not counted: a message leaves a queue only when it is deleted (or expires, or a
// redrive policy moves it), so what arrived between two answers is the growth of every message the queue
// holds, visible, in flight or delayed, plus what was deleted meanwhile:
//
//   arrivals = Δ(backlog + in flight + delayed) + Δdeleted
//
// A message received again (S3 down, the sink failing) only moves between visible and in flight and
// counts nothing, where "received + the backlog's growth" counted every retry as an arrival (10 msg/s
// during an S3 outage with none arriving). Expiry and dead-letter moves are not seen: they lower the
// estimate, which is clamped at 0. Each answer is dated when it arrives, and the delete count read then:
// the counts describe the queue at the answer, not at the request.
//
// That rate, times cloudtrail_msg_pull_interval, over cloudtrail_msg_pull_thread_num x 10, is FortiSIEM's
// sizing rule made visible (cloudtrail_capacity_ratio): what FortiSIEM users know, not an alarm here
// (the pull interval applies only after an empty receive; deploy/ alerts on falling behind instead).
//
// With several collectors on one queue each sees only its own deletes, so its estimate misses the
// others' share: Prometheus sums the delete rates over the instances and adds the queue's growth once
// (cloudtrail:input_rate_messages:queue in deploy/).

import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { describeError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { sdkRetryable, SQS, withRetry } from '../retry.ts'

export interface QueueSnapshot {
  backlog: number
  inflight: number
  delayed: number
}

const ATTRIBUTES = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const

export class QueueStats {
  /** The last answer, when it arrived (ms since the epoch) and this collector's delete count then. */
  private last: (QueueSnapshot & { at: number; deleted: number }) | null = null
  private smoothed: number | null = null
  private timer: NodeJS.Timeout | null = null
  private polling = false

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    /** Messages this collector has deleted so far. */
    private readonly deleted: () => number,
    private readonly log: Logger,
    private readonly intervalMs = 15_000,
    private readonly onError: () => void = () => {},
  ) {}

  start(): void {
    if (this.timer) return
    void this.poll()
    this.timer = setInterval(() => void this.poll(), this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** The queue's counts at the last answer, or null before the first. */
  get snapshot(): QueueSnapshot | null {
    return this.last && { backlog: this.last.backlog, inflight: this.last.inflight, delayed: this.last.delayed }
  }

  /** Unix seconds of the last answer. */
  get answeredAt(): number | null {
    return this.last && this.last.at / 1000
  }

  /** Messages per second arriving in the queue (smoothed), or null before two answers. */
  get inputRate(): number | null {
    return this.smoothed
  }

  async poll(): Promise<void> {
    if (this.polling) return
    this.polling = true
    try {
      const command = new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: [...ATTRIBUTES] })
      const out = await withRetry(SQS.call, () => this.sqs.send(command), { retryable: sdkRetryable, unref: true })
      // Dated on arrival, with the deletes counted up to then: a slow answer must not stretch the interval.
      const at = Date.now()
      const deleted = this.deleted()
      const count = (name: (typeof ATTRIBUTES)[number]) => Number(out.Attributes?.[name] ?? 0) || 0
      const snapshot = { backlog: count('ApproximateNumberOfMessages'), inflight: count('ApproximateNumberOfMessagesNotVisible'), delayed: count('ApproximateNumberOfMessagesDelayed') }
      if (this.last && at > this.last.at) {
        const seconds = (at - this.last.at) / 1000
        const rate = Math.max(0, (total(snapshot) - total(this.last) + deleted - this.last.deleted) / seconds)
        // Exponential smoothing over about four answers: SQS's counts are approximate and jump.
        this.smoothed = this.smoothed === null ? rate : this.smoothed + 0.25 * (rate - this.smoothed)
      }
      this.last = { ...snapshot, at, deleted }
    } catch (err) {
      const { code, message } = describeError(err)
      this.onError()
      this.log.warn({ stage: 'sqs', code, reason: message }, 'GetQueueAttributes failed; the queue gauges keep their last values')
    } finally {
      this.polling = false
    }
  }
}

function total(s: QueueSnapshot): number {
  return s.backlog + s.inflight + s.delayed
}
