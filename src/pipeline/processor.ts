// Takes received messages off the ring, acts on what triage.ts makes of each, and runs each object to
// fetch through fetch -> parse pool -> sink, reporting its outcome to the acker. An object starts when
// slots.ts admits it (at most maxObjectsInFlight fetched or parsed at once, and a bound on what waits for
// the sink); until then no message is taken off the ring, the ring fills and the receivers stop asking
// SQS for more. On stop, the messages still in the ring go back to SQS at once; those started finish.

import type { Acker, InFlight, Outcome } from './acker.ts'
import { checkpointId, type Checkpoints } from './checkpoints.ts'
import { CollectorError, errorInfo, isCollectorError, isErrorCode, SKIP_CODES, type ErrorCode, type SkipReason } from '../errors.ts'
import type { Fetcher } from './fetcher.ts'
import type { Logger } from '../log.ts'
import type { SourceMetrics } from '../observe/metrics.ts'
import type { RuleSpec } from '../../workers/rules/compile.ts'
import type { ObjectRef, RefusedRef } from './notifications.ts'
import type { ParsePool } from './pool.ts'
import type { Received, Ring } from './ring.ts'
import { Slots } from './slots.ts'
import { triage, type TriageOptions } from './triage.ts'
import type { ChunkTag, Sink } from '../sinks/sink.ts'

/** Why an object failed before the sink had its say (its stage, s3 or object, is the code's). */
interface Failure {
  code: ErrorCode
  message: string
}

type Where = { bucket: string; key: string; messageId: string }
/** An object by bucket, key and ETag, as its checkpoint and its chunks' tags name it. */
type CheckpointedObject = Omit<ChunkTag, 'through'>

export interface ProcessorOptions extends TriageOptions {
  maxObjectsInFlight: number
  /** Output handed to the sink and not yet confirmed beyond which no new object starts; slots.ts's MAX_UNCONFIRMED_BYTES by default. */
  maxUnconfirmedBytes?: number
  /**
   * The admission this processor shares with the other sources' (run.ts: one for the process, over the
   * one parse pool and sink); by default its own. Slots admit in order of arrival and a processor waits
   * for one object at a time, so sources that all have work take the free slots in turn: a source with
   * a deep backlog cannot starve one with a few messages.
   */
  slots?: Slots
  /** The source's drop, keep and redact rules, sent with each of its objects to the shared pool. */
  rules?: RuleSpec
  /** state_dir: the objects' checkpoints (checkpoints.ts), shared by every source; none by default. */
  checkpoints?: Checkpoints
}

/**
 * Counts a write's records until the sink confirms them; settles once the object's last one is in. Also
 * the object's checkpoint: `frontier` is the `through` (protocol.ts) of the last chunk confirmed with every
 * chunk before it; a chunk the sink failed stops it there for good (what follows is not counted, even
 * when confirmed: the checkpoint counts only leading records). Sinks confirm in write order (their
 * ledger), but this does not rely on it.
 */
class Confirmations {
  private pending = 0
  private error: Error | null = null
  private closed = false
  private waiter: ((err: Error | null) => void) | null = null
  /** Chunks written so far; the next one's number. */
  private written = 0
  /** The first chunk not yet confirmed (every one before it is). */
  private head = 0
  /** `through` of each chunk from `head` on. */
  private readonly throughs = new Map<number, number>()
  /** Chunks confirmed while one before them is not yet. */
  private readonly early = new Set<number>()
  private blocked = false
  frontier: number

  constructor(
    private readonly onConfirmed: (records: number) => void,
    private readonly onCheckpoint: ((through: number) => void) | null = null,
    start = 0,
  ) {
    this.frontier = start
  }

  /** One more chunk, settling the object's elements up to `through`; returns its number for confirm(). */
  add(through: number): number {
    this.pending++
    if (this.onCheckpoint) this.throughs.set(this.written, through)
    return this.written++
  }

  confirm(chunk: number, err: Error | null, records: number): void {
    this.pending--
    if (err) {
      this.error ??= err
      this.blocked = true
    } else {
      this.onConfirmed(records)
      if (this.onCheckpoint && !this.blocked) this.advance(chunk)
    }
    this.check()
  }

  private advance(chunk: number): void {
    if (chunk !== this.head) {
      this.early.add(chunk)
      return
    }
    let through = this.throughs.get(this.head)!
    this.throughs.delete(this.head++)
    while (this.early.delete(this.head)) {
      through = this.throughs.get(this.head)!
      this.throughs.delete(this.head++)
    }
    if (through > this.frontier) {
      this.frontier = through
      this.onCheckpoint!(through)
    }
  }

