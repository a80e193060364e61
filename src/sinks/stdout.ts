// stdout sink: a chunk is confirmed when the stream's write callback reports it handed to the OS.
// A broken stdout (EPIPE when the reader went away) is not recoverable: that chunk and every later one
// fail with ERR_SINK, logged once, without crashing the process on the stream's 'error' event.

import { EventEmitter } from 'node:events'
import type { Writable } from 'node:stream'
import { CollectorError, describeError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { Confirm, Sink } from './sink.ts'

export interface StdoutSinkOptions {
  logger: Logger
  highWaterMark?: number
}

interface Entry {
  size: number
  confirm: Confirm
}

export class StdoutSink extends EventEmitter implements Sink {
  readonly kind = 'stdout'
  readonly framing = 'lines' as const
  readonly #stream: Writable
  readonly #logger: Logger
  readonly #highWaterMark: number
  /** Handed to the stream, callback not seen yet; in write order (a Writable calls back in order). */
  #pending: Entry[] = []
  #bytes = 0
  #needDrain = false
  #writes = 0
  #settled = 0
  #waiters: Array<{ target: number; resolve: () => void }> = []
  #broken: CollectorError | null = null
  #closed = false
  #closing: Promise<void> | null = null

  /** `stream` is process.stdout in production; tests inject their own. The stream is never ended. */
  constructor(stream: Writable, options: StdoutSinkOptions) {
    super()
    this.#stream = stream
    this.#logger = options.logger
    this.#highWaterMark = options.highWaterMark ?? 8 * 1024 * 1024
    // Without a listener an EPIPE would be an uncaught exception. Kept after close() for the same reason.
    stream.on('error', (err) => this.#break(err))
  }

  get healthy(): boolean {
    return this.#broken === null
  }

  /** Failures confirm synchronously, before write returns. */
  write(chunk: Uint8Array, confirm: Confirm): boolean {
    if (this.#closed) {
      confirm(new CollectorError('ERR_SINK_CLOSED', 'stdout sink is closed'))
      return false
    }
    if (this.#broken !== null) {
      confirm(this.#broken)
      return true // nothing is buffered, so no backpressure: the caller sees the failures instead
    }
    const entry: Entry = { size: chunk.byteLength, confirm }
    this.#pending.push(entry)
    this.#bytes += entry.size
    this.#writes++
    this.#stream.write(chunk, (err) => {
      if (err) this.#break(err)
      else if (this.#pending[0] === entry) this.#settle(null)
      // else: already failed by #break or destroy()
    })
    if (this.#bytes >= this.#highWaterMark) this.#needDrain = true
    return !this.#needDrain
  }

  flush(): Promise<void> {
    if (this.#settled >= this.#writes) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ target: this.#writes, resolve }))
  }

  close(): Promise<void> {
    this.#closed = true
    this.#closing ??= this.flush()
    return this.#closing
  }

  destroy(): void {
    this.#closed = true
    while (this.#pending.length > 0) this.#settle(new CollectorError('ERR_SINK_CLOSED', 'stdout sink destroyed'))
  }

  #break(err: Error): void {
    if (this.#broken === null) {
      this.#broken = new CollectorError('ERR_SINK', `stdout failed: ${err.message}`, { cause: err })
      this.#logger.error({ sink: this.kind, code: describeError(err).code }, 'stdout failed; every later write fails')
      this.emit('fatal', this.#broken)
    }
    while (this.#pending.length > 0) this.#settle(this.#broken)
  }

  /** Confirms the oldest pending entry. */
  #settle(err: Error | null): void {
    const entry = this.#pending.shift()!
    this.#bytes -= entry.size
    this.#settled++
    entry.confirm(err)
    if (this.#needDrain && this.#bytes < this.#highWaterMark) {
      this.#needDrain = false
      this.emit('drain')
    }
    while (this.#waiters.length > 0 && this.#waiters[0].target <= this.#settled) this.#waiters.shift()!.resolve()
  }
}
