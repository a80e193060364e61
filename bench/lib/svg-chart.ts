// A tiny SVG chart writer, without dependencies: line charts (EPS against parse threads, lag against offered
// EPS), bar charts (collector against reference) and stacked bar charts (CPU per event by thread, with
// the goal as a dashed line). Plain SVG 1.1 that GitHub renders in a README. Pure;
// tested in test/bench/svg-chart.test.ts.

export interface Series {
  name: string
  /** [x, y]; points with a non-finite coordinate are left out. */
  points: readonly (readonly [number, number])[]
  dashed?: boolean
}

export interface LineChartOptions {
  title: string
  xLabel: string
  yLabel: string
  series: readonly Series[]
  /** Tick positions on x; default: nice round numbers (linear) or the data's x values (log). */
  xTicks?: readonly number[]
  /** 'log' spaces x by its logarithm (offered EPS doubling at each step). */
  xScale?: 'linear' | 'log'
  /** Lowest y shown; default 0 (rates and lags start at zero). */
  yMin?: number
  width?: number
  height?: number
}

export interface Bar {
  label: string
  value: number
  /** Text written above the bar instead of the value, e.g. "5.3×". */
  note?: string
}

export interface BarChartOptions {
  title: string
  yLabel: string
  bars: readonly Bar[]
  width?: number
  height?: number
}

export interface StackedBar {
  label: string
  /** One value per segment name, bottom first; non-finite or negative values draw nothing. */
  values: readonly number[]
  /** Text written above the bar instead of its total. */
  note?: string
}