  /** No more writes: resolves with the first sink error, or null once everything is confirmed. */
  settled(): Promise<Error | null> {
    this.closed = true
    return new Promise((resolve) => {
      this.waiter = resolve
      this.check()
    })
  }

  private check(): void {
    if (this.closed && this.pending === 0 && this.waiter) {
      this.waiter(this.error)
      this.waiter = null
    }
  }
}

/**
 * A parse worker failing on an object (its thread died, or the parser threw what it does not expect) may
 * be the moment (memory taken by other objects) rather than the object, so it is retried; on this
 * receive of the message it is taken as the object's doing, and the failure is permanent (deleted, or
 * left for the dead-letter queue): a poison object costs at most this many tries, not one per backoff
 * forever. ApproximateReceiveCount counts every receive, by any collector.
 */
export const WORKER_FAILURE_RECEIVES = 3

export class Processor {
  private readonly slots: Slots
  /** Aborts objects in flight (hard stop after the shutdown timeout). */
  private readonly abort = new AbortController()
  /** This processor's objects started and not yet settled (the slots may count other sources' too). */
  private pending = 0
  private idleWaiters: (() => void)[] = []

  constructor(
    private readonly ring: Ring<Received>,
    private readonly acker: Acker,
    private readonly fetcher: Fetcher,
    private readonly pool: ParsePool,
    private readonly sink: Sink,
    private readonly metrics: SourceMetrics,
    private readonly log: Logger,
    private readonly options: ProcessorOptions,
  ) {
    this.slots = options.slots ?? new Slots(options.maxObjectsInFlight, options.maxUnconfirmedBytes)
  }

  /** Objects started and not yet settled (confirmed or failed). */
  get inFlight(): number {
    return this.pending
  }

  /** Output handed to the sink and not yet confirmed or failed, in bytes (every source's, when the slots are shared). */
  get unconfirmedBytes(): number {
    return this.slots.unconfirmedBytes
  }

  /**
   * Processes messages until `stop` aborts; then hands the messages left in the ring back to SQS at once
   * (visibility 0: another collector takes them without waiting) and waits for the objects in flight.
   * The receivers stop on the same signal.
   */
  async run(stop: AbortSignal): Promise<void> {
    const handBack = () => this.handBack()
    stop.addEventListener('abort', handBack, { once: true })
    while (!stop.aborted) {
      const item = this.ring.shift()
      if (item) await this.handle(item)
      else await this.ring.waitForItem(stop)
    }
    await this.whenIdle()
    handBack() // what a receive under way delivered after the stop
  }

  /** Hands the messages in the ring back to SQS at once (visibility 0), unprocessed: on stop, and for what a receive let finish delivered after it. */
  handBack(): void {
    for (let item = this.ring.shift(); item; item = this.ring.shift()) this.acker.seal(item.entry, 'release')
  }

  /** Gives up on the objects in flight (hard stop): each fails as 'release', and its message goes back to SQS at once. */
  abortInFlight(): void {
    this.abort.abort()
  }

  /** Resolves once none of this processor's objects is in flight (at once if none is). */
  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private settle(): void {
    this.slots.settle()
    if (--this.pending === 0) for (const w of this.idleWaiters.splice(0)) w()
  }

  private async handle({ message, entry }: Received): Promise<void> {
    const triaged = triage(message.Body ?? '', this.options)
    if (triaged.kind === 'invalid') {
      const e = triaged.error
      this.log.error({ stage: 'notification', messageId: entry.id, code: e.code, reason: e.message }, 'cannot use this SQS message')
      this.metrics.error(e.code)
      this.acker.seal(entry, 'permanent')
      return
    }
    if (triaged.kind === 'subscription-confirmation') {
      this.metrics.error('ERR_NOTIFICATION_SUBSCRIPTION')
      this.log.warn({ stage: 'notification', messageId: entry.id, topicArn: triaged.topicArn }, 'SNS SubscriptionConfirmation received: confirm the subscription in the SNS console; deleting the message')
      this.acker.seal(entry, 'ok')
      return
    }
    if (triaged.kind === 'test-event') {
      this.metrics.testEvents.inc()
      this.log.info({ messageId: entry.id }, 's3:TestEvent received; deleting it')
      this.acker.seal(entry, 'ok')
      return
    }
    let outcome: Outcome = 'ok'
    if (triaged.refused.length > 0) {
      this.refuse(entry, triaged.refused)
      outcome = 'permanent'
    }
    if (triaged.duplicates > 0) {
      this.metrics.error('ERR_NOTIFICATION_DUPLICATE_KEY', triaged.duplicates)
      this.log.warn({ stage: 'notification', messageId: entry.id, duplicates: triaged.duplicates }, 'the message names some objects more than once; fetching each once')
    }
    for (const object of triaged.objects) {
      const { ref } = object
      if (object.verdict === 'bucket-not-allowed') {
        const code: ErrorCode = 'ERR_BUCKET_NOT_ALLOWED'
        this.log.error({ stage: 'notification', messageId: entry.id, bucket: ref.bucket, key: ref.key, code }, 'refused: the bucket is not configured')
        this.metrics.error(code)
        this.metrics.countObject('skipped')
        outcome = 'permanent'
        continue
      }
      if (object.verdict === 'not-a-log') {
        this.log.debug({ bucket: ref.bucket, key: ref.key, kind: object.kind }, 'skipping: not a CloudTrail log')
        this.metrics.countObject('skipped')
        continue
      }
      await this.slots.acquire()
      this.pending++
      if (this.abort.signal.aborted) {
        // Hard stop while this message waited for a slot: its other objects are not started, it goes back.
        this.slots.release()
        this.settle()
        outcome = 'release'
        break
      }
      this.acker.add(entry)
      void this.processObject(ref, entry).then((o) => {
        this.settle()
        this.acker.done(entry, o)
      })
    }
    this.acker.seal(entry, outcome)
  }

