// Admission to the processor: whether a new object may start. Three counts bound it:
//
//   fetching     objects being fetched or parsed (the slots): at most maxObjectsInFlight;
//   in flight    objects started and not yet settled (fetching, or their output waiting for the sink's
//                confirmation): at most maxObjectsInFlight x (1 + UNCONFIRMED_PER_SLOT);
//   unconfirmed  output handed to the sink and not yet confirmed or failed: below maxUnconfirmedBytes.
//
// An object that may not start waits, in order of arrival; a later one never overtakes it. The processor
// waits here before it takes the message's next object, so that the ring fills and the receivers stop
// asking SQS for more.

/**
 * Objects whose output waits for the sink's confirmation, per fetch-and-parse slot: a file sink confirms
 * at its next fsync, so a slot is freed when an object's output is with the sink, not when it is confirmed
 * (holding it starved the parse threads: bench/eps.ts --mode drain went from ~40k to ~80k records/s); this
 * bounds in objects what waits for the sink (and so what a crash writes twice), MAX_UNCONFIRMED_BYTES in
 * bytes.
 */
export const UNCONFIRMED_PER_SLOT = 4

/**
 * What may wait for the sink's confirmation in bytes, beyond which no new object starts. The sinks push
 * back at their high-water mark (8 MiB), which holds back the objects being parsed (two chunks each at
 * most, workers/object-stream.ts); but an object of one or two chunks is done without waiting for a credit,
 * and 5 x max_objects_in_flight of them held their output through a sink outage (test/pipeline/processor.test.ts).
 */
export const MAX_UNCONFIRMED_BYTES = 16 << 20

export class Slots {
  private fetching = 0
  private pending = 0
  private unconfirmed = 0
  private waiters: (() => void)[] = []
  private idleWaiters: (() => void)[] = []

  constructor(
    private readonly maxObjectsInFlight: number,
    private readonly maxUnconfirmedBytes = MAX_UNCONFIRMED_BYTES,
  ) {}

  /** Objects started and not yet settled (confirmed or failed). */
  get inFlight(): number {
    return this.pending
  }

  /** Output handed to the sink and not yet confirmed or failed, in bytes. */
  get unconfirmedBytes(): number {
    return this.unconfirmed
  }

  /** Resolves once a new object may start, counted as fetching and in flight from then on. */
  acquire(): Promise<void> {
    const take = () => {
      this.fetching++
      this.pending++
    }
    if (this.waiters.length === 0 && this.canStart()) {
      take()
      return Promise.resolve()
    }
    return new Promise((resolve) =>
      this.waiters.push(() => {
        take()
        resolve()
      }),
    )
  }

  /** The object's fetch and parse are done (its output may still wait for the sink). */
  release(): void {
    this.fetching--
    this.wake()
  }

  /** The object is settled: confirmed, or failed. */
  settle(): void {
    this.pending--
    this.wake()
    if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w()
  }

  /** Output handed to the sink, until `confirmed` with the same count. */
  hold(bytes: number): void {
    this.unconfirmed += bytes
  }

  /** The sink confirmed (or failed) output handed to it with `hold`. */
  confirmed(bytes: number): void {
    this.unconfirmed -= bytes
    this.wake()
  }

  /** Resolves once no object is in flight (at once if none is). */
  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private canStart(): boolean {
    const max = this.maxObjectsInFlight
    return this.fetching < max && this.pending < max * (1 + UNCONFIRMED_PER_SLOT) && this.unconfirmed < this.maxUnconfirmedBytes
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.canStart()) this.waiters.shift()!()
  }
}
