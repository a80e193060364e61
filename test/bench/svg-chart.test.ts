import { describe, expect, it } from 'vitest'
import { barChart, escapeXml, lineChart, niceTicks, shortNumber, stackedBarChart } from '../../bench/lib/svg-chart.ts'

/** Tags open and close in order (a well-formedness check without an XML parser). */
function balanced(svg: string): boolean {
  const stack: string[] = []
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m
    if (self) continue
    if (close) {
      if (stack.pop() !== name) return false
    } else stack.push(name)
  }
  return stack.length === 0
}

function numbers(attr: string, svg: string): number[] {
  return [...svg.matchAll(new RegExp(`\\s${attr}="([-\\d.]+)"`, 'g'))].map((m) => Number(m[1]))
}

describe('niceTicks', () => {
  it('covers the range with steps of 1, 2 or 5 × 10^k', () => {
    expect(niceTicks(0, 100)).toEqual([0, 20, 40, 60, 80, 100])
    expect(niceTicks(0, 95)).toEqual([0, 20, 40, 60, 80, 100])
    expect(niceTicks(0, 0.7)).toEqual([0, 0.2, 0.4, 0.6, 0.8])
    expect(niceTicks(0, 123_456)).toEqual([0, 50_000, 100_000, 150_000])
    for (const [lo, hi] of [[0, 7], [3, 17], [0, 1e6 + 1], [0.001, 0.0042]]) {
      const t = niceTicks(lo, hi)
      expect(t[0]).toBeLessThanOrEqual(lo)
      expect(t[t.length - 1]).toBeGreaterThanOrEqual(hi)
      const step = t[1] - t[0]
      const mantissa = step / 10 ** Math.floor(Math.log10(step))
      expect([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-9)).toBe(true)
    }
  })

  it('handles an empty range and bad input', () => {
    expect(niceTicks(0, 0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1])
    expect(niceTicks(5, 5).length).toBeGreaterThan(1)
    expect(niceTicks(NaN, 1)).toEqual([])
    expect(niceTicks(10, 0)[0]).toBe(0)
  })
})

describe('lineChart', () => {
  const chart = lineChart({
    title: 'Records/s <against> threads & "floor"',
    xLabel: 'parse threads',
    yLabel: 'records per second',
    series: [
      { name: 'fortisiem', points: [[1, 100_000], [2, 180_000], [3, 185_000]] },
      { name: 'json', points: [[1, 150_000], [2, NaN], [3, 290_000]] },
      { name: 'floor', points: [[1, 90_000], [3, 90_000]], dashed: true },
    ],
    xTicks: [1, 2, 3],
  })

  it('is a well-formed SVG document with its title escaped', () => {
    expect(chart.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(chart.trimEnd().endsWith('</svg>')).toBe(true)
    expect(balanced(chart)).toBe(true)
    expect(chart).toContain('Records/s &lt;against&gt; threads &amp; &quot;floor&quot;')
    expect(chart).not.toContain('NaN')
  })

  it('draws one polyline per series, leaving out non-finite points, and a legend entry each', () => {
    const polylines = [...chart.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1].split(' ').length)
    expect(polylines).toEqual([3, 2, 2])
    for (const name of ['fortisiem', 'json', 'floor']) expect(chart).toContain(`>${name}</text>`)
    expect(chart).toContain('stroke-dasharray')
  })

  it('keeps every point inside the plot area, higher values higher up', () => {
    const pts = [...chart.matchAll(/<polyline [^>]*points="([^"]*)"/g)][0][1].split(' ').map((p) => p.split(',').map(Number))
    for (const [x, y] of pts) {
      expect(x).toBeGreaterThanOrEqual(70)
      expect(x).toBeLessThanOrEqual(720)
      expect(y).toBeGreaterThanOrEqual(40)
      expect(y).toBeLessThanOrEqual(350)
    }
    expect(pts[1][1]).toBeLessThan(pts[0][1]) // 180k above 100k
    expect(pts[1][0]).toBeGreaterThan(pts[0][0])
  })

  it('spaces x by its logarithm on a log scale', () => {
    const log = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', xScale: 'log', series: [{ name: 's', points: [[1000, 1], [2000, 2], [4000, 3]] }] })
    const xs = [...log.matchAll(/<polyline [^>]*points="([^"]*)"/g)][0][1].split(' ').map((p) => Number(p.split(',')[0]))
    expect(xs[1] - xs[0]).toBeCloseTo(xs[2] - xs[1], 0)
    expect(log).toContain('>4k</text>')
  })

  it('does not throw on empty series', () => {
    const empty = lineChart({ title: 'nothing', xLabel: 'x', yLabel: 'y', series: [{ name: 'none', points: [] }] })
    expect(balanced(empty)).toBe(true)
    expect(empty).not.toContain('NaN')
  })
})