  /** Keys refused when the notification was parsed: each counted, one log line per reason (with the first key). */
  private refuse(entry: InFlight, refused: RefusedRef[]): void {
    const first = new Map<string, RefusedRef>()
    const counts = new Map<string, number>()
    for (const r of refused) {
      this.metrics.error(r.code)
      this.metrics.countObject('skipped')
      if (!first.has(r.code)) first.set(r.code, r)
      counts.set(r.code, (counts.get(r.code) ?? 0) + 1)
    }
    for (const [code, r] of first) {
      this.log.error({ stage: 'notification', messageId: entry.id, bucket: r.bucket, key: r.key, code, reason: r.message, keys: counts.get(code) }, 'refused: an object key that is never fetched')
    }
  }

  private async processObject(ref: ObjectRef, entry: InFlight): Promise<Outcome> {
    const started = performance.now()
    const where = { bucket: ref.bucket, key: ref.key, messageId: entry.id }
    const countEvents = (records: number) => this.metrics.countEvents(records)
    let confirmations = new Confirmations(countEvents)
    const signal = this.abort.signal
    let failure: Failure | null = null
    let fetched = started
    /** With checkpoints and an ETag: the object its checkpoint names, and each chunk's tag (the file sink's journal). */
    let object: CheckpointedObject | null = null
    try {
      const opened = await this.fetcher.open(ref, signal)
      fetched = performance.now()
      const store = this.options.checkpoints
      if (store && opened.etag !== null) {
        const o: CheckpointedObject = (object = { bucket: ref.bucket, key: ref.key, etag: opened.etag })
        const id = checkpointId(o.bucket, o.key, o.etag)
        ;(entry.checkpoints ??= []).push(id)
        const prior = store.get(id)
        if (prior?.complete) {
          // Confirmed whole before (a crash before its message was deleted, or another object of the
          // message failed): not written again, only deleted.
          if ('chunks' in opened.input) void opened.input.chunks[Symbol.asyncIterator]().return?.()
          this.log.info({ ...where, records: prior.records }, 'object confirmed whole before (checkpoint): not written again')
          this.slots.release()
          this.metrics.countObject('processed')
          return 'ok'
        }
        if (prior) this.log.info({ ...where, records: prior.records }, 'resuming the object after the records confirmed before (checkpoint)')
        confirmations = new Confirmations(countEvents, (through) => store.advance(o.bucket, o.key, o.etag, through), prior?.records ?? 0)
      }
      const result = await this.pool.parse(
        `s3://${ref.bucket}/${ref.key}`,
        opened.input,
        (data, records, through) => this.write(data, records, through, confirmations, object),
        signal,
        this.options.rules,
        confirmations.frontier,
      )
      this.countSkips(result.stats.skipped, result.stats.invalidUtf8, where)
      this.metrics.countRules(result.stats.dropped, result.stats.redacted)
      if (result.stats.deduplicated > 0) this.metrics.deduplicated.inc(result.stats.deduplicated)
      this.metrics.eventLag.add(result.stats.eventLag)
      if (!result.ok) {
        // The S3 body failing mid-stream is S3's fault, not the object's.
        if (result.code === 'ERR_SOURCE') failure = { code: 'ERR_S3_TRANSIENT', message: result.message }
        else failure = { code: isErrorCode(result.code) ? result.code : 'ERR_WORKER', message: result.message }
      }
    } catch (err) {
      const e = isCollectorError(err) ? err : new CollectorError('ERR_S3_TRANSIENT', String(err), { bucket: ref.bucket, key: ref.key })
      failure = { code: e.code, message: e.message }
    }
    // The object's output is all with the sink now: its slot goes to the next object while the sink
    // confirms (see slots.ts's UNCONFIRMED_PER_SLOT); the message is deleted only after the confirmation.
    this.slots.release()
    const parsed = performance.now()
    const sinkError = await confirmations.settled()
    this.metrics.parseSeconds.observe((performance.now() - started) / 1000)
    if (!failure && !sinkError) {
      if (object) this.options.checkpoints?.advance(object.bucket, object.key, object.etag, confirmations.frontier, true)
      this.metrics.countObject('processed')
      const ms = Math.round
      this.log.debug({ ...where, fetchMs: ms(fetched - started), parseMs: ms(parsed - fetched), confirmMs: ms(performance.now() - parsed) }, 'object done')
      return 'ok'
    }
    this.metrics.countObject('failed')
    return this.failed(where, entry, failure, sinkError, signal.aborted)
  }

