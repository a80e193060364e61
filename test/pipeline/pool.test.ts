// The parse pool on real threads (Piscina, the built workers in dist/: run the build first): the output
// of an object whole or streamed, byte for byte what the synchronous parser makes; what crosses the thread
// boundary (a buffer of its own moves, a view into a larger one is copied); the sink's push-back reaching
// the thread; the object's failures, its source's and its thread's, each as a result, never a rejection;
// the threads' time; and the output buffers handed back for reuse.

import { gzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { ParsePool, type ObjectInput, type PoolOptions } from '../../src/pipeline/pool.ts'
import { parseObjectSync } from '../../workers/object-parser.ts'
import type { ParseLimits } from '../../workers/protocol.ts'
import { fixtureRecords } from '../helpers/fixtures.ts'
import { waitUntil } from '../helpers/wait.ts'

const records = fixtureRecords().map((r) => r.record)
const limits: ParseLimits = { maxDecompressedBytes: 64 << 20, maxRecordBytes: 1 << 20, maxDepth: 64, outputChunkBytes: 1 << 20 }

const pools: ParsePool[] = []
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close()
})

function pool(options: Partial<PoolOptions> = {}, over: Partial<ParseLimits> = {}): ParsePool {
  const p = new ParsePool({ threads: 2, parse: { format: 'json', framing: 'lines', limits: { ...limits, ...over } }, ...options })
  pools.push(p)
  return p
}

/** `n` fixture records, each with its own seq, as a gzipped CloudTrail document. */
function object(n: number): Buffer {
  return gzipSync(JSON.stringify({ Records: Array.from({ length: n }, (_, i) => ({ ...records[i % records.length], seq: i })) }))
}

async function* pieces(bytes: Uint8Array, size: number, failAfter = Infinity): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) {
    if (i >= failAfter) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
    yield bytes.slice(i, i + size)
  }
}

/** Parses `input`, keeping each output chunk (a copy) and its record count, in arrival order. */
async function parse(p: ParsePool, input: ObjectInput, onOutput?: () => void | Promise<void>, signal?: AbortSignal) {
  const chunks: { data: Buffer; records: number }[] = []
  let beforeResult = true
  const result = await p.parse(
    'test-object',
    input,
    (data, n) => {
      expect(beforeResult).toBe(true) // every chunk comes before the result
      chunks.push({ data: Buffer.from(data), records: n })
      return onOutput?.()
    },
    signal,
  )
  beforeResult = false
  return { result, chunks, output: Buffer.concat(chunks.map((c) => c.data)) }
}

