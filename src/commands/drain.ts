// --drain: when a run that empties the queue (a backfill, a test) may end. The queue is drained when this
// collector holds nothing (no message received and not yet deleted or handed back; so nothing in the ring,
// fetched, parsed or waiting for the sink), no message it handed back (for a retry, at once, or left for
// the dead-letter queue) is still to come back, and SQS has nothing to give: either
//
//   (a) a receive sent after all that came back empty: that loop ends, and the run when every loop has
//       (another may still be receiving meanwhile). This is what --drain always did; with the default
//       wait_time of 20 s that receive is a long poll, so the run ended 18–20 s after its last record; or
//   (b) SQS counts nothing visible, in flight (anyone's: another collector's message may still come back)
//       or delayed, on two GetQueueAttributes answers CONFIRM_MS apart, with nothing received in between
//       and a long poll outstanding at both: the counts are approximate, but a message they missed would
//       have been returned by that long poll. The run then ends without waiting the poll out.
//
// A permanent failure on a queue with a redrive policy counts as in flight during its backoff and as
// visible after it, until the receive past maxReceiveCount has SQS move it to the dead-letter queue: (b)
// waits for that. Where GetQueueAttributes is refused or fails, (a) alone decides, as before.
// Ordinary runs use neither: their receivers wait cloudtrail_msg_pull_interval after an empty receive.

import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs'
import type { Acker } from '../pipeline/acker.ts'
import { sleep } from '../sleep.ts'
import { sdkRetryable, SQS, withRetry } from '../retry.ts'
import { describeError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { SourceMetrics } from '../observe/metrics.ts'
import type { Processor } from '../pipeline/processor.ts'
import type { Ring } from '../pipeline/ring.ts'

/** Between the two answers that must both say the queue is empty. */
const CONFIRM_MS = 500
/** Between checks while SQS still counts messages (another collector's, or ours about to come back). */
const RECHECK_MS = 1000
const COUNTS = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const

export interface DrainSources {
  processor: Pick<Processor, 'whenIdle' | 'inFlight'>
  ring: Pick<Ring<unknown>, 'size'>
  acker: Pick<Acker, 'whenIdle' | 'idle' | 'retriesVisibleAt'>
  metrics: Pick<SourceMetrics, 'totals' | 'error'>
  /** ReceiveMessage calls outstanding (Receivers.receiving). */
  receiving: () => number
}

export class DrainPolicy {
  private warned = false

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly s: DrainSources,
    private readonly log: Logger,
  ) {}

  /** (a): a receive loop's onEmpty after an empty receive sent at `since`: 'stop' ends that loop. */
  async onEmpty(signal: AbortSignal, since: number): Promise<'stop' | 'again'> {
    await this.s.processor.whenIdle()
    await this.s.acker.whenIdle()
    const visibleAt = this.s.acker.retriesVisibleAt
    if (visibleAt >= since) {
      // Something was handed back since that receive went out: receive again once it is visible.
      await sleep(Math.max(0, visibleAt - Date.now()) + 250, signal)
      return 'again'
    }
    // Another loop may have received meanwhile.
    return this.s.ring.size === 0 ? 'stop' : 'again'
  }

  /** (b): resolves true once SQS confirms the queue holds nothing and nothing is held here; false on abort. */
  async watch(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      await this.idle(signal)
      if (signal.aborted) break
      const wait = this.s.acker.retriesVisibleAt - Date.now()
      if (wait > 0) {
        await sleep(wait, signal)
        continue
      }
      const mark = { received: this.s.metrics.totals.received, retries: this.s.acker.retriesVisibleAt }
      const quiet = () => this.held() === false && this.s.receiving() > 0 && this.s.metrics.totals.received === mark.received && this.s.acker.retriesVisibleAt === mark.retries
      if (quiet() && (await this.queueEmpty(signal)) && (await sleep(CONFIRM_MS, signal)) && quiet() && (await this.queueEmpty(signal)) && quiet()) {
        this.log.debug({ confirmMs: CONFIRM_MS }, 'SQS counts no message visible, in flight or delayed, and none is held here')
        return true
      }
      await sleep(RECHECK_MS, signal)
    }
    return false
  }

  private held(): boolean {
    return this.s.processor.inFlight > 0 || this.s.ring.size > 0 || !this.s.acker.idle
  }

  /** Until nothing is held here (or `signal` aborts). */
  private async idle(signal: AbortSignal): Promise<void> {
    while (this.held() && !signal.aborted) {
      let onAbort = () => {}
      const aborted = new Promise<void>((resolve) => (onAbort = resolve))
      signal.addEventListener('abort', onAbort, { once: true })
      try {
        await Promise.race([Promise.all([this.s.processor.whenIdle(), this.s.acker.whenIdle()]), aborted])
      } finally {
        signal.removeEventListener('abort', onAbort)
      }
    }
  }

  /** True when SQS answers 0 for all three counts; false on any other answer or a failure. */
  private async queueEmpty(signal: AbortSignal): Promise<boolean> {
    try {
      const command = new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: [...COUNTS] })
      const out = await withRetry(SQS.call, () => this.sqs.send(command, { abortSignal: signal }), { signal, retryable: sdkRetryable })
      return COUNTS.every((name) => out.Attributes?.[name] === '0')
    } catch (err) {
      if (signal.aborted) return false
      const { code, message } = describeError(err)
      this.s.metrics.error('ERR_SQS_QUEUE_ATTRIBUTES')
      // Once: (a) still ends the run, a long poll later.
      if (!this.warned) this.log.warn({ stage: 'sqs', code, reason: message }, 'GetQueueAttributes failed; --drain ends after an empty receive instead')
      this.warned = true
      return false
    }
  }
}
