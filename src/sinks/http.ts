// http:// and https:// sink: chunks are batched into POST bodies of at most httpBatchBytes (a larger chunk
// goes alone), a partial batch waiting at most httpLingerMs. A 2xx confirms every chunk of its batch.
// Anything else is retried with backoff, forever, until it succeeds or the sink is destroyed: a SIEM
// that is down, overloaded or misconfigured (401, 413) must not lose data; the caller sees backpressure.
// At most `maxInFlight` batches are outstanding, and they are confirmed in order.

import { EventEmitter } from 'node:events'
import tls from 'node:tls'
import type { Pool } from 'undici'
import { backoffDelay, sleep } from '../backoff.ts'
import { CollectorError, describeError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { Ledger, type Pending } from './ledger.ts'
import type { Confirm, Sink } from './sink.ts'

export interface HttpSinkOptions {
  logger: Logger
  highWaterMark?: number
  retryMaxDelayMs?: number
  /** PEM trusted in addition to Node's default CAs (https only). */
  ca?: string
  tlsInsecure?: boolean
  httpHeaders?: Record<string, string>
  httpBatchBytes?: number
  httpLingerMs?: number
  httpContentType?: string
}

interface Entry extends Pending {
  queuedAt: number
}

/** One POST: `count` consecutive ledger entries, those right after the entries of the earlier batches in the window. */
interface Batch {
  count: number
  body: Buffer
  done: boolean
}

/** Two POSTs in flight keep the pipe full while one waits for its response, without reordering much. */
const maxInFlight = 2
const timeoutMs = 30_000

export class HttpSink extends EventEmitter implements Sink {
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
  /** Unconfirmed chunks in write order: those of the batches in #window, then those in no batch yet. */
  readonly #ledger: Ledger<Entry>
  /**
   * How many of the newest entries are in no batch yet, and their bytes. Counted from the end, so that
   * settling the oldest entries never moves them.
   */
  #unbatched = 0
  #unbatchedBytes = 0
  /** Batches sent and not yet confirmed, oldest first. */
  #window: Batch[] = []
  #linger: NodeJS.Timeout | null = null
  #healthy = true
  #closed = false
  #destroyed = false
  #closing: Promise<void> | null = null
  readonly #abort = new AbortController()

  constructor(url: URL, options: HttpSinkOptions) {
    super()
    this.kind = url.protocol === 'https:' ? 'https' : 'http'
    this.#path = `${url.pathname}${url.search}`
    // Lower-cased so that a Content-Type in httpHeaders replaces the default instead of doubling it.
    const extra = Object.entries(options.httpHeaders ?? {}).map(([name, value]) => [name.toLowerCase(), value])
    this.#headers = { 'content-type': options.httpContentType ?? 'application/x-ndjson', ...Object.fromEntries(extra) }
    this.#logger = options.logger
    this.#ledger = new Ledger(options.highWaterMark ?? 8 * 1024 * 1024, () => this.emit('drain'))
    this.#retryMaxDelayMs = options.retryMaxDelayMs ?? 30_000
    this.#batchBytes = options.httpBatchBytes ?? 1024 * 1024
    this.#lingerMs = options.httpLingerMs ?? 100
    this.#pool = import('undici').then(
      ({ Pool }) =>
        new Pool(url.origin, {
          connections: maxInFlight,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          connect: {
            timeout: 10_000,
            // `ca` replaces Node's bundle, so the defaults are added back. undici sets the servername.
            ca: options.ca === undefined ? undefined : [...tls.rootCertificates, options.ca],
            rejectUnauthorized: options.tlsInsecure !== true,
          },
        }),
    )
  }

  get healthy(): boolean {
    return this.#healthy
  }

  /** Failures confirm synchronously, before write returns. */
  write(chunk: Uint8Array, confirm: Confirm): boolean {
    if (this.#closed) {
      confirm(new CollectorError('ERR_SINK_CLOSED', `${this.kind} sink is closed`))
      return false
    }
    const more = this.#ledger.add({ chunk, confirm, queuedAt: performance.now() })
    this.#unbatched++
    this.#unbatchedBytes += chunk.byteLength
    this.#pump()
    return more
  }

  flush(): Promise<void> {
    const done = this.#ledger.flush()
    if (this.#ledger.flushing) this.#pump()
    return done
  }

  close(): Promise<void> {
    this.#closed = true
    this.#closing ??= this.flush().then(async () => {
      if (!this.#destroyed) await (await this.#pool).close() // destroy() has already torn the pool down
    })
    return this.#closing
  }

  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = this.#closed = true
    this.#abort.abort()
    if (this.#linger !== null) clearTimeout(this.#linger)
    this.#window = []
    this.#unbatched = 0
    this.#unbatchedBytes = 0
    this.#ledger.failAll(new CollectorError('ERR_SINK_CLOSED', `${this.kind} sink destroyed`))
    void this.#pool.then((pool) => pool.destroy()).catch(() => {})
  }

  /** Sends every batch that is ready while there is room in the window. */
  #pump(): void {
    const entries = this.#ledger.entries
    while (this.#window.length < maxInFlight && this.#unbatched > 0 && !this.#destroyed) {
      const first = entries.length - this.#unbatched
      // Checked before scanning, so that many small writes into a lingering batch stay O(1) each.
      const full = this.#unbatchedBytes >= this.#batchBytes
      const waited = performance.now() - entries[first].queuedAt
      if (!full && waited < this.#lingerMs && !this.#ledger.flushing) {
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
      const batch: Batch = { count: end - first, body, done: false }
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

  /** POSTs one batch until a 2xx, or until the sink is destroyed. */
  async #post(batch: Batch): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let delayMs: number
      try {
        const res = await (await this.#pool).request({
          method: 'POST',
          path: this.#path,
          headers: this.#headers,
          body: batch.body,
          signal: this.#abort.signal,
        })
        // The response body is not needed; dump() frees the connection (and may fail harmlessly).
        await res.body.dump().catch(() => {})
        if (this.#destroyed) return
        if (res.statusCode >= 200 && res.statusCode < 300) {
          this.#healthy = true
          batch.done = true
          this.#confirmDone()
          return
        }
        this.#healthy = false
        const status = res.statusCode
        delayMs = retryAfterMs(res.headers['retry-after'], this.#retryMaxDelayMs) ?? backoffDelay(attempt, { maxMs: this.#retryMaxDelayMs })
        // 408, 429 and 5xx are the SIEM being busy; anything else is a misconfiguration someone must fix.
        const transient = status === 408 || status === 429 || status >= 500
        const fields = { sink: this.kind, code: `HTTP_${status}`, status, attempt, delayMs }
        if (transient) this.#logger.warn(fields, 'POST failed; retrying')
        else this.#logger.error(fields, 'POST rejected; retrying until the destination accepts it')
      } catch (err) {
        if (this.#destroyed) return
        this.#healthy = false
        delayMs = backoffDelay(attempt, { maxMs: this.#retryMaxDelayMs })
        this.#logger.warn({ sink: this.kind, code: describeError(err).code, attempt, delayMs }, 'POST failed; retrying')
      }
      if (!(await sleep(delayMs, this.#abort.signal))) return
    }
  }

  /** Confirms finished batches from the front of the window, so confirmations keep write order. */
  #confirmDone(): void {
    while (this.#window.length > 0 && this.#window[0].done) this.#ledger.settle(this.#window.shift()!.count, null)
    this.#pump()
  }
}

/** Retry-After as delta-seconds or an HTTP-date, in ms capped at `maxMs`; undefined when absent or invalid. */
export function retryAfterMs(header: string | string[] | undefined, maxMs: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined || value.trim() === '') return undefined
  const ms = /^\s*\d+\s*$/.test(value) ? Number(value) * 1000 : Date.parse(value) - Date.now()
  if (!Number.isFinite(ms)) return undefined
  return Math.min(Math.max(0, ms), maxMs)
}
