import { describe, expect, it } from 'vitest'
import { histogramDelta, histogramQuantile, max, median, pairedRatios, percentile } from '../../bench/lib/stats.ts'

describe('percentile and median', () => {
  it('interpolates between the closest ranks', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(percentile([1, 2, 3, 4, 5], 0)).toBe(1)
    expect(percentile([1, 2, 3, 4, 5], 100)).toBe(5)
    expect(percentile([1, 2, 3, 4, 5], 25)).toBe(2)
    expect(percentile([10, 20], 99)).toBeCloseTo(19.9)
  })

  it('ignores NaN, is NaN when empty, and rejects percentiles outside [0, 100]', () => {
    expect(median([NaN, 5, NaN])).toBe(5)
    expect(median([])).toBeNaN()
    expect(() => percentile([1], 101)).toThrow(RangeError)
    expect(() => percentile([1], -1)).toThrow(RangeError)
  })

  it('does not reorder its input', () => {
    const xs = [3, 1, 2]
    median(xs)
    expect(xs).toEqual([3, 1, 2])
  })

  it('max ignores NaN', () => {
    expect(max([1, NaN, 3, 2])).toBe(3)
    expect(max([])).toBeNaN()
    expect(max([NaN])).toBeNaN()
  })
})

describe('pairedRatios', () => {
  it('pairs each run of the first subject with the run of the same repetition of the second', () => {
    const a = [{ rep: 0, ms: 10 }, { rep: 1, ms: 30 }]
    const b = [{ rep: 1, ms: 10 }, { rep: 0, ms: 20 }]
    expect(pairedRatios(a, b, (x, y) => y.ms / x.ms)).toEqual([2, 1 / 3])
    expect(pairedRatios([], b, (x, y) => y.ms / x.ms)).toEqual([])
  })

  it('throws when a repetition has no partner', () => {
    expect(() => pairedRatios([{ rep: 2 }], [{ rep: 0 }], () => 1)).toThrow(/repetition 2/)
  })
})

describe('histogramQuantile', () => {
  const buckets = [
    { le: 0.1, count: 10 },
    { le: 0.5, count: 50 },
    { le: 1, count: 90 },
    { le: Infinity, count: 100 },
  ]

  it('interpolates inside the bucket holding the rank, as Prometheus does', () => {
    expect(histogramQuantile(buckets, 0.05)).toBeCloseTo(0.05) // 5 of the first 10, from 0
    expect(histogramQuantile(buckets, 0.3)).toBeCloseTo(0.3) // rank 30: 0.1 + 0.4 * 20/40
    expect(histogramQuantile(buckets, 0.9)).toBeCloseTo(1)
  })

  it('answers the highest finite bound for a rank in +Inf, NaN when empty', () => {
    expect(histogramQuantile(buckets, 0.99)).toBe(1)
    expect(histogramQuantile([{ le: 1, count: 0 }, { le: Infinity, count: 0 }], 0.5)).toBeNaN()
    expect(histogramQuantile([], 0.5)).toBeNaN()
  })

  it('accepts buckets in any order and rejects quantiles outside [0, 1]', () => {
    expect(histogramQuantile([...buckets].reverse(), 0.3)).toBeCloseTo(0.3)
    expect(() => histogramQuantile(buckets, 1.5)).toThrow(RangeError)
  })

  it('histogramDelta gives the histogram of an interval', () => {
    const before = buckets.map((b) => ({ le: b.le, count: Math.floor(b.count / 2) }))
    expect(histogramDelta(buckets, before)).toEqual([
      { le: 0.1, count: 5 },
      { le: 0.5, count: 25 },
      { le: 1, count: 45 },
      { le: Infinity, count: 50 },
    ])
    expect(histogramDelta(buckets, [])).toEqual(buckets)
  })
})