export interface StackedBarChartOptions {
  title: string
  yLabel: string
  /** The segments' names, bottom first (the legend). */
  segments: readonly string[]
  bars: readonly StackedBar[]
  /** Horizontal dashed lines across the plot, e.g. a target. */
  marks?: readonly { label: string; value: number }[]
  width?: number
  height?: number
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f']
const FONT = 'font-family="sans-serif"'
const MARGIN = { top: 40, right: 20, bottom: 50, left: 70 }

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

/** 1234 -> "1.2k", 2500000 -> "2.5M", 0.25 -> "0.25". */
export function shortNumber(n: number): string {
  const a = Math.abs(n)
  const trim = (x: number) => String(Number(x.toFixed(1)))
  if (a >= 1e6) return `${trim(n / 1e6)}M`
  if (a >= 1e3) return `${trim(n / 1e3)}k`
  if (a === 0 || a >= 1) return trim(n)
  return String(Number(n.toPrecision(2)))
}

/** About `count` round tick values (steps of 1, 2 or 5 × 10^k) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return []
  if (max < min) [min, max] = [max, min]
  if (max === min) max = min === 0 ? 1 : min + Math.abs(min)
  const raw = (max - min) / Math.max(1, count)
  const power = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!
  const ticks: number[] = []
  for (let t = Math.floor(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)))
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)))
  return ticks
}

function frame(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold" ${FONT}>${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n')
}

const r = (n: number) => Number(n.toFixed(1))

/** Room for a bold 15 px title (about 9 px a character) and its margins. */
const titleWidth = (title: string) => Math.ceil(title.length * 9) + 40

function axes(o: { x0: number; y0: number; x1: number; y1: number; yTicks: number[]; yPos: (v: number) => number; yLabel: string; xLabel?: string; width: number; height: number }): string[] {
  const out: string[] = []
  for (const t of o.yTicks) {
    const y = r(o.yPos(t))
    out.push(`<line x1="${o.x0}" y1="${y}" x2="${o.x1}" y2="${y}" stroke="#e0e0e0"/>`)
    out.push(`<text x="${o.x0 - 6}" y="${y + 4}" text-anchor="end" font-size="11" ${FONT}>${escapeXml(shortNumber(t))}</text>`)
  }
  out.push(`<line x1="${o.x0}" y1="${o.y0}" x2="${o.x0}" y2="${o.y1}" stroke="#333"/>`)
  out.push(`<line x1="${o.x0}" y1="${o.y0}" x2="${o.x1}" y2="${o.y0}" stroke="#333"/>`)
  const mid = (o.y0 + o.y1) / 2
  out.push(`<text x="16" y="${mid}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${mid})" ${FONT}>${escapeXml(o.yLabel)}</text>`)
  if (o.xLabel) out.push(`<text x="${(o.x0 + o.x1) / 2}" y="${o.height - 10}" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(o.xLabel)}</text>`)
  return out
}

export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? Math.max(720, titleWidth(o.title))
  const height = o.height ?? 400
  const log = o.xScale === 'log'
  // Legend on the right, as wide as its longest name (about 6.5 px a character at 11 px).
  const legend = 44 + Math.ceil(6.5 * Math.max(0, ...o.series.map((s) => s.name.length)))
  const series = o.series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!log || x > 0)) }))
  const xs = series.flatMap((s) => s.points.map(([x]) => x))
  const ys = series.flatMap((s) => s.points.map(([, y]) => y))
  const x0 = MARGIN.left
  const x1 = Math.max(x0 + 100, width - MARGIN.right - legend)
  const y0 = height - MARGIN.bottom
  const y1 = MARGIN.top
  const yTicks = niceTicks(o.yMin ?? Math.min(0, ...ys), ys.length > 0 ? Math.max(...ys) : 1)
  const yMin = yTicks[0]
  const yMax = yTicks[yTicks.length - 1]
  const yPos = (v: number) => y0 - ((v - yMin) / (yMax - yMin)) * (y0 - y1)
  const tx = (x: number) => (log ? Math.log(x) : x)
  const xTicks = o.xTicks ? [...o.xTicks] : log ? [...new Set(xs)].sort((a, b) => a - b) : niceTicks(Math.min(...xs), Math.max(...xs))
  const all = [...xs, ...xTicks].map(tx)
  let xMin = all.length > 0 ? Math.min(...all) : 0
  let xMax = all.length > 0 ? Math.max(...all) : 1
  if (xMax === xMin) {
    xMin -= 1
    xMax += 1
  }
  // A little room so that the first and last points do not sit on the frame.
  const padX = (xMax - xMin) * 0.04
  xMin -= padX
  xMax += padX
  const xPos = (x: number) => x0 + ((tx(x) - xMin) / (xMax - xMin)) * (x1 - x0)
  const body = axes({ x0, y0, x1, y1, yTicks, yPos, yLabel: o.yLabel, xLabel: o.xLabel, width, height })
  let lastLabel = -Infinity
  for (const t of [...xTicks].sort((a, b) => a - b)) {
    const x = r(xPos(t))
    body.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + 5}" stroke="#333"/>`)
    // A label too close to the previous one would overlap it (bisection steps on a log scale): tick only.
    const label = shortNumber(t)
    if (x - lastLabel < 7 * label.length + 6) continue
    lastLabel = x
    body.push(`<text x="${x}" y="${y0 + 18}" text-anchor="middle" font-size="11" ${FONT}>${escapeXml(label)}</text>`)
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : ''
    const pts = s.points.map(([x, y]) => `${r(xPos(x))},${r(yPos(y))}`)
    if (pts.length > 0) body.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.join(' ')}"/>`)
    if (!s.dashed) for (const p of pts) body.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${color}"/>`)
    const ly = y1 + 10 + i * 18
    body.push(`<line x1="${x1 + 12}" y1="${ly}" x2="${x1 + 32}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`)
    body.push(`<text x="${x1 + 36}" y="${ly + 4}" font-size="11" ${FONT}>${escapeXml(s.name)}</text>`)
  })
  return frame(width, height, o.title, body)
}

