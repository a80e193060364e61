import { describe, expect, it } from 'vitest'
import type { SkipReason } from '../../workers/protocol.ts'
import { JsonSlicer } from '../../workers/json/fast.ts'
import { CutError, RecordCutter } from '../../workers/record-cutter.ts'
import { fixtureDocuments } from '../helpers/fixtures.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

interface Cut {
  records: string[]
  spaces: boolean[]
  skipped: SkipReason[]
}

/** The json slicer as the cutter's pre-scanner, handing valid records over as the cutter would. */
function slicerAsPreScanner(slicer: JsonSlicer, result: Cut) {
  return {
    takeRecord(buf: Uint8Array, start: number, limit: number): number {
      const end = slicer.scan(buf, start, limit)
      if (end < 0) return -1
      result.records.push(dec.decode(buf.subarray(start, end)))
      result.spaces.push(slicer.hasSpace)
      return end
    },
  }
}

function cut(doc: string | Uint8Array, chunkSize = Infinity, limits = { maxRecordBytes: 1 << 20, maxDepth: 64 }, prescan = false): Cut {
  const bytes = typeof doc === 'string' ? enc.encode(doc) : doc
  const result: Cut = { records: [], spaces: [], skipped: [] }
  const cutter = new RecordCutter(
    {
      onRecord(buf, start, end, hasSpace) {
        result.records.push(dec.decode(buf.subarray(start, end)))
        result.spaces.push(hasSpace)
      },
      onSkip(reason) {
        result.skipped.push(reason)
      },
    },
    limits,
    prescan ? slicerAsPreScanner(new JsonSlicer(limits.maxDepth), result) : null,
  )
  const size = Math.min(chunkSize, bytes.length || 1)
  for (let i = 0; i < bytes.length; i += size) cutter.push(bytes.slice(i, i + size))
  cutter.end()
  return result
}

function cutError(doc: string, chunkSize = Infinity): string {
  try {
    cut(doc, chunkSize)
  } catch (err) {
    expect(err).toBeInstanceOf(CutError)
    return (err as CutError).code
  }
  throw new Error('expected a CutError')
}

const tricky = [
  { a: 'quote " inside', b: 'brace } and ] inside', c: '\\', d: '\\"', e: '{"Records":[1]}' },
  { nested: { deep: [1, 2, { x: [] }] }, empty: {}, list: [] },
  { unicode: 'é日本😀', escaped: '\u0000\u001f', backslashes: '\\\\\\' },
]

