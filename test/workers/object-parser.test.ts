// The fast paths against the reference, a whole object at a time: the same bytes out, the same counts.
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { buildLogFile } from '../../src/synthetic/log-file.ts'
import { RecordGenerator } from '../../src/synthetic/records.ts'
import { gunzipSync } from 'node:zlib'
import { flattenRecord } from '../../workers/fortisiem/reference.ts'
import { ObjectParser, parseObjectSync } from '../../workers/object-parser.ts'
import type { Format, ParseOptions } from '../../workers/protocol.ts'
import type { RuleSpec } from '../../workers/rules/compile.ts'
import { fixtureDocuments } from '../helpers/fixtures.ts'
import * as hostile from '../helpers/hostile.ts'

const clock = () => Date.UTC(2026, 10, 26, 15, 2, 56)
const options = (format: Format, fastPaths: boolean, framing: ParseOptions['framing'] = 'lines'): ParseOptions => ({
  format,
  framing,
  syslog: { pri: 134, hostname: 'collector-1', appName: 'cloudtrail-ingest' },
  fastPaths,
  limits: { maxDecompressedBytes: 1 << 30, maxRecordBytes: 1 << 20, maxDepth: 64, outputChunkBytes: 1 << 20 },
})

function both(gz: Uint8Array, format: Format, framing: ParseOptions['framing'] = 'lines') {
  const fast = parseObjectSync(gz, options(format, true, framing), clock)
  const reference = parseObjectSync(gz, options(format, false, framing), clock)
  return { fast, reference }
}

const objects: [string, Uint8Array][] = [
  ...fixtureDocuments().map(({ name, text }): [string, Uint8Array] => [name, gzipSync(text)]),
  ['generated', buildLogFile(new RecordGenerator({ seed: 5, startTime: new Date(0) }), { records: 3000, account: '111122223333', region: 'eu-west-1', time: new Date(0) }).body],
  ...hostile.hostileObjects(),
]

describe.each(['fortisiem', 'json'] as const)('the %s fast path, a whole object at a time', (format) => {
  it.each(objects)('writes the same bytes and counts as the reference: %s', (_name, gz) => {
    const { fast, reference } = both(gz, format)
    expect(fast.output.equals(reference.output)).toBe(true)
    expect(fast.stats.records).toBe(reference.stats.records)
    expect(fast.stats.skipped).toEqual(reference.stats.skipped)
    expect(fast.stats.invalidUtf8).toBe(reference.stats.invalidUtf8)
    expect(fast.stats.eventLag).toEqual(reference.stats.eventLag)
  })

  it('writes the same bytes when the object arrives in small pieces (records across chunk edges)', () => {
    for (const [name, gz] of objects) {
      const text = gunzipSync(gz)
      const reference = parseObjectSync(gz, options(format, false), clock).output
      for (const size of [97, 1000, 7777]) {
        const parser = new ObjectParser(options(format, true), clock)
        let failed = false
        try {
          for (let at = 0; at < text.length; at += size) parser.push(text.subarray(at, at + size))
          parser.end()
        } catch {
          failed = true
        }
        const chunks: Uint8Array[] = []
        for (let t = parser.take(); t; t = parser.take()) chunks.push(t.data)
        expect(failed, name).toBe(false)
        expect(Buffer.concat(chunks).equals(reference), `${name} @${size}`).toBe(true)
      }
    }
  })

  it('frames syslog the same way', () => {
    const { fast, reference } = both(objects.find(([n]) => n === 'generated')![1], format, 'syslog')
    expect(fast.output.equals(reference.output)).toBe(true)
    expect(fast.output.toString('utf8', 0, 90)).toMatch(/^\d+ <134>1 2026-11-26T15:02:56Z collector-1 cloudtrail-ingest - - - /)
  })
})

describe('max_record_size bounds a record\'s output too', () => {
  // Fields far larger than the text: a 1,000-byte key over ten zeros.
  const wide = `{"${'k'.repeat(1000)}":[0,0,0,0,0,0,0,0,0,0]}`
  const fieldBytes = Buffer.byteLength(flattenRecord(wide))
  const doc = (n: number) => `{"Records":[{"a":1},${Array(n).fill(wide).join(',')},{"b":2}]}`
  const withLimit = (fastPaths: boolean, maxRecordBytes: number): ParseOptions => {
    const o = options('fortisiem', fastPaths)
    return { ...o, limits: { ...o.limits, maxRecordBytes } }
  }

  /** The object in pieces of `size` bytes (so that records cross them and the cutter hands them over). */
  function inPieces(text: string, o: ParseOptions, size: number) {
    const bytes = new TextEncoder().encode(text)
    const parser = new ObjectParser(o, clock)
    for (let at = 0; at < bytes.length; at += size) parser.push(bytes.subarray(at, at + size))
    parser.end()
    const chunks: Uint8Array[] = []
    for (let t = parser.take(); t; t = parser.take()) chunks.push(t.data)
    return { output: Buffer.concat(chunks).toString('utf8'), stats: parser.stats }
  }

  it.each([true, false])('writes a record whose fields are max_record_size bytes and skips one byte more, in any pieces (fast paths: %s)', (fastPaths) => {
    expect(fieldBytes).toBeGreaterThan(5 * wide.length)
    for (const size of [97, 1000, 1 << 20]) {
      const at = inPieces(doc(3), withLimit(fastPaths, fieldBytes), size)
      expect(at.stats.records, `${size}`).toBe(5)
      expect(at.stats.skipped).toEqual({})
      const over = inPieces(doc(3), withLimit(fastPaths, fieldBytes - 1), size)
      expect(over.stats.records, `${size}`).toBe(2)
      expect(over.stats.skipped).toEqual({ record_too_large: 3 })
      const lines = over.output.split('\n')
      expect(lines.map((l) => l.replace(/^.* FortiSIEM-CloudTrail ?/, ''))).toEqual(['[a]=1', '[b]=2', ''])
    }
  })
})

