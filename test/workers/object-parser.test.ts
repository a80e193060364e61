// The fast paths against the reference, a whole object at a time: the same bytes out, the same counts.
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { buildLogFile } from '../../src/synthetic/log-file.ts'
import { RecordGenerator } from '../../src/synthetic/records.ts'
import { gunzipSync } from 'node:zlib'
import { ObjectParser, parseObjectSync } from '../../workers/object-parser.ts'
import type { Format, ParseOptions } from '../../workers/protocol.ts'
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
  ['invalid utf-8', hostile.invalidUtf8Document('x')],
  ['bom', hostile.bomDocument([{ a: 1 }, { b: [] }])],
  ['mixed', hostile.mixedRecordsDocument([{ a: 1 }, { b: 2 }, { c: {} }])],
  ['proto', hostile.prototypeDocument('p')],
  ['deep', hostile.deepDocument(100, [{ a: 1 }, { b: 2 }])],
  ['bad records', gzipSync('{"Records":[{"a":tru},{"ok":1},{"b":"raw\ttab"},{},{"eventSource":"ec2.amazonaws.com"}]}')],
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
