// Rates over a sliding minute from ever-growing totals, sampled once a second: what this collector
// achieves now, and the highest it has sustained (cloudtrail_achieved_max_*_rate).

const WINDOW = 60
/** A window shorter than this is too noisy to count as "sustained". */
const MIN_SAMPLES = 10

export class RateWindow {
  private readonly totals: number[] = []
  private best = 0

  /** Call once a second with the current total. */
  sample(total: number): void {
    this.totals.push(total)
    if (this.totals.length > WINDOW + 1) this.totals.shift()
    if (this.totals.length > MIN_SAMPLES) this.best = Math.max(this.best, this.rate)
  }

  /** Per second over the window so far (0 until two samples). */
  get rate(): number {
    const n = this.totals.length
    return n < 2 ? 0 : (this.totals[n - 1] - this.totals[0]) / (n - 1)
  }

  /** The highest rate sustained over a window of at least MIN_SAMPLES seconds. */
  get max(): number {
    return this.best
  }
}