  /** Counts and logs an object that failed, and says what becomes of its message. */
  private failed(where: Where, entry: InFlight, failure: Failure | null, sinkError: Error | null, aborted: boolean): Outcome {
    if (aborted) {
      // Cut short by the shutdown: not the object's fault, whatever the worker or the sink reported.
      const code: ErrorCode = 'ERR_SHUTDOWN'
      this.metrics.error(code)
      this.log.warn({ stage: 'object', ...where, code, reason: failure?.message ?? sinkError?.message }, 'object cut short by the shutdown; its message goes back to the queue at once')
      return 'release'
    }
    let outcome: Outcome = 'retry'
    if (failure) {
      if (failure.code === 'ERR_WORKER' && entry.receiveCount >= WORKER_FAILURE_RECEIVES) {
        const message = `the parse worker failed on this object on receive ${entry.receiveCount} of its message: ${failure.message}`
        failure = { ...failure, code: 'ERR_WORKER_REPEATED', message }
      }
      const { permanent, stage } = errorInfo(failure.code)
      if (permanent) outcome = 'permanent'
      this.metrics.error(failure.code)
      this.log[permanent ? 'error' : 'warn'](
        { stage, ...where, code: failure.code, reason: failure.message },
        permanent && !sinkError ? 'object failed for good; counted and not retried' : 'object failed; its message will be retried',
      )
    }
    if (sinkError) {
      // The sink's refusal wins over the object's own failure: the records written before that failure were
      // not confirmed, so the message must come back, not be deleted as permanent.
      const code = isCollectorError(sinkError) ? sinkError.code : 'ERR_SINK'
      this.metrics.error(code)
      this.log.warn({ stage: 'sink', ...where, code, reason: sinkError.message }, "the sink did not confirm the object's records; its message will be retried")
      outcome = 'retry'
    }
    return outcome
  }

  /** Hands one output chunk to the sink; resolves when the sink can take more. */
  private write(data: Uint8Array, records: number, through: number, confirmations: Confirmations, object: CheckpointedObject | null): void | Promise<void> {
    const chunk = confirmations.add(through)
    const bytes = data.byteLength
    this.slots.hold(bytes)
    const confirm = (err: Error | null) => {
      if (!this.sink.keepsConfirmed) this.pool.recycle(data)
      confirmations.confirm(chunk, err, records)
      this.slots.confirmed(bytes)
    }
    const more = object ? this.sink.write(data, confirm, { ...object, through }) : this.sink.write(data, confirm)
    if (more) return
    return this.drained()
  }

  private drainWait: Promise<void> | null = null

  /** One wait for the sink's 'drain' shared by every object held up by it (one listener, not one each). */
  private drained(): Promise<void> {
    this.drainWait ??= new Promise<void>((resolve) => {
      const done = () => {
        this.sink.off('drain', done)
        this.abort.signal.removeEventListener('abort', done)
        this.drainWait = null
        resolve()
      }
      this.sink.on('drain', done)
      this.abort.signal.addEventListener('abort', done, { once: true })
    })
    return this.drainWait
  }

  private countSkips(skipped: Partial<Record<SkipReason, number>>, invalidUtf8: number, where: Record<string, string>): void {
    for (const [reason, n] of Object.entries(skipped) as [SkipReason, number | undefined][]) {
      if (!n) continue
      this.metrics.error(SKIP_CODES[reason], n)
      this.log.warn({ stage: 'record', ...where, reason, records: n }, 'records skipped')
    }
    if (invalidUtf8 > 0) {
      const { reason } = errorInfo('ERR_RECORD_INVALID_UTF8')
      this.metrics.error('ERR_RECORD_INVALID_UTF8', invalidUtf8)
      this.log.warn({ stage: 'record', ...where, reason, records: invalidUtf8 }, 'invalid UTF-8 replaced with U+FFFD')
    }
  }
}