describe('ParsePool', () => {
  it('writes an object, whole or streamed, byte for byte as the synchronous parser does, in chunks of whole records', async () => {
    const gz = object(3000)
    const expected = parseObjectSync(gz, { format: 'json', framing: 'lines', limits }, () => 0).output
    const p = pool()
    const whole = await parse(p, { whole: new Uint8Array(gz) })
    const streamed = await parse(p, { chunks: pieces(gz, 10_000) })
    for (const { result, chunks, output } of [whole, streamed]) {
      expect(result).toMatchObject({ ok: true, stats: { records: 3000, compressedBytes: gz.length, outputBytes: expected.length } })
      expect(output.equals(expected)).toBe(true)
      expect(chunks.length).toBeGreaterThan(1)
      for (const c of chunks) {
        // About outputChunkBytes: the thread looks after each 256 KiB it inflates.
        expect(c.data.length).toBeLessThanOrEqual(limits.outputChunkBytes * 1.25)
        expect(c.data.at(-1)).toBe(0x0a) // ends with a whole record
        expect(c.records).toBe(c.data.toString('utf8').split('\n').length - 1)
      }
    }
    expect(whole.output.toString('utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l).seq)).toEqual(Array.from({ length: 3000 }, (_, i) => i))
  })

  it("moves a buffer of its own to the thread (detached here), and copies a view into a larger buffer, leaving the rest alone", async () => {
    const gz = object(50)
    const p = pool()
    const own = new Uint8Array(gz)
    expect((await parse(p, { whole: own })).result.ok).toBe(true)
    expect(own.buffer.byteLength).toBe(0)
    const larger = new Uint8Array(gz.length + 100)
    larger.set(gz, 50)
    const view = larger.subarray(50, 50 + gz.length)
    expect((await parse(p, { whole: view })).result).toMatchObject({ ok: true, stats: { records: 50 } })
    expect(larger.byteLength).toBe(gz.length + 100)
    expect(Buffer.from(view).equals(gz)).toBe(true)
  })

  it("holds the thread back while the sink takes nothing: at most two chunks handed over, then the rest once it takes them", async () => {
    const gz = object(6000)
    const p = pool({}, { outputChunkBytes: 16 << 10 })
    let release!: () => void
    const sinkBack = new Promise<void>((resolve) => (release = resolve))
    let handed = 0
    const parsing = parse(p, { whole: new Uint8Array(gz) }, () => {
      handed++
      return sinkBack
    })
    try {
      await waitUntil(() => handed >= 2, 'two chunks to be handed over', 10_000)
      await new Promise((r) => setTimeout(r, 500)) // time enough to parse the whole object, were it not held
      expect(handed).toBe(2)
    } finally {
      release()
    }
    const { result, chunks } = await parsing
    expect(result).toMatchObject({ ok: true, stats: { records: 6000 } })
    expect(chunks.length).toBeGreaterThan(10)
  })

  it.each<[string, () => ObjectInput, Partial<ParseLimits>, string]>([
    ['not gzip', () => ({ whole: new Uint8Array(Buffer.from(JSON.stringify({ Records: [] }))) }), {}, 'ERR_OBJECT_NOT_GZIP'],
    ['cut short', () => ({ whole: new Uint8Array(object(500).subarray(0, 3000)) }), {}, 'ERR_OBJECT_TRUNCATED'],
    ['beyond the decompressed-size limit', () => ({ whole: new Uint8Array(object(2000)) }), { maxDecompressedBytes: 64 << 10 }, 'ERR_OBJECT_TOO_LARGE'],
    ['streamed, beyond the decompressed-size limit', () => ({ chunks: pieces(object(2000), 4096) }), { maxDecompressedBytes: 64 << 10 }, 'ERR_OBJECT_TOO_LARGE'],
  ])('reports an object %s as its failure code, the records before it written', async (_name, input, over, code) => {
    const { result, output } = await parse(pool({}, over), input())
    expect(result.ok).toBe(false)
    expect(!result.ok && result.code).toBe(code)
    // Whatever was written is whole records, and counted.
    expect(output.length === 0 || output.at(-1) === 0x0a).toBe(true)
    expect(result.stats.records).toBe(output.toString('utf8').split('\n').length - 1)
  })

  it('counts the records it skips (too deep) and writes the others', async () => {
    let deep: Record<string, unknown> = { leaf: 1 }
    for (let i = 0; i < 80; i++) deep = { d: deep }
    const gz = gzipSync(JSON.stringify({ Records: [records[0], { ...records[1], requestParameters: deep }, records[2]] }))
    const { result, output } = await parse(pool(), { whole: new Uint8Array(gz) })
    expect(result).toMatchObject({ ok: true, stats: { records: 2, skipped: { record_too_deep: 1 } } })
    expect(output.toString('utf8').split('\n')).toHaveLength(3)
  })

  it('reports a source that fails mid-object as ERR_SOURCE, with its error', async () => {
    const gz = object(3000)
    const { result } = await parse(pool(), { chunks: pieces(gz, 4096, 8192) })
    expect(result).toMatchObject({ ok: false, code: 'ERR_SOURCE', message: 'read ECONNRESET' })
    expect(!result.ok && 'cause' in result && (result.cause as { code?: string }).code).toBe('ECONNRESET')
  })

  it('gives up on an object when its signal aborts, even with the sink holding it back', async () => {
    const p = pool({}, { outputChunkBytes: 16 << 10 })
    const abort = new AbortController()
    const parsing = parse(p, { whole: new Uint8Array(object(6000)) }, () => new Promise(() => {}), abort.signal)
    await new Promise((r) => setTimeout(r, 200))
    abort.abort()
    const { result } = await parsing
    expect(result).toMatchObject({ ok: false, code: 'ERR_SHUTDOWN' })
  })

  it('reports a thread that dies on an object as ERR_WORKER, and parses the next object on a new thread', async () => {
    // 300,000 distinct keys in one record: more heap than a thread limited to 24 MiB has.
    const wide = Object.fromEntries(Array.from({ length: 300_000 }, (_, i) => [`k${i}`, i]))
    const poison = gzipSync(JSON.stringify({ Records: [{ ...records[1], requestParameters: wide }] }))
    // The fortisiem format: its flattener holds a record's keys, as the json format does not.
    const p = pool({
      threads: 1,
      resourceLimits: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 8 },
      parse: { format: 'fortisiem', framing: 'lines', limits: { ...limits, maxRecordBytes: 64 << 20 } },
    })
    const { result } = await parse(p, { whole: new Uint8Array(poison) })
    expect(result).toMatchObject({ ok: false, code: 'ERR_WORKER' })
    expect(!result.ok && result.message).toMatch(/memory/)
    expect((await parse(p, { whole: new Uint8Array(object(20)) })).result).toMatchObject({ ok: true, stats: { records: 20 } })
  })

  it("parses on its threads at once, adds up their busy time, and counts their CPU by each thread's clock", async () => {
    const p = pool()
    const results = await Promise.all([1, 2, 3, 4].map(() => parse(p, { whole: new Uint8Array(object(3000)) })))
    for (const { result } of results) expect(result).toMatchObject({ ok: true, stats: { records: 3000 } })
    const busy = results.reduce((sum, r) => sum + r.result.stats.busyMs, 0)
    const cpu = results.reduce((sum, r) => sum + r.result.stats.cpuMs, 0)
    expect(busy).toBeGreaterThan(0)
    expect(cpu).toBeGreaterThan(0)
    expect(p.busyMs).toBeCloseTo(busy, 6)
    // Each thread's clock from its first object's start to its latest verdict: at least the objects' own CPU
    // (what lies between them too), and all of it on threads of this pool.
    expect(p.cpuMs).toBeGreaterThanOrEqual(cpu - 1e-6)
    const threads = new Set(results.map((r) => r.result.stats.thread))
    expect([...threads].every((t) => t > 0)).toBe(true)
    const spans = [...threads].map((t) => {
      const own = results.filter((r) => r.result.stats.thread === t).map((r) => r.result.stats)
      return Math.max(...own.map((s) => s.threadCpuMs)) - Math.min(...own.map((s) => s.threadCpuMs - s.cpuMs))
    })
    expect(p.cpuMs).toBeCloseTo(spans.reduce((a, b) => a + b, 0), 6)
  })

  it("hands an output chunk's buffer back to the next object (moved: detached here), but not a view or a buffer of another size", async () => {
    const p = pool()
    const kept: Uint8Array[] = []
    await p.parse('first', { whole: new Uint8Array(object(3000)) }, (data) => void kept.push(data))
    const [chunk] = kept
    expect(chunk.byteOffset).toBe(0)
    const small = new Uint8Array(1024)
    const view = new Uint8Array(new ArrayBuffer(limits.outputChunkBytes * 2), 8)
    p.recycle(chunk)
    p.recycle(small)
    p.recycle(view)
    const size = chunk.buffer.byteLength
    expect(size).toBeGreaterThan(0)
    expect((await parse(p, { whole: new Uint8Array(object(10)) })).result.ok).toBe(true)
    expect(chunk.buffer.byteLength).toBe(0) // gone to the thread
    expect(small.buffer.byteLength).toBe(1024)
    expect(view.buffer.byteLength).toBe(limits.outputChunkBytes * 2)
  })
})

describe('ParsePool: each source its rules', () => {
  it('applies the rule set each task names, through the same threads, as the synchronous parser does', async () => {
    const p = pool({ threads: 2 })
    const gz = object(300)
    const a = { drop: ['eventName=Describe*|List*|Get*'], keep: [], redact: [] }
    const b = { drop: [], keep: ['readOnly=false'], redact: ['userIdentity/*'] }
    const none = { drop: [], keep: [], redact: [] }
    // Interleaved: several objects of each source in flight at once, on both threads.
    const wants = new Map([a, b, none].map((rules) => [rules, parseObjectSync(gz, { format: 'json', framing: 'lines', limits, rules }).stats]))
    // Each its own copy: a whole object's buffer moves to the thread.
    const runs = await Promise.all([a, b, none, a, b, none].map((rules) => p.parse('test-object', { whole: new Uint8Array(gz) }, () => {}, undefined, rules).then((result) => ({ rules, result }))))
    for (const { rules, result } of runs) {
      const want = wants.get(rules)!
      expect(result.ok).toBe(true)
      expect(result.stats.records).toBe(want.records)
      expect(result.stats.dropped).toEqual(want.dropped)
      expect(result.stats.redacted).toEqual(want.redacted)
    }
    const [ra, rb, rn] = runs.map((r) => r.result.stats)
    expect(rn.records).toBe(300)
    expect(Object.values(ra.dropped)[0]).toBeGreaterThan(0)
    expect(rb.dropped.keep).toBeGreaterThan(0)
    expect(rb.redacted['userIdentity/*']).toBe(rb.records)
    // Without rules in the task, the pool's own (none here) apply.
    expect((await p.parse('test-object', { whole: new Uint8Array(gz) }, () => {})).stats.records).toBe(300)
  })
})