describe('barChart', () => {
  const chart = barChart({
    title: 'Drain',
    yLabel: 'records/s',
    bars: [
      { label: 'collector', value: 500_000, note: '500,000 (5.2×)' },
      { label: 'reference', value: 96_000 },
      { label: 'broken', value: NaN },
    ],
  })

  it('draws bars in proportion to their values, labelled', () => {
    expect(balanced(chart)).toBe(true)
    const heights = numbers('height', chart).slice(2) // the svg's and the background's first
    expect(heights).toHaveLength(3)
    expect(heights[0] / heights[1]).toBeCloseTo(500 / 96, 1)
    expect(heights[2]).toBe(0)
    expect(chart).toContain('500,000 (5.2×)')
    expect(chart).toContain('>96k</text>')
    expect(chart).toContain('>reference</text>')
    expect(chart).not.toContain('NaN')
  })
})

describe('stackedBarChart', () => {
  const chart = stackedBarChart({
    title: 'CPU µs per event <by thread>',
    yLabel: 'µs per event',
    segments: ['main thread', 'parse threads', 'the rest'],
    bars: [
      { label: 'collector', values: [8, 14, 10], note: '32 µs (0.9×)' },
      { label: 'reference loop', values: [30, 0, 6] },
      { label: 'broken', values: [NaN, -1, 2] },
    ],
    marks: [{ label: 'goal: 1/3 of the loop', value: 12 }, { label: 'none', value: NaN }],
  })
  const rects = [...chart.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="([^"]+)"\/>/g)].map((m) => ({
    x: Number(m[1]),
    y: Number(m[2]),
    h: Number(m[4]),
    fill: m[5],
  }))

  it("stacks each bar's segments bottom first, in proportion, one colour per segment, nothing for bad values", () => {
    expect(balanced(chart)).toBe(true)
    expect(chart).not.toContain('NaN')
    expect(chart).toContain('CPU µs per event &lt;by thread&gt;')
    // 3 + 2 + 1 segments drawn, then 3 legend swatches (20 wide: matched too, at the right).
    const segments = rects.slice(0, 6)
    const [main, parse, rest] = segments
    expect(parse.h / main.h).toBeCloseTo(14 / 8, 1)
    expect(rest.h / main.h).toBeCloseTo(10 / 8, 1)
    expect(main.y).toBeCloseTo(parse.y + parse.h, 0) // parse sits on main
    expect(parse.y).toBeCloseTo(rest.y + rest.h, 0)
    expect(new Set([main.fill, parse.fill, rest.fill]).size).toBe(3)
    expect(segments[3].fill).toBe(main.fill)
    expect(segments[4].fill).toBe(rest.fill) // the loop has no parse threads
    expect(segments[5].fill).toBe(rest.fill)
    expect((segments[3].h + segments[4].h) / (main.h + parse.h + rest.h)).toBeCloseTo(36 / 32, 1)
  })

  it('labels bars with their note or total, draws each finite mark as a dashed line named in the legend', () => {
    expect(chart).toContain('>32 µs (0.9×)</text>')
    expect(chart).toContain('>36</text>')
    expect(chart).toContain('>goal: 1/3 of the loop</text>')
    expect(chart).not.toContain('>none</text>')
    expect([...chart.matchAll(/stroke-dasharray/g)]).toHaveLength(2) // across the plot, and in the legend
    // 12 lies between the collector's main thread (8) and its main + parse threads (22).
    const markY = Number(/<line x1="70" y1="([\d.]+)" x2="[\d.]+" y2="[\d.]+" stroke="#333" stroke-dasharray/.exec(chart)![1])
    const [main, parse] = rects
    expect(markY).toBeLessThan(main.y)
    expect(markY).toBeGreaterThan(parse.y)
    for (const name of ['main thread', 'parse threads', 'the rest']) expect(chart).toContain(`>${name}</text>`)
  })
})

describe('helpers', () => {
  it('shortNumber and escapeXml', () => {
    expect(shortNumber(0)).toBe('0')
    expect(shortNumber(950)).toBe('950')
    expect(shortNumber(1500)).toBe('1.5k')
    expect(shortNumber(2_000_000)).toBe('2M')
    expect(shortNumber(0.25)).toBe('0.25')
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
  })
})

describe('x labels', () => {
  it('leaves out a label that would overlap the previous one, keeping its tick', () => {
    const chart = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', xScale: 'log', series: [{ name: 's', points: [[4000, 1], [96_000, 2], [112_000, 2], [128_000, 3]] }] })
    expect(chart).toContain('>4k</text>')
    expect(chart).toContain('>96k</text>')
    expect(chart).not.toContain('>112k</text>')
    const ticks = [...chart.matchAll(/<line x1="([\d.]+)" y1="350" x2="[\d.]+" y2="355"/g)]
    expect(ticks).toHaveLength(4)
  })
})
