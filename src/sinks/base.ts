// The lifecycle every sink shares, written once (as undici's dispatchers share close/destroy in a base class):
// the ledger of unconfirmed writes and its 'drain', writes refused once the sink is closed, flush() over the
// ledger, close() and destroy() each taking effect once however often they are called. A sink extends
// SinkBase and holds only what is its own: how a write goes out (accept), what it sends at once when someone
// flushes (push), what it releases after the last confirmation (release), and what it stops on destroy (stop).
//
//   write ─► closed? ── yes ─► confirm(ERR_SINK_CLOSED), false
//              └─ no ──► accept()                      the sink's own
//   close ─► closed; once: flush() ─► release()         a second close() gets the same promise
//   destroy ─► once: closed; stop(); ledger.failAll(ERR_SINK_CLOSED)

import { EventEmitter } from 'node:events'
import { CollectorError } from '../errors.ts'
import { Ledger, type Pending } from './ledger.ts'
import type { ChunkTag, Confirm, Framing, Sink } from './sink.ts'

/** Unconfirmed bytes at or above which write() returns false, unless the sink is told otherwise. */
export const defaultHighWaterMark = 8 * 1024 * 1024

export abstract class SinkBase<E extends Pending = Pending> extends EventEmitter implements Sink {
  abstract readonly kind: string
  abstract readonly framing: Framing
  abstract readonly healthy: boolean
  /** The writes not yet confirmed, oldest first; the sink settles them as they become durable. */
  protected readonly ledger: Ledger<E>
  #closed = false
  #destroyed = false
  #closing: Promise<void> | null = null

  constructor(highWaterMark: number | undefined) {
    super()
    this.ledger = new Ledger<E>(highWaterMark ?? defaultHighWaterMark, () => this.emit('drain'))
  }

  /** close() or destroy() was called: writes are refused. */
  protected get closed(): boolean {
    return this.#closed
  }

  /** destroy() was called: every pending write has failed, and nothing is sent any more. */
  protected get destroyed(): boolean {
    return this.#destroyed
  }

  /** Failures confirm synchronously, before write returns. */
  write(chunk: Uint8Array, confirm: Confirm, tag?: ChunkTag): boolean {
    if (this.#closed) {
      confirm(new CollectorError('ERR_SINK_CLOSED', `${this.kind} sink is closed`))
      return false
    }
    return this.accept(chunk, confirm, tag)
  }

  flush(): Promise<void> {
    const done = this.ledger.flush()
    if (this.ledger.flushing) this.push()
    return done
  }

  close(): Promise<void> {
    this.#closed = true
    this.#closing ??= this.flush().then(() => this.release())
    return this.#closing
  }

  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = this.#closed = true
    this.stop()
    this.ledger.failAll(new CollectorError('ERR_SINK_CLOSED', `${this.kind} sink destroyed`))
  }

  /** A write to an open sink: records it in the ledger and starts it on its way; returns what ledger.add() says. */
  protected abstract accept(chunk: Uint8Array, confirm: Confirm, tag?: ChunkTag): boolean

  /** A flush() waits on writes the sink holds back (to batch or fsync them): send them now. */
  protected push(): void {}

  /** After close()'s flush: gives back connections and files. Runs once. */
  protected release(): Promise<void> | void {}

  /** On destroy(), before the pending writes fail: stops timers, retries and connections at once. */
  protected stop(): void {}
}
