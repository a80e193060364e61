// Offered load at a target EPS: pre-built log files (bench/lib/dataset.ts, 1000 records each) delivered
// in a loop, each under a fresh CloudTrail key, PutObject then SNS Publish, as CloudTrail does. Replaying
// pre-built files keeps the producer cheap (it shares the host with fauxqs and the collector); records are
// owed from the moment the rate was set, so a slow delivery is caught up instead of drifting.

import type { CloudTrailEmulator, Wiring } from '../../src/emulator/cloudtrail-emulator.ts'
import { KeyMaker } from '../../src/emulator/keys.ts'

export class Offer {
  /** Records whose notification has been published. */
  records = 0
  private target = 0
  private since = 0
  private owedBase = 0
  private scheduled = 0
  private inFlight = 0
  private next = 0
  private timer: NodeJS.Timeout | null = null
  private readonly keys: KeyMaker
  private failure: Error | null = null

  constructor(
    private readonly emu: CloudTrailEmulator,
    private readonly wiring: Wiring,
    private readonly bodies: readonly Uint8Array[],
    private readonly recordsPerFile: number,
    private readonly concurrency = 32,
    seed = 7,
  ) {
    this.keys = new KeyMaker(seed)
  }

  get eps(): number {
    return this.target
  }

  setRate(eps: number): void {
    this.target = eps
    this.since = performance.now()
    this.owedBase = this.scheduled
    this.timer ??= setInterval(() => this.tick(), 20)
  }

  /** Stops offering; resolves when deliveries in flight are done. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.target = 0
    while (this.inFlight > 0) await new Promise((r) => setTimeout(r, 20))
    if (this.failure) throw this.failure
  }

  /** Throws the first delivery failure, if any. */
  check(): void {
    if (this.failure) throw this.failure
  }

  private tick(): void {
    if (this.failure) return
    const due = this.owedBase + ((performance.now() - this.since) / 1000) * this.target
    while (this.scheduled + this.recordsPerFile <= due && this.inFlight < this.concurrency) {
      this.scheduled += this.recordsPerFile
      this.inFlight++
      const body = this.bodies[this.next++ % this.bodies.length]
      this.emu.deliver(this.wiring, this.keys.next(), body).then(
        () => {
          this.inFlight--
          this.records += this.recordsPerFile
        },
        (err: unknown) => {
          this.inFlight--
          this.failure = err instanceof Error ? err : new Error(String(err))
        },
      )
    }
  }
}
