// The arithmetic of the benchmarks: medians of repetitions, percentiles of samples, quantiles of
// Prometheus histograms. Pure; tested in test/bench/stats.test.ts.

/** The p-th percentile (0–100) of `xs`, linearly interpolated between the closest ranks; NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`)
  const sorted = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const rank = (p / 100) * (sorted.length - 1)
  const lo = Math.floor(rank)
  const hi = Math.ceil(rank)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo)
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 50)
}

/**
 * Ratios taken within each repetition: f(x, y) for each run x of `a` and the run y of `b` with the same
 * `rep` (take their median for the ratio of two subjects on a shared machine).
 */
export function pairedRatios<T extends { rep: number }>(a: readonly T[], b: readonly T[], f: (x: T, y: T) => number): number[] {
  return a.map((x) => {
    const y = b.find((r) => r.rep === x.rep)
    if (!y) throw new Error(`no run of repetition ${x.rep} to pair with`)
    return f(x, y)
  })
}

/** Largest value, ignoring NaN; NaN when there is none. */
export function max(xs: readonly number[]): number {
  let m = NaN
  for (const x of xs) if (!Number.isNaN(x) && !(x <= m)) m = x
  return m
}

/** Cumulative bucket of a histogram: `count` observations were ≤ `le` (`Infinity` for +Inf). */
export interface Bucket {
  le: number
  count: number
}

/**
 * The q-quantile (0–1) of a cumulative histogram, as Prometheus' histogram_quantile computes it: linear
 * interpolation inside the bucket that holds the rank (from 0 for the first bucket); a rank in the +Inf
 * bucket gives the highest finite bound. NaN when the histogram is empty.
 */
export function histogramQuantile(buckets: readonly Bucket[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`)
  const sorted = [...buckets].sort((a, b) => a.le - b.le)
  const total = sorted.length > 0 ? sorted[sorted.length - 1].count : 0
  if (total <= 0) return NaN
  const rank = q * total
  let prevLe = 0
  let prevCount = 0
  for (const b of sorted) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe
      if (b.count === prevCount) return b.le
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / (b.count - prevCount)
    }
    prevLe = b.le
    prevCount = b.count
  }
  return prevLe
}

/** Bucket counts of `after` minus those of `before` (a histogram over an interval); matched by `le`. */
export function histogramDelta(after: readonly Bucket[], before: readonly Bucket[]): Bucket[] {
  const earlier = new Map(before.map((b) => [b.le, b.count]))
  return after.map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) }))
}
