// Acknowledgement: one entry per SQS message from receipt to deletion. Each message counts its objects
// still pending; when the last one is confirmed by the sink, the message is deleted (DeleteMessageBatch,
// up to 10 at a time). While a message is in flight for longer than half its visibility timeout, its
// visibility is extended, so a large object is not handed to a second collector mid-way.
//
// What happens to a settled message:
//   every object confirmed (or skipped on purpose)  -> deleted
//   a permanent failure (bad object, bad body)      -> deleted, or left for the dead-letter queue when
//                                                      the queue has a redrive policy: made visible again
//                                                      after the backoff below, so that SQS counts the
//                                                      receives that move it there without waiting for
//                                                      a whole visibility timeout each time
//   a transient failure (S3 down, sink refused)     -> not deleted; made visible again after a backoff
//                                                      that grows with its ApproximateReceiveCount
//   released (shutdown, no room in the ring)        -> not deleted; made visible again at once

import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import { describeError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { SourceMetrics } from '../observe/metrics.ts'
import { sdkRetryable, SQS, withRetry } from '../retry.ts'

/** What becomes of a message: deleted (ok), failed for good, retried after a backoff, or handed back at once (release). */
export type Outcome = 'ok' | 'permanent' | 'release' | 'retry'

/** Which outcome of a message's objects decides: one object to retry means the message must come back. */
const RANK: Record<Outcome, number> = { ok: 0, permanent: 1, release: 2, retry: 3 }

export interface InFlight {
  readonly id: string
  readonly receipt: string
  readonly receivedAt: number
  /** When SQS got the message (its SentTimestamp), else when it was received; ms since the epoch. */
  readonly sentAt: number
  readonly receiveCount: number
  /** When SQS would hand the message out again, unless extended. */
  visibleAt: number
  pending: number
  sealed: boolean
  outcome: Outcome
  /** The checkpoints of its objects (checkpoints.ts), removed once the message is deleted. */
  checkpoints?: string[]
}

export interface AckerOptions {
  queueUrl: string
  /** Seconds; the visibility a receive asked for, and what each extension renews. */
  visibilityTimeout: number
  /** The queue moves failed messages to a dead-letter queue: leave permanent failures to it. */
  redrive: boolean
  /** How long a delete waits for company before DeleteMessageBatch goes out. */
  lingerMs?: number
  /** How often the heartbeat looks for messages to extend; by default a quarter of the visibility timeout, at most 1 s. */
  heartbeatMs?: number
  /** A message SQS confirmed deleted (its checkpoints go: processor.ts). */
  onDeleted?: (entry: InFlight) => void
}

const BATCH = 10

export class Acker {
  private readonly inFlight = new Map<string, InFlight>()
  private deletes: InFlight[] = []
  private deletesRunning = 0
  private lingerTimer: NodeJS.Timeout | null = null
  private readonly heartbeat: NodeJS.Timeout
  private idleWaiters: (() => void)[] = []
  private closed = false
  private extending = false
  private retryAt = 0
  /** ChangeMessageVisibility calls under way (hand-backs, backoffs): close() waits for them. */
  private readonly changes = new Set<Promise<void>>()

  constructor(
    private readonly sqs: SQSClient,
    private readonly options: AckerOptions,
    private readonly metrics: SourceMetrics,
    private readonly log: Logger,
  ) {
    // A message is extended once less than half its visibility is left. The heartbeat must look more often
    // than that half lasts, or an extension can fall due just as the message turns visible (with a 2 s
    // timeout and a 1 s tick it did, and a second collector fetched the object).
    this.heartbeat = setInterval(() => void this.extend(), options.heartbeatMs ?? Math.min(1000, (options.visibilityTimeout * 1000) / 4))
    this.heartbeat.unref()
  }

  /** Messages received and not yet deleted, released or left. */
  get size(): number {
    return this.inFlight.size
  }

  track(message: Message, now = Date.now()): InFlight {
    const sent = Number(message.Attributes?.SentTimestamp)
    const entry: InFlight = {
      id: message.MessageId ?? '',
      receipt: message.ReceiptHandle ?? '',
      receivedAt: now,
      sentAt: sent > 0 ? sent : now,
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1) || 1,
      visibleAt: now + this.options.visibilityTimeout * 1000,
      pending: 0,
      sealed: false,
      outcome: 'ok',
    }
    this.inFlight.set(entry.receipt, entry)
    return entry
  }

  /** One more object of this message is in flight. */
  add(entry: InFlight): void {
    entry.pending++
  }

  /** An object of this message is finished, with its outcome. */
  done(entry: InFlight, outcome: Outcome): void {
    entry.pending--
    this.merge(entry, outcome)
    if (entry.sealed && entry.pending === 0) this.settle(entry)
  }

  /** Hands a message back to SQS at once (visibility 0), unprocessed: e.g. the ring had no room for it. */
  handBack(entry: InFlight): void {
    this.seal(entry, 'release')
  }

  /** Every object of the message has been added; it settles once they are all done. */
  seal(entry: InFlight, outcome: Outcome = 'ok'): void {
    entry.sealed = true
    this.merge(entry, outcome)
    if (entry.pending === 0) this.settle(entry)
  }

  /** Resolves once nothing is in flight and every delete and visibility change has been sent. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /**
   * When the oldest message held was sent (ms since the epoch), or null when none is held: its age says
   * how late the collector is even when nothing can be received (the ring full in a sink outage). Read at
   * scrape time: one pass over the messages held (cloudtrail_messages_in_flight), off the hot path.
   */
  get oldestSentAt(): number | null {
    let oldest = Infinity
    for (const entry of this.inFlight.values()) if (entry.sentAt < oldest) oldest = entry.sentAt
    return oldest === Infinity ? null : oldest
  }

  /**
   * When the last message handed back (at once, for a retry, or left for the dead-letter queue) becomes
   * visible again (ms since the epoch): --drain receives again after it.
   */
  get retriesVisibleAt(): number {
    return this.retryAt
  }

  get idle(): boolean {
    return this.inFlight.size === 0 && this.deletesRunning === 0 && this.deletes.length === 0 && this.changes.size === 0
  }

  /**
   * Shutdown: deletes what is settled, and hands every message still unfinished back to SQS at once
   * (visibility 0) so that another collector can take it without waiting for the timeout.
   */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.heartbeat)
    await this.flushDeletes()
    const unfinished = [...this.inFlight.values()]
    for (const e of unfinished) this.changeVisibility(e, 0)
    for (const e of unfinished) this.inFlight.delete(e.receipt)
    // Hand-backs and backoffs of messages settled just before (objects aborted by the shutdown) too.
    while (this.changes.size > 0) await Promise.all(this.changes)
    this.checkIdle()
  }

  private merge(entry: InFlight, outcome: Outcome): void {
    if (RANK[outcome] > RANK[entry.outcome]) entry.outcome = outcome
  }

  private settle(entry: InFlight): void {
    if (entry.outcome === 'ok' || (entry.outcome === 'permanent' && !this.options.redrive)) {
      this.deletes.push(entry)
      if (this.deletes.length >= BATCH) this.sendDeletes()
      else this.lingerTimer ??= setTimeout(() => this.sendDeletes(), this.options.lingerMs ?? 50)
      return
    }
    this.inFlight.delete(entry.receipt)
    if (entry.outcome === 'release') this.changeVisibility(entry, 0)
    else {
      // retry, or permanent with a redrive policy (SQS counts one more receive each time it comes back):
      // back to the queue after a pause that grows with each receive: 10 s, 20 s, 40 s … up to 15 min.
      const seconds = Math.min(900, 10 * 2 ** Math.min(entry.receiveCount - 1, 10), this.options.visibilityTimeout)
      this.retryAt = Math.max(this.retryAt, Date.now() + seconds * 1000)
      this.changeVisibility(entry, seconds)
    }
    this.checkIdle()
  }

  private sendDeletes(): void {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer)
      this.lingerTimer = null
    }
    while (this.deletes.length > 0) {
      const batch = this.deletes.splice(0, BATCH)
      this.deletesRunning++
      void this.deleteBatch(batch).finally(() => {
        this.deletesRunning--
        this.checkIdle()
      })
    }
  }

  private async flushDeletes(): Promise<void> {
    this.sendDeletes()
    while (this.deletesRunning > 0) await new Promise((r) => setTimeout(r, 10))
  }

  /**
   * Deletes a batch under the SQS delete policy (retry.ts): a call that fails, and the entries SQS failed on
   * its side, are tried again; an entry refused (SenderFault) is not. What is left after the last attempt
   * will be delivered again.
   */
  private async deleteBatch(batch: InFlight[]): Promise<void> {
    let remaining = batch
    try {
      await withRetry(
        SQS.delete,
        async () => {
          remaining = await this.deleteOnce(remaining)
          if (remaining.length > 0) throw new PartialDelete(remaining.length)
        },
        {
          onRetry: (err, attempt) => {
            if (err instanceof PartialDelete) return
            const { code, message } = describeError(err)
            this.log.warn({ code, reason: message, messages: remaining.length, attempt: attempt - 1 }, 'DeleteMessageBatch failed; retrying')
            this.metrics.error('ERR_SQS_DELETE')
          },
        },
      )
    } catch (err) {
      if (!(err instanceof PartialDelete)) {
        const { code, message } = describeError(err)
        this.log.warn({ code, reason: message, messages: remaining.length, attempt: SQS.delete.attempts - 1 }, 'DeleteMessageBatch failed; retrying')
        this.metrics.error('ERR_SQS_DELETE')
      }
      this.log.error({ messages: remaining.length }, 'giving up deleting messages: they will be delivered again (duplicates)')
      for (const e of remaining) this.forget(e)
    }
  }

  /** One DeleteMessageBatch: counts and forgets what was deleted or refused; returns the entries to try again. */
  private async deleteOnce(remaining: InFlight[]): Promise<InFlight[]> {
    const entries = remaining.map((e, i) => ({ Id: String(i), ReceiptHandle: e.receipt }))
    const result = await this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: entries }))
    const retry = new Set<number>()
    const refused = new Set<number>()
    for (const f of result.Failed ?? []) {
      const i = Number(f.Id)
      const entry = remaining[i]
      if (!entry) continue
      if (f.SenderFault) {
        // e.g. ReceiptHandleIsInvalid: the message went back to the queue and will be delivered again.
        this.log.warn({ messageId: entry.id, code: f.Code, reason: f.Message }, 'SQS refused the delete; the message may be delivered again')
        this.metrics.error('ERR_SQS_DELETE_REFUSED')
        this.forget(entry)
        refused.add(i)
      } else retry.add(i)
    }
    remaining.forEach((entry, i) => {
      if (retry.has(i) || refused.has(i)) return
      this.metrics.countDeleted()
      this.forget(entry)
      this.options.onDeleted?.(entry)
    })
    return remaining.filter((_, i) => retry.has(i))
  }

  private forget(entry: InFlight): void {
    this.inFlight.delete(entry.receipt)
  }

  /** Heartbeat: renew the visibility of messages past half their timeout, ten per call. */
  private async extend(now = Date.now()): Promise<void> {
    if (this.extending) return
    this.extending = true
    try {
      await this.extendDue(now)
    } finally {
      this.extending = false
    }
  }

  private async extendDue(now: number): Promise<void> {
    const halfMs = (this.options.visibilityTimeout * 1000) / 2
    const due = [...this.inFlight.values()].filter((e) => !this.deletes.includes(e) && e.visibleAt - now <= halfMs)
    for (let i = 0; i < due.length; i += BATCH) {
      const batch = due.slice(i, i + BATCH)
      const entries = batch.map((e, j) => ({ Id: String(j), ReceiptHandle: e.receipt, VisibilityTimeout: this.options.visibilityTimeout }))
      try {
        const result = await withRetry(SQS.call, () => this.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.options.queueUrl, Entries: entries })), { retryable: sdkRetryable })
        const failed = new Set((result.Failed ?? []).map((f) => Number(f.Id)))
        batch.forEach((e, j) => {
          if (failed.has(j)) return
          e.visibleAt = now + this.options.visibilityTimeout * 1000
          this.metrics.visibilityExtensions.inc()
        })
        for (const f of result.Failed ?? []) {
          this.log.warn({ messageId: batch[Number(f.Id)]?.id, code: f.Code }, 'could not extend the visibility of a message in flight')
          this.metrics.error('ERR_SQS_VISIBILITY_REFUSED')
        }
      } catch (err) {
        const { code, message } = describeError(err)
        this.log.warn({ code, reason: message }, 'ChangeMessageVisibilityBatch failed; will retry on the next heartbeat')
        this.metrics.error('ERR_SQS_VISIBILITY')
      }
    }
  }

  /** Hands a message back (0) or sets its backoff; whenIdle() and close() wait for the call. */
  private changeVisibility(entry: InFlight, seconds: number): void {
    const command = new ChangeMessageVisibilityCommand({ QueueUrl: this.options.queueUrl, ReceiptHandle: entry.receipt, VisibilityTimeout: seconds })
    const change = withRetry(SQS.call, () => this.sqs.send(command), { retryable: sdkRetryable })
      .then(
        () => {
          if (seconds === 0) this.retryAt = Math.max(this.retryAt, Date.now())
        },
        (err: unknown) => {
          // Not fatal: the message comes back when its current visibility runs out (up to visibility_timeout,
          // instead of at once or after the backoff).
          this.retryAt = Math.max(this.retryAt, entry.visibleAt)
          const { code, message } = describeError(err)
          const fields = { stage: 'sqs', messageId: entry.id, code, reason: message, visibilityTimeout: seconds }
          this.log.warn(fields, 'could not change the visibility of a message; it comes back when its visibility runs out')
          this.metrics.error('ERR_SQS_VISIBILITY')
        },
      )
      .finally(() => {
        this.changes.delete(change)
        this.checkIdle()
      })
    this.changes.add(change)
  }

  private checkIdle(): void {
    if (!this.idle) return
    for (const w of this.idleWaiters.splice(0)) w()
  }
}

/** Some entries of a batch were failed by SQS on its side (not refused): the batch is tried again for them. */
class PartialDelete extends Error {
  constructor(readonly entries: number) {
    super(`SQS failed ${entries} deletes on its side`)
    this.name = 'PartialDelete'
  }
}