describe('RecordCutter', () => {
  it('cuts every record of the real fixture documents, at every chunk size', () => {
    const docs = fixtureDocuments()
    expect(docs.length).toBeGreaterThan(5)
    for (const { name, text } of docs) {
      const expected = (JSON.parse(text) as { Records: unknown[] }).Records
      for (const size of [1, 2, 3, 7, 64, 4096, Infinity]) {
        const { records, skipped } = cut(text, size)
        expect(records.map((r) => JSON.parse(r)), `${name} @${size}`).toEqual(expected)
        expect(skipped).toEqual([])
      }
    }
  })

  it('cuts the same records with the json pre-scanner, at every chunk size, invalid records included', () => {
    const docs = [
      ...fixtureDocuments().map((d) => d.text),
      JSON.stringify({ Records: tricky }),
      '{"Records":[{"a":1},{"bad":tru},{"b":[1,2,{"c":"x"}]},7,{"deep":' + '['.repeat(100) + ']'.repeat(100) + '},{"z":0}]}',
    ]
    for (const doc of docs) {
      for (const size of [1, 5, 64, 4096, Infinity]) {
        expect(cut(doc, size, undefined, true)).toEqual(cut(doc, size))
      }
    }
  })

  it('tracks strings, escapes and nesting across chunk boundaries', () => {
    const doc = JSON.stringify({ Records: tricky })
    for (let size = 1; size <= 16; size++) {
      expect(cut(doc, size).records).toEqual(tricky.map((r) => JSON.stringify(r)))
    }
  })

  it('skips other top-level keys before and after Records, whatever they hold', () => {
    const doc = `{"Records0":{"Records":[{"no":1}]},"x":"Records","n":-1.5e3,"t":true,"z":null,"Records":[{"yes":1}],"after":[{"no":2}]}`
    for (const size of [1, 5, Infinity]) expect(cut(doc, size).records).toEqual(['{"yes":1}'])
  })

  it('skips and counts elements that are not objects, keeping the records around them', () => {
    const doc = '{"Records":[1,{"a":1},"s",null,[{"b":2}],true,{"c":3},-2.5]}'
    for (const size of [1, 3, Infinity]) {
      const { records, skipped } = cut(doc, size)
      expect(records).toEqual(['{"a":1}', '{"c":3}'])
      expect(skipped).toEqual(['non_object', 'non_object', 'non_object', 'non_object', 'non_object', 'non_object'])
    }
  })

  it('reports whitespace outside strings, and accepts pretty-printed documents', () => {
    const { records, spaces } = cut('{ "Records" : [ {"a":"x y"} , { "b" : 1 } ] }\n')
    expect(records).toEqual(['{"a":"x y"}', '{ "b" : 1 }'])
    expect(spaces).toEqual([false, true])
  })

  it('skips a UTF-8 byte-order mark', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode('{"Records":[{"a":1}]}')])
    expect(cut(bytes, 1).records).toEqual(['{"a":1}'])
    expect(cut(bytes).records).toEqual(['{"a":1}'])
  })

  it('skips a record larger than maxRecordBytes and keeps its neighbours', () => {
    const big = JSON.stringify({ s: 'x'.repeat(5000) })
    const doc = `{"Records":[{"a":1},${big},{"b":2}]}`
    for (const size of [100, 1000, Infinity]) {
      const { records, skipped } = cut(doc, size, { maxRecordBytes: 1000, maxDepth: 64 })
      expect(records).toEqual(['{"a":1}', '{"b":2}'])
      expect(skipped).toEqual(['record_too_large'])
    }
  })

  it('skips a record nested deeper than maxDepth without recursion', () => {
    const deep = '{"d":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}'
    const doc = `{"Records":[{"a":1},${deep},{"b":2}]}`
    const { records, skipped } = cut(doc, 4096, { maxRecordBytes: 1 << 20, maxDepth: 64 })
    expect(records).toEqual(['{"a":1}', '{"b":2}'])
    expect(skipped).toEqual(['record_too_deep'])
  })

  it('accepts an empty Records array', () => {
    expect(cut('{"Records":[]}').records).toEqual([])
  })

  it.each([
    ['', 'ERR_OBJECT_NOT_JSON'],
    ['   ', 'ERR_OBJECT_NOT_JSON'],
    ['hello', 'ERR_OBJECT_NOT_JSON'],
    ['[{"a":1}]', 'ERR_OBJECT_NO_RECORDS'],
    ['{}', 'ERR_OBJECT_NO_RECORDS'],
    ['{"records":[]}', 'ERR_OBJECT_NO_RECORDS'],
    ['{"Records":{"a":1}}', 'ERR_OBJECT_RECORDS_NOT_ARRAY'],
    ['{"Records":"[]"}', 'ERR_OBJECT_RECORDS_NOT_ARRAY'],
    ['{"Records":[{"a":1}', 'ERR_OBJECT_NOT_JSON'],
    ['{"Records":[{"a":"1}]}', 'ERR_OBJECT_NOT_JSON'],
    ['{"Records":[{"a":1}]', 'ERR_OBJECT_NOT_JSON'],
    ['{"Records":[{"a":1}]} trailing', 'ERR_OBJECT_NOT_JSON'],
    ['{"Records":[{"a":1},]}', 'ERR_OBJECT_NOT_JSON'],
    ['{"Records" [{"a":1}]}', 'ERR_OBJECT_NOT_JSON'],
  ])('rejects %j with %s', (doc, code) => {
    expect(cutError(doc)).toBe(code)
    expect(cutError(doc, 1)).toBe(code)
  })
})
