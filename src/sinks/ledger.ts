// The bookkeeping every sink shares: the writes not yet confirmed, oldest first, their bytes counted against
// the high-water mark, one 'drain' once they fall below it again, and flush() waiters. A sink keeps only
// what is specific to its destination: how and when its oldest writes become durable, and then says so here.
//
//   entries:  [ oldest ... newest ]     settle(n, err) confirms from the left; add() appends on the right
//   added - settled = entries.length    a flush() waits until `settled` reaches `added` as it was at its call

import type { Confirm } from './sink.ts'

/** One write. A sink may use a wider type that carries what it needs besides (e.g. when it was queued). */
export interface Pending {
  readonly chunk: Uint8Array
  readonly confirm: Confirm
}

export class Ledger<E extends Pending = Pending> {
  readonly #entries: E[] = []
  readonly #highWaterMark: number
  readonly #onDrain: () => void
  #bytes = 0
  #needDrain = false
  #added = 0
  /** Ordered by target, since each flush() targets `added` at the time of its call. */
  readonly #waiters: Array<{ target: number; resolve: () => void }> = []

  /** Unconfirmed bytes. */
  get bytes(): number {
    return this.#bytes
  }

  get highWaterMark(): number {
    return this.#highWaterMark
  }

  /** `onDrain` runs once each time the unconfirmed bytes fall below the mark after add() returned false. */
  constructor(highWaterMark: number, onDrain: () => void) {
    this.#highWaterMark = highWaterMark
    this.#onDrain = onDrain
  }

  /** The unconfirmed writes, oldest first; a live view that only add(), settle() and failAll() change. */
  get entries(): readonly E[] {
    return this.#entries
  }

  /** True while a flush() waits: a sink that holds writes back (to batch or sync them) sends them at once. */
  get flushing(): boolean {
    return this.#waiters.length > 0
  }

  /** Records a write. False once the unconfirmed bytes reach the high-water mark: the caller waits for drain. */
  add(entry: E): boolean {
    this.#entries.push(entry)
    this.#bytes += entry.chunk.byteLength
    this.#added++
    if (this.#bytes >= this.#highWaterMark) this.#needDrain = true
    return !this.#needDrain
  }

  /**
   * Confirms the oldest `count` writes with `err` (null: durable), in order. Each leaves the ledger just
   * before its confirm runs, so a confirm that writes again queues behind, and one that destroys the sink
   * (failAll) fails the rest: every write is confirmed exactly once.
   */
  settle(count: number, err: Error | null): void {
    for (let n = 0; n < count && this.#entries.length > 0; n++) {
      const entry = this.#entries.shift()!
      this.#bytes -= entry.chunk.byteLength
      entry.confirm(err)
    }
    if (this.#needDrain && this.#bytes < this.#highWaterMark) {
      this.#needDrain = false
      this.#onDrain()
    }
    const settled = this.#added - this.#entries.length
    while (this.#waiters.length > 0 && this.#waiters[0].target <= settled) this.#waiters.shift()!.resolve()
  }

  /** Confirms every write still pending with `err`, in order (ERR_SINK_CLOSED on destroy, say). */
  failAll(err: Error): void {
    this.settle(this.#entries.length, err)
  }

  /** Resolves once every write added before this call is settled, whether confirmed or failed. */
  flush(): Promise<void> {
    if (this.#entries.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ target: this.#added, resolve }))
  }
}
