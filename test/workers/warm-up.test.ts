// The warm-up (workers/warm-up.ts): its document takes the paths it claims without failing (a failure
// would be swallowed and the feedback silently missing), the fast paths agree with the reference on it,
// and it leaves the thread's own flattener alone.
import { describe, expect, it } from 'vitest'
import { FastFlattener } from '../../workers/fortisiem/fast.ts'
import { ObjectParser } from '../../workers/object-parser.ts'
import type { Format, ParseOptions } from '../../workers/protocol.ts'
import { warmUp, warmUpPasses } from '../../workers/warm-up.ts'

const clock = () => Date.UTC(2026, 10, 26, 15, 2, 56)
const options = (format: Format, framing: ParseOptions['framing'], maxDepth: number, fastPaths = true): ParseOptions => ({
  format,
  framing,
  syslog: { pri: 134, hostname: 'collector-1', appName: 'cloudtrail-ingest' },
  fastPaths,
  limits: { maxDecompressedBytes: 1 << 30, maxRecordBytes: 8 << 20, maxDepth, outputChunkBytes: 4096 },
})

/** One pass through a parser: all its output and stats; throws what the parser throws. */
function run(pass: { chunks: Uint8Array[]; options: ParseOptions }, fast?: FastFlattener) {
  const parser = new ObjectParser(pass.options, clock, fast)
  const out: Uint8Array[] = []
  for (const chunk of pass.chunks) {
    parser.push(chunk)
    for (let t = parser.take(); t; t = parser.take()) out.push(t.data)
  }
  parser.end()
  for (let t = parser.take(); t; t = parser.take()) out.push(t.data)
  return { output: Buffer.concat(out), stats: parser.stats }
}

describe('the warm-up', () => {
  it.each([
    ['fortisiem', 'lines', 128],
    ['fortisiem', 'syslog', 128],
    ['fortisiem', 'lines', 3],
    ['json', 'lines', 128],
    ['json', 'syslog', 1],
  ] as const)('runs its passes without failing and writes what the reference writes: %s, %s, max_depth %d', (format, framing, maxDepth) => {
    const passes = warmUpPasses(options(format, framing, maxDepth))
    expect(passes.length).toBeGreaterThan(3)
    for (const [k, pass] of passes.entries()) {
      const fast = run(pass, new FastFlattener(maxDepth, 1024))
      const reference = run({ ...pass, options: { ...pass.options, fastPaths: false } })
      expect(fast.output.equals(reference.output), `pass ${k}`).toBe(true)
      expect(fast.stats.records, `pass ${k}`).toBe(reference.stats.records)
      expect(fast.stats.skipped, `pass ${k}`).toEqual(reference.stats.skipped)
      expect(fast.stats.invalidUtf8, `pass ${k}`).toBe(reference.stats.invalidUtf8)
    }
    // What it claims to walk: records written, skipped as too deep, too large and not JSON, invalid UTF-8.
    const all = passes.map((p) => run(p, new FastFlattener(maxDepth)).stats)
    expect(all[0].records).toBeGreaterThan(maxDepth >= 40 ? 60 : 20)
    expect(all[0].invalidUtf8).toBeGreaterThan(0)
    expect(all.some((s) => (s.skipped.record_too_large ?? 0) > 0)).toBe(true)
    expect(all.some((s) => (s.skipped.record_too_deep ?? 0) > 0 || (s.skipped.record_not_json ?? 0) > 0)).toBe(true)
    if (format === 'fortisiem') expect(all[0].skipped.record_not_json).toBeGreaterThan(10)
  })

  it('runs once per format, framing and depth, each pass on a parser and a flattener of its own', () => {
    const o = options('fortisiem', 'lines', 77)
    const flatteners = new Set<FastFlattener>()
    let made = 0
    const parser = (po: ParseOptions, fast: FastFlattener) => {
      made++
      flatteners.add(fast)
      return new ObjectParser(po, clock, fast)
    }
    const n = warmUpPasses(o).length
    warmUp(o, parser)
    expect(made).toBe(n)
    warmUp(o, parser)
    expect(made).toBe(n)
    warmUp(options('json', 'lines', 77), parser)
    expect(made).toBe(2 * n)
    expect(flatteners.size).toBe(2 * n)
  })

  it("leaves the first object's output and counts alone", () => {
    // A depth no other test uses: this parser is the first of its kind here, so it runs the warm-up.
    const o = options('fortisiem', 'lines', 91)
    const doc = new TextEncoder().encode('{"Records":[{"eventSource":"s3.amazonaws.com","a":1}]}')
    const first = run({ chunks: [doc], options: o })
    expect(first.stats.records).toBe(1)
    expect(first.stats.skipped).toEqual({})
    expect(first.stats.invalidUtf8).toBe(0)
    expect(first.stats.eventLag.count).toBe(0)
    expect(first.output.toString()).toBe('Thu Nov 26 15:02:56 2026 FortiSIEM-CloudTrail [a]=1 [eventSource]=S3\n'.replace('Thu Nov 26 15:02:56 2026', first.output.toString().slice(0, 24)))
  })
})
