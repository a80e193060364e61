import { describe, expect, it } from 'vitest'
import { RecordGenerator } from '../../../src/synthetic/records.ts'
import { minifyRecord } from '../../../workers/json/reference.ts'
import { JsonSlicer } from '../../../workers/json/fast.ts'
import { OutputBuilder } from '../../../workers/frames.ts'
import { RecordCutter } from '../../../workers/record-cutter.ts'
import { fixtureDocuments, fixtureRecords } from '../../helpers/fixtures.ts'
import { cutRecords } from '../../helpers/records.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

/** The fast path's verdict and output for one record's bytes: null when it rejects the record. */
function fast(bytes: Uint8Array, hasSpace = true): string | null {
  const slicer = new JsonSlicer(64)
  if (!slicer.valid(bytes, 0, bytes.length)) return null
  const out = new OutputBuilder(1 << 16, 'lines')
  out.beginRecord()
  slicer.copy(bytes, 0, bytes.length, hasSpace, out)
  out.endRecord()
  return dec.decode(out.take()!.data).slice(0, -1)
}

/** The reference: JSON.parse validates, then whitespace outside strings is dropped. */
function reference(bytes: Uint8Array): string | null {
  try {
    return minifyRecord(dec.decode(bytes))
  } catch {
    return null
  }
}

describe('JsonSlicer', () => {
  it('equals the reference on every fixture record, pretty-printed as found and compact', () => {
    let n = 0
    for (const { text } of fixtureDocuments()) {
      for (const r of cutRecords(text)) {
        expect(fast(r.bytes, r.hasSpace)).toBe(reference(r.bytes))
        n++
      }
    }
    for (const { record } of fixtureRecords()) {
      const bytes = enc.encode(JSON.stringify(record))
      expect(fast(bytes, false)).toBe(reference(bytes))
      expect(fast(bytes, false)).toBe(JSON.stringify(record))
      n++
    }
    expect(n).toBeGreaterThan(400)
  })

  it('equals the reference on generated records', () => {
    for (const seed of [1, 2, 3]) {
      const gen = new RecordGenerator({ seed })
      for (let i = 0; i < 2000; i++) {
        const bytes = enc.encode(JSON.stringify(gen.next(new Date(0))))
        expect(fast(bytes, false)).toBe(reference(bytes))
      }
    }
  })

  it.each([
    '{"a":1.0,"b":1e400,"c":-0.5E-3,"d":[],"e":{},"f":[[],[{}]],"g":"\\u00e9\\/\\"","h":null,"i":true,"j":false}',
    '{ "a" : [ 1 , 2 ] ,\n\t"b" : { "c" : "x y" } }',
    '{"__proto__":{"x":1},"a":1,"a":2}',
    '{"s":"\\ud800 lone surrogate escape"}',
  ])('accepts and minifies %j like the reference', (text) => {
    const bytes = enc.encode(text)
    expect(fast(bytes)).not.toBeNull()
    expect(fast(bytes)).toBe(reference(bytes))
  })

  it.each([
    '{"a":tru}', '{"a":01}', '{"a":1.}', '{"a":.5}', '{"a":-}', '{"a":1e}', '{"a":1,}', '{"a" 1}', '{a:1}', '{"a":[1,]}',
    '{"a":"raw\ttab"}', '{"a":"raw\nline"}', '{"a":"bad \\x escape"}', '{"a":"\\u12G4"}', '{"a":1}}', '{"a":1} {"b":2}',
    '{"a":[1}', '{"a":{"b":1]}', '{"a":"unterminated}', '{"a":nul}', '{"a":+1}', '{"a":NaN}',
  ])('rejects %j, as the reference does', (text) => {
    const bytes = enc.encode(text)
    expect(reference(bytes)).toBeNull()
    expect(fast(bytes)).toBeNull()
  })

  it('takes records nested up to maxDepth and rejects one level more, as the cutter skips them', () => {
    for (const maxDepth of [1, 2, 5, 64]) {
      const slicer = new JsonSlicer(maxDepth)
      const nested = (depth: number) => enc.encode(`${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`)
      const arrays = (depth: number) => enc.encode(`{"a":${'['.repeat(depth - 1)}1${']'.repeat(depth - 1)}}`)
      for (const make of [nested, arrays]) {
        const ok = make(maxDepth)
        const deep = make(maxDepth + 1)
        expect(slicer.valid(ok, 0, ok.length), `${maxDepth}: ${dec.decode(ok)}`).toBe(true)
        expect(slicer.valid(deep, 0, deep.length), `${maxDepth}: ${dec.decode(deep)}`).toBe(false)
        // The cutter agrees: it hands over the first and skips the second.
        const seen: string[] = []
        const cutter = new RecordCutter({ onRecord: (b, s, e) => seen.push(dec.decode(b.subarray(s, e))), onSkip: (r) => seen.push(r) }, { maxRecordBytes: 1 << 20, maxDepth })
        cutter.push(enc.encode(`{"Records":[${dec.decode(ok)},${dec.decode(deep)}]}`))
        cutter.end()
        expect(seen).toEqual([dec.decode(ok), 'record_too_deep'])
      }
    }
    expect(new JsonSlicer(0).valid(enc.encode('{}'), 0, 2)).toBe(false)
  })

  it('agrees with the reference on thousands of mutated records (seeded fuzz)', () => {
    let state = 42
    const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32)
    const gen = new RecordGenerator({ seed: 9 })
    const alphabet = enc.encode('{}[]:,"\\ \n\tabefnrtu0123456789.-+eE')
    let rejected = 0
    for (let n = 0; n < 5000; n++) {
      const bytes = Array.from(enc.encode(JSON.stringify(gen.next(new Date(0)))))
      for (let m = 1 + Math.floor(random() * 3); m > 0; m--) {
        const at = 1 + Math.floor(random() * (bytes.length - 2))
        const op = random()
        const b = alphabet[Math.floor(random() * alphabet.length)]
        if (op < 0.4) bytes[at] = b
        else if (op < 0.7) bytes.splice(at, 0, b)
        else bytes.splice(at, 1)
      }
      const mutated = new Uint8Array(bytes)
      const want = reference(mutated)
      if (want === null) rejected++
      expect(fast(mutated), dec.decode(mutated)).toBe(want)
    }
    expect(rejected).toBeGreaterThan(1000)
  })
})
