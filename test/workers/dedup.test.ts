// dedup_window: eventIDs found by a byte scan, a window per thread that drops a record seen in another
// object (never one of the same object parsed again), bounded; through the parser, counted and numbered.
import { describe, expect, it } from 'vitest'
import { DedupWindow, eventIdOf } from '../../workers/dedup.ts'
import { ObjectParser } from '../../workers/object-parser.ts'
import type { ParseOptions } from '../../workers/protocol.ts'

const bytes = (s: string) => new TextEncoder().encode(s)
const id = (s: string) => {
  const b = bytes(s)
  return eventIdOf(b, 0, b.length)
}

describe('eventIdOf', () => {
  it('finds the eventID key, not sharedEventID, with spaces around the colon; null without one', () => {
    expect(id('{"sharedEventID":"s","eventID":"a-1"}')).toBe('a-1')
    expect(id('{"eventID" : "b-2","x":1}')).toBe('b-2')
    expect(id('{"x":"eventID","eventID":"c"}')).toBe('c')
    expect(id('{"sharedEventID":"s"}')).toBeNull()
    expect(id('{"eventID":12}')).toBeNull()
    expect(id('{"eventID":"unterminated')).toBeNull()
    expect(id('{"eventID":"a\\"b"}')).toBe('a\\"b')
  })
})

describe('DedupWindow', () => {
  it('drops an eventID seen in another object, never in the same one, and forgets the oldest beyond its size', () => {
    const w = new DedupWindow(2)
    expect(w.duplicate('e1', 'A')).toBe(false)
    expect(w.duplicate('e1', 'A')).toBe(false) // A parsed again (a retry, a checkpoint's resume)
    expect(w.duplicate('e1', 'B')).toBe(true)
    expect(w.duplicate('e2', 'B')).toBe(false)
    expect(w.duplicate('e3', 'B')).toBe(false) // e1 goes
    expect(w.size).toBe(2)
    expect(w.duplicate('e1', 'C')).toBe(false)
  })
})

describe('ObjectParser with dedup_window', () => {
  const options = (name: string, window: number): ParseOptions & { name: string } => ({
    format: 'json',
    framing: 'lines',
    limits: { maxDecompressedBytes: 1 << 30, maxRecordBytes: 1 << 20, maxDepth: 64, outputChunkBytes: 1 << 20 },
    dedupWindow: window,
    name,
  })
  const parse = (name: string, ids: string[], window: number) => {
    const p = new ObjectParser(options(name, window))
    p.push(bytes(`{"Records":[${ids.map((e, i) => `{"eventID":"${e}","n":${i}}`).join(',')}]}`))
    p.end()
    const t = p.take()
    return { lines: t ? new TextDecoder().decode(t.data).split('\n').filter(Boolean) : [], through: t?.through, stats: p.stats }
  }

  it("drops the records of another object whose eventIDs this thread wrote, counts them, and numbers them as settled", () => {
    // A window of its own size for this test, so that the thread's window is fresh.
    const first = parse('s3://b/one', ['dd-1', 'dd-2', 'dd-3'], 977)
    expect(first.lines).toHaveLength(3)
    const second = parse('s3://b/two', ['dd-2', 'dd-4', 'dd-3'], 977)
    expect(second.lines).toEqual(['{"eventID":"dd-4","n":1}'])
    expect(second.stats.deduplicated).toBe(2)
    expect(second.stats.records).toBe(1)
    expect(second.through).toBe(3)
    // The first object again (its message retried): written whole, nothing dropped.
    const again = parse('s3://b/one', ['dd-1', 'dd-2', 'dd-3'], 977)
    expect(again.lines).toHaveLength(3)
    expect(again.stats.deduplicated).toBe(0)
  })

  it('is off by default', () => {
    parse('s3://b/x', ['off-1'], 0)
    expect(parse('s3://b/y', ['off-1'], 0).lines).toHaveLength(1)
  })
})
