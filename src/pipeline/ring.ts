// The bounded buffer between the SQS receivers and the processing stage: a fixed power-of-two ring,
// indexed with a mask (as in Piscina's FixedQueue).
//
//        head                 tail
//          v                    v
//   [ . . a b c d e . . . . . . ]      size = tail - head, free = capacity - size - reserved
//
// A receiver reserves room before it calls ReceiveMessage (so it never asks for more than fits, and
// several receivers never over-commit), pushes what arrived and releases the rest. push() returns false
// when full: backpressure by return value, never by growing.

import type { Message } from '@aws-sdk/client-sqs'
import type { InFlight } from './acker.ts'

/** What the receivers put on the ring for the processor: an SQS message and the acker's entry for it. */
export interface Received {
  message: Message
  entry: InFlight
}

export class Ring<T> {
  private readonly items: (T | undefined)[]
  private readonly mask: number
  private head = 0
  private tail = 0
  private reservedSlots = 0
  private spaceWaiters: (() => void)[] = []
  private itemWaiters: (() => void)[] = []

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`ring capacity must be a power of two, got ${capacity}`)
    }
    this.items = new Array<T | undefined>(capacity)
    this.mask = capacity - 1
  }

  get capacity(): number {
    return this.mask + 1
  }

  get size(): number {
    return this.tail - this.head
  }

  get reserved(): number {
    return this.reservedSlots
  }

  /** Slots neither used nor reserved. */
  get free(): number {
    return this.capacity - this.size - this.reservedSlots
  }

  /** Reserves up to `max` slots; returns how many (0 when full). */
  reserve(max: number): number {
    const n = Math.max(0, Math.min(max, this.free))
    this.reservedSlots += n
    return n
  }

  /** Gives back reserved slots that were not used. */
  release(n: number): void {
    this.reservedSlots -= Math.min(n, this.reservedSlots)
    if (n > 0) this.wake(this.spaceWaiters)
  }

  /** Adds an item, using a reserved slot if there is one; false when the ring is full. */
  push(item: T): boolean {
    if (this.reservedSlots > 0) this.reservedSlots--
    else if (this.free === 0) return false
    if (this.size === this.capacity) return false
    this.items[this.tail & this.mask] = item
    this.tail++
    this.wake(this.itemWaiters)
    return true
  }

  shift(): T | undefined {
    if (this.head === this.tail) return undefined
    const index = this.head & this.mask
    const item = this.items[index]
    this.items[index] = undefined
    this.head++
    this.wake(this.spaceWaiters)
    return item
  }

  /** Resolves when a slot may have become free (or at once if one is), or when `signal` aborts. */
  waitForSpace(signal?: AbortSignal): Promise<void> {
    return this.free > 0 ? Promise.resolve() : this.wait(this.spaceWaiters, signal)
  }

  /** Resolves when an item may be there (or at once if one is), or when `signal` aborts. */
  waitForItem(signal?: AbortSignal): Promise<void> {
    return this.size > 0 ? Promise.resolve() : this.wait(this.itemWaiters, signal)
  }

  private wait(waiters: (() => void)[], signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done)
        const i = waiters.indexOf(done)
        if (i >= 0) waiters.splice(i, 1)
        resolve()
      }
      waiters.push(done)
      signal?.addEventListener('abort', done, { once: true })
    })
  }

  private wake(waiters: (() => void)[]): void {
    if (waiters.length === 0) return
    // Every waiter re-checks; there are at most (receivers + 1) of them.
    for (const w of waiters.splice(0)) w()
  }
}