describe.each(['fortisiem', 'json'] as const)('checkpoints (skipRecords) in the %s format', (format) => {
  // Every element of Records is numbered once, written or skipped: a parse that leaves out the first n
  // writes what the elements after the n-th write, and each chunk's `through` counts the elements settled.
  const deep = `${'{"x":'.repeat(70)}1${'}'.repeat(70)}`
  const generated = buildLogFile(new RecordGenerator({ seed: 9, startTime: new Date(0) }), { records: 40, account: '111122223333', region: 'eu-west-1', time: new Date(0) }).body
  const generatedElements = (JSON.parse(gunzipSync(generated).toString('utf8')) as { Records: unknown[] }).Records.map((r) => JSON.stringify(r))
  const mixed = ['{"a":1}', '5', '{"b":tru}', '"x"', '{"c":{}}', deep, '{"d":[1,2]}', '[]', '{"e":"\\u00e9"}', '{}', '{"f":null}']
  const lines = (elements: string[], skip: number, fastPaths: boolean, piece: number, rules?: RuleSpec) => {
    const parser = new ObjectParser({ ...options(format, fastPaths), skipRecords: skip, ...(rules ? { rules } : {}) }, clock)
    const text = Buffer.from(`{"Records":[${elements.join(',')}]}`)
    let out = ''
    const throughs: number[] = []
    const take = () => {
      for (let t = parser.take(); t; t = parser.take()) {
        out += Buffer.from(t.data).toString('utf8')
        throughs.push(t.through)
      }
    }
    for (let at = 0; at < text.length; at += piece) {
      parser.push(text.subarray(at, at + piece))
      take()
    }
    parser.end()
    take()
    return { out, throughs, settled: parser.settled, stats: parser.stats }
  }

  it.each([
    ['generated', generatedElements],
    ['mixed: non-objects, bad JSON, too deep', mixed],
  ])('leaves out the first n elements, written or skipped: %s', (_name, elements) => {
    // What each element writes on its own (nothing when it is skipped).
    const own = elements.map((e) => lines([e], 0, true, 1 << 20).out)
    for (const fastPaths of [true, false]) {
      for (const skip of [0, 1, 2, 3, Math.floor(elements.length / 2), elements.length - 1, elements.length, elements.length + 3]) {
        for (const piece of [7, 97, 1 << 20]) {
          const got = lines(elements, skip, fastPaths, piece)
          expect(got.out, `skip ${skip}, pieces of ${piece}`).toBe(own.slice(skip).join(''))
          expect(got.settled).toBe(elements.length)
          // Non-decreasing, never beyond the elements, and each chunk's elements written before its through.
          for (let i = 1; i < got.throughs.length; i++) expect(got.throughs[i]).toBeGreaterThan(got.throughs[i - 1])
          for (const t of got.throughs) expect(t).toBeLessThanOrEqual(elements.length)
          if (skip > 0 && skip < elements.length) expect(Object.values(got.stats.skipped).reduce((a, n) => a + (n ?? 0), 0)).toBe(own.slice(skip).filter((o) => o === '').length)
        }
      }
    }
  })

  it('numbers the records the rules drop or redact as settled too', () => {
    const rules: RuleSpec = { drop: ['a=1', 'f=*'], keep: [], redact: ['e'] }
    const own = mixed.map((e) => lines([e], 0, true, 1 << 20, rules).out)
    expect(own.filter((o) => o === '').length).toBeGreaterThan(5)
    for (const fastPaths of [true, false]) {
      for (let skip = 0; skip <= mixed.length; skip++) {
        const got = lines(mixed, skip, fastPaths, 5, rules)
        expect(got.out, `skip ${skip}`).toBe(own.slice(skip).join(''))
        expect(got.settled).toBe(mixed.length)
      }
    }
  })

  it("a chunk's through counts the elements settled with it, never a written record that is not in it", () => {
    const got = lines(mixed, 0, true, 3)
    // Pieces of 3 bytes and a take after each: one chunk per written record.
    const written: number[] = []
    mixed.forEach((e, i) => {
      if (lines([e], 0, true, 1 << 20).out !== '') written.push(i)
    })
    expect(got.throughs).toHaveLength(written.length)
    got.throughs.forEach((through, k) => {
      expect(through).toBeGreaterThan(written[k])
      expect(through).toBeLessThanOrEqual(written[k + 1] ?? mixed.length)
    })
  })
})
