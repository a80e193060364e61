// One SQS receive loop (cloudtrail_msg_pull_thread_num of them run on the main thread). Each
// ReceiveMessage asks for min(10, free ring slots) messages with long polling. While messages keep
// coming the loop goes straight on; when a receive comes back empty it calls onEmpty (normally: wait
// cloudtrail_msg_pull_interval seconds; with --drain, drain.ts says whether the loop ends).

import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import type { Acker } from './acker.ts'
import { describeError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { SourceMetrics } from '../observe/metrics.ts'
import type { Received, Ring } from './ring.ts'
import { SQS, withRetry } from '../retry.ts'

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

/** What one ReceiveMessage gave: the messages kept in the ring, and when it was sent (ms since the epoch). */
interface Receipt {
  kept: number
  since: number
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
    private readonly metrics: SourceMetrics,
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

  /**
   * Runs `count` loops until `signal` aborts (or each loop's onEmpty says 'stop'). A receive under way is
   * cut short when `polls` aborts (by default the same signal); otherwise it is let finish (at most
   * wait_time): a long poll cut short may still hand a message to the connection given up, and that
   * message stays invisible for visibility_timeout.
   */
  async run(count: number, signal: AbortSignal, polls: AbortSignal = signal): Promise<void> {
    await Promise.all(Array.from({ length: count }, (_, i) => this.loop(i, signal, polls)))
  }

  private async loop(id: number, signal: AbortSignal, polls: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let received: Receipt | null
      try {
        // A failed receive is tried again under the SQS receive policy (retry.ts), for ever; each try asks
        // for as many messages as the ring has room for then.
        received = await withRetry(SQS.receive, (attempt) => this.receive(id, attempt, signal, polls), { signal })
      } catch (err) {
        if (signal.aborted) break
        throw err
      }
      if (received === null) break
      if (received.kept === 0 && (await this.options.onEmpty(signal, received.since)) === 'stop') break
    }
  }

  /** One ReceiveMessage into the ring: the messages kept and when it was sent; null when the signal aborted while it waited for room. */
  private async receive(id: number, attempt: number, signal: AbortSignal, polls: AbortSignal): Promise<Receipt | null> {
    let room = 0
    while (room === 0) {
      await this.ring.waitForSpace(signal)
      if (signal.aborted) return null
      room = this.ring.reserve(MAX_PER_RECEIVE)
    }
    let received = 0
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
        { abortSignal: polls },
      )
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
      return { kept: received, since }
    } catch (err) {
      if (!signal.aborted) {
        const { code, message } = describeError(err)
        this.metrics.error('ERR_SQS_RECEIVE')
        this.log.warn({ stage: 'sqs', receiver: id, code, reason: message, attempt: attempt - 1 }, 'ReceiveMessage failed; backing off')
        this.lastOk = false
      }
      throw err
    } finally {
      this.active--
      this.ring.release(room - received)
    }
  }
}
