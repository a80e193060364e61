// The queue as SQS sees it, polled with GetQueueAttributes: backlog (ApproximateNumberOfMessages), in
// flight (ApproximateNumberOfMessagesNotVisible), and from them the rate at which messages arrive: what
// this collector received per second plus the growth of the backlog. That rate, times
// cloudtrail_msg_pull_interval, over cloudtrail_msg_pull_thread_num x 10, is FortiSIEM's sizing rule made
// visible (cloudtrail_capacity_ratio; above 1 the configuration cannot keep up by that rule).
//
// With several collectors on one queue each sees only its own receives: sum the receive rates across
// instances in Prometheus and add the backlog's growth once (deploy/ does).

import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { describeError } from './errors.ts'
import type { Logger } from './log.ts'

export interface QueueSnapshot {
  backlog: number
  inflight: number
}

export class QueueStats {
  /** The last answer, when it came (ms since the epoch) and the receive count then. */
  private last: (QueueSnapshot & { at: number; received: number }) | null = null
  private smoothed: number | null = null
  private timer: NodeJS.Timeout | null = null
  private polling = false

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly received: () => number,
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
    return this.last && { backlog: this.last.backlog, inflight: this.last.inflight }
  }

  /** Unix seconds of the last answer. */
  get answeredAt(): number | null {
    return this.last && this.last.at / 1000
  }

  /** Messages per second arriving in the queue (smoothed), or null before two polls. */
  get inputRate(): number | null {
    return this.smoothed
  }

  async poll(now = Date.now()): Promise<void> {
    if (this.polling) return
    this.polling = true
    try {
      const out = await this.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      )
      const snapshot = {
        backlog: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
        inflight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
      }
      const received = this.received()
      if (this.last && now > this.last.at) {
        const seconds = (now - this.last.at) / 1000
        const rate = Math.max(0, (received - this.last.received + snapshot.backlog - this.last.backlog) / seconds)
        // Exponential smoothing over about four polls: the backlog is approximate and jumps.
        this.smoothed = this.smoothed === null ? rate : this.smoothed + 0.25 * (rate - this.smoothed)
      }
      this.last = { ...snapshot, at: now, received }
    } catch (err) {
      const { code, message } = describeError(err)
      this.onError()
      this.log.warn({ stage: 'sqs', code, reason: message }, 'GetQueueAttributes failed; the queue gauges keep their last values')
    } finally {
      this.polling = false
    }
  }
}
