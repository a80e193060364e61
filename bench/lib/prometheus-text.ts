// Reads the Prometheus text exposition format (what the collector's /metrics serves) into samples, enough
// for the benchmark harness: names, labels, values; comments and timestamps ignored. Pure; tested in
// test/bench/prometheus-text.test.ts.

import type { Bucket } from './stats.ts'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$/
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy

function unescapeLabel(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
}

function number(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity
  if (text === '-Inf') return -Infinity
  return Number(text)
}

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const m = LINE.exec(line)
    if (!m) continue
    const labels: Record<string, string> = {}
    if (m[2]) {
      LABEL.lastIndex = 0
      for (let l = LABEL.exec(m[2]); l; l = LABEL.exec(m[2])) labels[l[1]] = unescapeLabel(l[2])
    }
    samples.push({ name: m[1], labels, value: number(m[3]) })
  }
  return samples
}

function matches(sample: Sample, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(labels)) if (sample.labels[k] !== v) return false
  return true
}

/** Sum of the samples named `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined
  for (const s of samples) if (s.name === name && matches(s, labels)) sum = (sum ?? 0) + s.value
  return sum
}

/** The cumulative buckets of histogram `name` (from its `_bucket` samples), sorted by bound. */
export function histogramBuckets(samples: readonly Sample[], name: string): Bucket[] {
  const byLe = new Map<number, number>()
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || s.labels.le === undefined) continue
    const le = number(s.labels.le)
    byLe.set(le, (byLe.get(le) ?? 0) + s.value)
  }
  return [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le)
}