export function barChart(o: BarChartOptions): string {
  const width = o.width ?? Math.max(480, titleWidth(o.title))
  const height = o.height ?? 360
  const bars = o.bars.map((b) => ({ ...b, value: Number.isFinite(b.value) ? Math.max(0, b.value) : 0 }))
  const x0 = MARGIN.left
  const x1 = width - MARGIN.right
  const y0 = height - MARGIN.bottom
  const y1 = MARGIN.top
  const yTicks = niceTicks(0, 1.08 * Math.max(0, ...bars.map((b) => b.value))) // headroom for the labels
  const yMax = yTicks[yTicks.length - 1]
  const yPos = (v: number) => y0 - (v / yMax) * (y0 - y1)
  const body = axes({ x0, y0, x1, y1, yTicks, yPos, yLabel: o.yLabel, width, height })
  const slot = (x1 - x0) / Math.max(1, bars.length)
  bars.forEach((b, i) => {
    const bw = slot * 0.6
    const bx = x0 + i * slot + (slot - bw) / 2
    const top = yPos(b.value)
    body.push(`<rect x="${r(bx)}" y="${r(top)}" width="${r(bw)}" height="${r(y0 - top)}" fill="${COLORS[i % COLORS.length]}"/>`)
    body.push(`<text x="${r(bx + bw / 2)}" y="${r(top - 6)}" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(b.note ?? shortNumber(b.value))}</text>`)
    body.push(`<text x="${r(bx + bw / 2)}" y="${y0 + 18}" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(b.label)}</text>`)
  })
  return frame(width, height, o.title, body)
}

export function stackedBarChart(o: StackedBarChartOptions): string {
  const legend = 44 + Math.ceil(6.5 * Math.max(0, ...o.segments.map((n) => n.length), ...(o.marks ?? []).map((m) => m.label.length)))
  const width = o.width ?? Math.max(420 + legend, titleWidth(o.title))
  const height = o.height ?? 380
  const clean = (v: number) => (Number.isFinite(v) && v > 0 ? v : 0)
  const bars = o.bars.map((b) => ({ ...b, values: b.values.map(clean), total: b.values.map(clean).reduce((a, v) => a + v, 0) }))
  const marks = (o.marks ?? []).filter((m) => Number.isFinite(m.value) && m.value > 0)
  const x0 = MARGIN.left
  const x1 = Math.max(x0 + 100, width - MARGIN.right - legend)
  const y0 = height - MARGIN.bottom
  const y1 = MARGIN.top
  const yTicks = niceTicks(0, 1.08 * Math.max(0, ...bars.map((b) => b.total), ...marks.map((m) => m.value)))
  const yMax = yTicks[yTicks.length - 1]
  const yPos = (v: number) => y0 - (v / yMax) * (y0 - y1)
  const body = axes({ x0, y0, x1, y1, yTicks, yPos, yLabel: o.yLabel, width, height })
  const slot = (x1 - x0) / Math.max(1, bars.length)
  bars.forEach((b, i) => {
    const bw = slot * 0.5
    const bx = x0 + i * slot + (slot - bw) / 2
    let base = 0
    b.values.forEach((v, k) => {
      if (v <= 0) return
      const top = yPos(base + v)
      body.push(`<rect x="${r(bx)}" y="${r(top)}" width="${r(bw)}" height="${r(yPos(base) - top)}" fill="${COLORS[k % COLORS.length]}"/>`)
      base += v
    })
    body.push(`<text x="${r(bx + bw / 2)}" y="${r(yPos(b.total) - 6)}" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(b.note ?? shortNumber(b.total))}</text>`)
    body.push(`<text x="${r(bx + bw / 2)}" y="${y0 + 18}" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(b.label)}</text>`)
  })
  // Marks are named in the legend, not on the plot, where their text would run over the bars.
  for (const m of marks) {
    const y = r(yPos(m.value))
    body.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#333" stroke-dasharray="6 4"/>`)
  }
  o.segments.forEach((name, k) => {
    const ly = y1 + 10 + k * 18
    body.push(`<rect x="${x1 + 12}" y="${ly - 6}" width="20" height="12" fill="${COLORS[k % COLORS.length]}"/>`)
    body.push(`<text x="${x1 + 36}" y="${ly + 4}" font-size="11" ${FONT}>${escapeXml(name)}</text>`)
  })
  marks.forEach((m, k) => {
    const ly = y1 + 10 + (o.segments.length + k) * 18
    body.push(`<line x1="${x1 + 12}" y1="${ly}" x2="${x1 + 32}" y2="${ly}" stroke="#333" stroke-dasharray="6 4"/>`)
    body.push(`<text x="${x1 + 36}" y="${ly + 4}" font-size="11" ${FONT}>${escapeXml(m.label)}</text>`)
  })
  return frame(width, height, o.title, body)
}
