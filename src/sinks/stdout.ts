// stdout sink: a chunk is confirmed when the stream's write callback reports it handed to the OS.
// A broken stdout (EPIPE when the reader went away) is not recoverable: that chunk and every later one
// fail with ERR_SINK, logged once, without crashing the process on the stream's 'error' event.

import type { Writable } from 'node:stream'
import { CollectorError, describeError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { SinkBase } from './base.ts'
import type { Confirm } from './sink.ts'

export interface StdoutSinkOptions {
  logger: Logger
  highWaterMark?: number
}

/** The ledger holds what was handed to the stream, callback not seen yet, in write order (a Writable calls back in order). */
export class StdoutSink extends SinkBase {
  readonly kind = 'stdout'
  readonly framing = 'lines' as const
  readonly #stream: Writable
  readonly #logger: Logger
  #broken: CollectorError | null = null

  /** `stream` is process.stdout in production; tests inject their own. The stream is never ended. */
  constructor(stream: Writable, options: StdoutSinkOptions) {
    super(options.highWaterMark)
    this.#stream = stream
    this.#logger = options.logger
    // Without a listener an EPIPE would be an uncaught exception. Kept after close() for the same reason.
    stream.on('error', (err) => this.#break(err))
  }

  get healthy(): boolean {
    return this.#broken === null
  }

  protected override accept(chunk: Uint8Array, confirm: Confirm): boolean {
    if (this.#broken !== null) {
      confirm(this.#broken)
      return true // nothing is buffered, so no backpressure: the caller sees the failures instead
    }
    const entry = { chunk, confirm }
    const more = this.ledger.add(entry)
    this.#stream.write(chunk, (err) => {
      if (err) this.#break(err)
      else if (this.ledger.entries[0] === entry) this.ledger.settle(1, null)
      // else: already failed by #break or destroy()
    })
    return more
  }

  #break(err: Error): void {
    if (this.#broken === null) {
      this.#broken = new CollectorError('ERR_SINK', `stdout failed: ${err.message}`, { cause: err })
      this.#logger.error({ sink: this.kind, code: describeError(err).code }, 'stdout failed; every later write fails')
      this.emit('fatal', this.#broken)
    }
    this.ledger.failAll(this.#broken)
  }
}
