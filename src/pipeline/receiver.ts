// One SQS receive loop (cloudtrail_msg_pull_thread_num of them run on the main thread). Each
// ReceiveMessage asks for min(10, free ring slots) messages with long polling. While messages keep
// coming the loop goes straight on; when a receive comes back empty it calls onEmpty (normally: wait
// cloudtrail_msg_pull_interval seconds; with --drain, drain.ts says whether the loop ends).

import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import type { Acker } from './acker.ts'
import { backoffDelay, sleep } from '../backoff.ts'
import { describeError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../observe/metrics.ts'
import type { Received, Ring } from './ring.ts'

export interface ReceiverOptions {
  queueUrl: string
  waitTime: number
  visibilityTimeout: number
  /**
   * After an empty receive sent at `since` (ms since the epoch); resolves when the loop should poll again,
   * or to 'stop' to end this loop.
   */
  onEmpty: (signal: AbortSignal, since: number) => Promise<unknown>
}

/** SQS's limit on MaxNumberOfMessages. */
const MAX_PER_RECEIVE = 10

export class Receivers {
  private active = 0
  private lastOk = true

  constructor(
    private readonly sqs: SQSClient,
    private readonly ring: Ring<Received>,
    private readonly acker: Acker,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly options: ReceiverOptions,
  ) {}

  /** The last ReceiveMessage succeeded (for /readyz). */
  get healthy(): boolean {
    return this.lastOk
  }

  /** ReceiveMessage calls in progress. */
  get receiving(): number {
    return this.active
  }

  /** Runs `count` loops until `signal` aborts (or each loop's onEmpty says 'stop'). */
  async run(count: number, signal: AbortSignal): Promise<void> {
    await Promise.all(Array.from({ length: count }, (_, i) => this.loop(i, signal)))
  }

  private async loop(id: number, signal: AbortSignal): Promise<void> {
    let failures = 0
    while (!signal.aborted) {
      await this.ring.waitForSpace(signal)
      if (signal.aborted) break
      const room = this.ring.reserve(MAX_PER_RECEIVE)
      if (room === 0) continue
      let received = 0
      let failed = false
      const since = Date.now()
      this.active++
      try {
        const out = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.options.queueUrl,
            MaxNumberOfMessages: room,
            WaitTimeSeconds: this.options.waitTime,
            VisibilityTimeout: this.options.visibilityTimeout,
            MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
          }),
          { abortSignal: signal },
        )
        failures = 0
        this.lastOk = true
        const now = Date.now()
        for (const message of out.Messages ?? []) {
          this.metrics.countReceived(Number(message.Attributes?.SentTimestamp), now)
          const entry = this.acker.track(message, now)
          // Uses one of the reserved slots; an endpoint that returns more than MaxNumberOfMessages finds
          // none left: the extra message goes straight back (not kept, and extended, unprocessed).
          if (received < room && this.ring.push({ message, entry })) {
            received++
            continue
          }
          this.metrics.error('ERR_SQS_RECEIVE_OVERFLOW')
          this.log.warn({ stage: 'sqs', receiver: id, messageId: entry.id, asked: room }, 'ReceiveMessage returned more messages than asked for; handing the extra one back')
          this.acker.handBack(entry)
        }
      } catch (err) {
        if (signal.aborted) break
        const { code, message } = describeError(err)
        this.metrics.error('ERR_SQS_RECEIVE')
        this.log.warn({ stage: 'sqs', receiver: id, code, reason: message, attempt: failures }, 'ReceiveMessage failed; backing off')
        failed = true
        this.lastOk = false
      } finally {
        this.active--
        this.ring.release(room - received)
      }
      if (failed) await sleep(backoffDelay(failures++, { baseMs: 500, maxMs: 30_000 }), signal)
      else if (received === 0 && (await this.options.onEmpty(signal, since)) === 'stop') break
    }
  }
}
