// http:// and https:// sink: chunks are batched into POST bodies of at most httpBatchBytes (a larger chunk
// goes alone), a partial batch waiting at most httpLingerMs. A 2xx confirms every chunk of its batch.
// A body refused as too large (413) is cut in two at a record boundary and the halves are sent one after
// the other, down to a single record; a single record refused as too large fails its batch with
// ERR_SINK_REJECTED (the objects' messages stay in SQS: retried later, or moved to the dead-letter
// queue), so that one oversized record cannot stop the pipeline. Anything else is retried with backoff,
// forever, until it succeeds or the sink is destroyed: a SIEM that is down, overloaded or misconfigured
// (401, 404) must not lose data; the caller sees backpressure. At most `maxInFlight` batches are
// outstanding, and they are confirmed in order.
//
// Health follows the POSTs. When they don't tell (at start, before the first answer, and while nothing has
// been sent for idleProbeMs) a probe does: a connection to the destination (with the TLS handshake for
// https; no request), tried again with backoff while it fails. So a wrong address or a SIEM that is down
// shows in /readyz at start, and a SIEM that went away while idle shows before the next records.

import type { Dispatcher, Pool } from 'undici'
import { sleep } from '../sleep.ts'
import { CollectorError, describeError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { retryDelayMs, sinkPolicy, withRetry } from '../retry.ts'
import { SinkBase } from './base.ts'
import { connectTimeoutMs, reach, tlsClientOptions, type TlsTrust } from './connect.ts'
import type { Pending } from './ledger.ts'
import type { Confirm } from './sink.ts'

export interface HttpSinkOptions extends TlsTrust {
  logger: Logger
  highWaterMark?: number
  retryMaxDelayMs?: number
  httpHeaders?: Record<string, string>
  httpBatchBytes?: number
  httpLingerMs?: number
  httpContentType?: string
  /** How long without an answered POST before the destination is probed again; default 30 000. */
  idleProbeMs?: number
}

interface Entry extends Pending {
  queuedAt: number
}

/** One POST: `count` consecutive ledger entries, those right after the entries of the earlier batches in the window. */
interface Batch {
  count: number
  body: Buffer
  done: boolean
  /** Set when done: null once delivered, else why its chunks can't be. */
  error: Error | null
}

/** Two POSTs in flight keep the pipe full while one waits for its response, without reordering much. */
const maxInFlight = 2
const timeoutMs = 30_000

/** The ledger holds the unconfirmed chunks in write order: those of the batches in #window, then those in no batch yet. */
export class HttpSink extends SinkBase<Entry> {
  readonly kind: 'http' | 'https'
  readonly framing = 'lines' as const
  /**
   * undici is loaded on first use (it takes ~70 ms to import; `parse` and stdout/file/syslog runs do not
   * pay for it): the pool is a promise.
   */
  readonly #pool: Promise<Pool>
  readonly #path: string
  readonly #headers: Record<string, string>
  readonly #logger: Logger
  readonly #retryMaxDelayMs: number
  readonly #batchBytes: number
  readonly #lingerMs: number
  /**
   * How many of the newest entries are in no batch yet, and their bytes. Counted from the end, so that
   * settling the oldest entries never moves them.
   */
  #unbatched = 0
  #unbatchedBytes = 0
  /** Batches sent and not yet confirmed, oldest first. */
  #window: Batch[] = []
  #linger: NodeJS.Timeout | null = null
  #healthy = false
  /** When a POST was last answered (performance.now()); 0 before the first. */
  #answeredAt = 0
  readonly #idleProbeMs: number
  /** Stops the probes: close() and destroy(). */
  readonly #probing = new AbortController()
  /** A 413 has been logged at warn (once; later ones at debug). */
  #warnedTooLarge = false
  readonly #abort = new AbortController()

  constructor(url: URL, options: HttpSinkOptions) {
    super(options.highWaterMark)
    this.kind = url.protocol === 'https:' ? 'https' : 'http'
    this.#path = `${url.pathname}${url.search}`
    // Lower-cased so that a Content-Type in httpHeaders replaces the default instead of doubling it.
    const extra = Object.entries(options.httpHeaders ?? {}).map(([name, value]) => [name.toLowerCase(), value])
    this.#headers = { 'content-type': options.httpContentType ?? 'application/x-ndjson', ...Object.fromEntries(extra) }
    this.#logger = options.logger
    this.#retryMaxDelayMs = options.retryMaxDelayMs ?? 30_000
    this.#batchBytes = options.httpBatchBytes ?? 1024 * 1024
    this.#lingerMs = options.httpLingerMs ?? 100
    this.#idleProbeMs = options.idleProbeMs ?? 30_000
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
    const { ca, rejectUnauthorized } = tlsClientOptions(host, options) // undici sets the servername
    this.#pool = import('undici').then(
      ({ Pool }) =>
        new Pool(url.origin, {
          connections: maxInFlight,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          connect: { timeout: connectTimeoutMs, ca, rejectUnauthorized },
        }),
    )
    const port = Number(url.port) || (this.kind === 'https' ? 443 : 80)
    void this.#watch(host, port, this.kind === 'https' ? options : null)
  }

  get healthy(): boolean {
    return this.#healthy
  }

  protected override accept(chunk: Uint8Array, confirm: Confirm): boolean {
    const more = this.ledger.add({ chunk, confirm, queuedAt: performance.now() })
    this.#unbatched++
    this.#unbatchedBytes += chunk.byteLength
    this.#pump()
    return more
  }

  /** The probes stop at once: from now on only the POSTs of the flush tell. */
  override close(): Promise<void> {
    this.#probing.abort()
    return super.close()
  }

  protected override push(): void {
    this.#pump()
  }

  protected override async release(): Promise<void> {
    if (!this.destroyed) await (await this.#pool).close() // destroy() has already torn the pool down
  }

  protected override stop(): void {
    this.#abort.abort()
    this.#probing.abort()
    if (this.#linger !== null) clearTimeout(this.#linger)
    this.#window = []
    this.#unbatched = 0
    this.#unbatchedBytes = 0
    void this.#pool.then((pool) => pool.destroy()).catch(() => {})
  }

  /**
   * The probe, for the sink's life: at once, then whenever the POSTs have not told for idleProbeMs;
   * every backoff step while it fails. A probe's result does not count when a POST was answered while it ran.
   */
  async #watch(host: string, port: number, secure: TlsTrust | null): Promise<void> {
    const signal = this.#probing.signal
    const wait = (ms: number) => sleep(ms, signal, { unref: true })
    for (let failures = 0; ; ) {
      const since = this.#answeredAt
      const err = await reach(host, port, secure, signal)
      if (signal.aborted) return
      if (this.#answeredAt === since) {
        if (err === null) {
          if (failures > 0 && since > 0) this.#logger.info({ sink: this.kind, host, port }, 'the destination can be reached again')
          this.#healthy = true
          failures = 0
        } else {
          this.#healthy = false
          const fields = { sink: this.kind, code: describeError(err).code, host, port, attempt: failures }
          if (failures === 0) this.#logger.warn(fields, 'cannot reach the destination; checking again with backoff (not ready until it answers)')
          else this.#logger.debug(fields, 'cannot reach the destination yet')
          failures++
        }
      }
      if (!(await wait(failures > 0 ? retryDelayMs(sinkPolicy(this.#retryMaxDelayMs), failures) : this.#idleProbeMs))) return
      // While batches are out or were answered lately, the POSTs tell.
      while (this.#window.length > 0 || this.#unbatched > 0 || (this.#answeredAt > 0 && performance.now() - this.#answeredAt < this.#idleProbeMs)) {
        failures = 0
        if (!(await wait(this.#idleProbeMs))) return
      }
    }
  }

  /** Sends every batch that is ready while there is room in the window. */
  #pump(): void {
    const entries = this.ledger.entries
    while (this.#window.length < maxInFlight && this.#unbatched > 0 && !this.destroyed) {
      const first = entries.length - this.#unbatched
      // Checked before scanning, so that many small writes into a lingering batch stay O(1) each.
      const full = this.#unbatchedBytes >= this.#batchBytes
      const waited = performance.now() - entries[first].queuedAt
      if (!full && waited < this.#lingerMs && !this.ledger.flushing) {
        this.#armLinger(this.#lingerMs - waited)
        return
      }
      let size = entries[first].chunk.byteLength
      let end = first + 1
      while (end < entries.length && size + entries[end].chunk.byteLength <= this.#batchBytes) {
        size += entries[end++].chunk.byteLength
      }
      this.#unbatched -= end - first
      this.#unbatchedBytes -= size
      const body = Buffer.concat(entries.slice(first, end).map((e) => e.chunk), size)
      const batch: Batch = { count: end - first, body, done: false, error: null }
      this.#window.push(batch)
      void this.#post(batch)
    }
  }

  /** Armed only while a partial batch waits, and kept referenced: pending data must go out even if nothing else runs. */
  #armLinger(ms: number): void {
    if (this.#linger !== null) return
    this.#linger = setTimeout(() => {
      this.#linger = null
      this.#pump()
    }, Math.ceil(ms))
  }

  /** Sends one batch, records how it ended, and confirms the finished batches at the front of the window. */
  async #post(batch: Batch): Promise<void> {
    const result = await this.#send(batch.body)
    if (result === 'destroyed') return
    batch.done = true
    batch.error = result === 'delivered' ? null : result
    this.#confirmDone()
  }

  /**
   * POSTs one body until a 2xx, or until the sink is destroyed. A body refused as too large is sent in
   * two halves; a single record refused as too large is an error for the caller.
   */
  async #send(body: Buffer): Promise<'delivered' | 'destroyed' | CollectorError> {
    const signal = this.#abort.signal
    const post = async (): Promise<'delivered' | 'destroyed' | CollectorError> => {
      let res: Dispatcher.ResponseData
      try {
        res = await (await this.#pool).request({ method: 'POST', path: this.#path, headers: this.#headers, body, signal })
        // The response body is not needed; dump() frees the connection (and may fail harmlessly).
        await res.body.dump().catch(() => {})
      } catch (err) {
        if (this.destroyed) return 'destroyed'
        this.#healthy = false
        throw err
      }
      if (this.destroyed) return 'destroyed'
      this.#answeredAt = performance.now()
      const status = res.statusCode
      if (status >= 200 && status < 300) {
        this.#healthy = true
        return 'delivered'
      }
      if (status === 413) return await this.#tooLarge(body)
      this.#healthy = false
      throw new Refused(status, retryAfterMs(res.headers['retry-after'], this.#retryMaxDelayMs))
    }
    const onRetry = (err: unknown, attempt: number, delayMs: number) => {
      if (err instanceof Refused) {
        // 408, 429 and 5xx are the SIEM being busy; anything else is a misconfiguration someone must fix.
        const transient = err.status === 408 || err.status === 429 || err.status >= 500
        const fields = { sink: this.kind, code: `HTTP_${err.status}`, status: err.status, attempt: attempt - 1, delayMs }
        if (transient) this.#logger.warn(fields, 'POST failed; retrying')
        else this.#logger.error(fields, 'POST rejected; retrying until the destination accepts it')
      } else this.#logger.warn({ sink: this.kind, code: describeError(err).code, attempt: attempt - 1, delayMs }, 'POST failed; retrying')
    }
    const askedWaitMs = (err: unknown) => (err instanceof Refused ? err.retryAfterMs : undefined)
    try {
      return await withRetry(sinkPolicy(this.#retryMaxDelayMs), post, { signal, onRetry, askedWaitMs })
    } catch (err) {
      if (signal.aborted) return 'destroyed'
      throw err
    }
  }

  /** 413: the halves of the body one after the other, or an error when it is a single record. */
  async #tooLarge(body: Buffer): Promise<'delivered' | 'destroyed' | CollectorError> {
    const cut = middleRecord(body)
    if (cut === 0) {
      const message = `the destination refused a single record of ${body.length} bytes as too large (HTTP 413)`
      this.#logger.error({ sink: this.kind, code: 'ERR_SINK_REJECTED', status: 413, bytes: body.length }, `${message}; its message stays in the queue`)
      return new CollectorError('ERR_SINK_REJECTED', message)
    }
    const fields = { sink: this.kind, code: 'HTTP_413', status: 413, bytes: body.length }
    const note = 'POST refused as too large; sending it in two halves (lower http_batch_bytes below what the destination accepts)'
    if (this.#warnedTooLarge) this.#logger.debug(fields, note)
    else this.#logger.warn(fields, note)
    this.#warnedTooLarge = true
    const first = await this.#send(body.subarray(0, cut))
    return first === 'delivered' ? this.#send(body.subarray(cut)) : first
  }

  /** Confirms finished batches from the front of the window, so confirmations keep write order. */
  #confirmDone(): void {
    while (this.#window.length > 0 && this.#window[0].done) {
      const batch = this.#window.shift()!
      this.ledger.settle(batch.count, batch.error)
    }
    this.#pump()
  }
}

/** An answer other than 2xx or 413, with the wait its Retry-After asks for. */
class Refused extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}`)
    this.name = 'Refused'
  }
}

/** Where to cut a body of whole lines in two: after the line end nearest its middle; 0 for a single line. */
function middleRecord(body: Uint8Array): number {
  const middle = body.length >> 1
  const before = body.lastIndexOf(10, middle - 1)
  const after = body.indexOf(10, middle)
  const cuts = [before + 1, after + 1].filter((c) => c > 0 && c < body.length)
  if (cuts.length === 0) return 0
  return cuts.reduce((best, c) => (Math.abs(c - middle) < Math.abs(best - middle) ? c : best))
}

/** Retry-After as delta-seconds or an HTTP-date, in ms capped at `maxMs`; undefined when absent or invalid. */
export function retryAfterMs(header: string | string[] | undefined, maxMs: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined || value.trim() === '') return undefined
  const ms = /^\s*\d+\s*$/.test(value) ? Number(value) * 1000 : Date.parse(value) - Date.now()
  if (!Number.isFinite(ms)) return undefined
  return Math.min(Math.max(0, ms), maxMs)
}
