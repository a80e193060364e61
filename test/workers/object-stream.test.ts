import { MessageChannel } from 'node:worker_threads'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { feed, type ObjectInput } from '../../src/pool.ts'
import { parseObjectSync } from '../../workers/object-parser.ts'
import { runObject } from '../../workers/object-stream.ts'
import type { ParseOptions } from '../../workers/protocol.ts'
import { fixtureRecords } from '../helpers/fixtures.ts'

const options = (over: Partial<ParseOptions['limits']> = {}, format: ParseOptions['format'] = 'json'): ParseOptions => ({
  format,
  framing: 'lines',
  limits: { maxDecompressedBytes: 64 << 20, maxRecordBytes: 1 << 20, maxDepth: 64, outputChunkBytes: 64 << 10, ...over },
})

const records = fixtureRecords().map((r) => r.record)
const document = JSON.stringify({ Records: records })
const gz = gzipSync(document)

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size)
}

/** Runs the worker side on this thread over a real MessageChannel, as a Piscina worker would. */
async function run(input: ObjectInput, opts: ParseOptions, onOutput?: (data: Uint8Array) => void | Promise<void>) {
  const { port1, port2 } = new MessageChannel()
  const first = 'whole' in input ? input.whole : null
  const running = runObject({ ...opts, first, last: first !== null, name: 'test' }, port2)
  const outputs: Uint8Array[] = []
  const result = await feed(
    port1,
    'chunks' in input ? input.chunks : null,
    (data) => {
      outputs.push(data)
      return onOutput?.(data)
    },
    running,
  )
  return { result, output: Buffer.concat(outputs).toString('utf8'), outputs }
}

describe('runObject + feed (the worker protocol, in one thread)', () => {
  it('parses a whole object into the same bytes as the synchronous parser', async () => {
    const clock = () => 0
    const expected = parseObjectSync(gz, options({}, 'json'), clock).output.toString('utf8')
    const { result, output } = await run({ whole: new Uint8Array(gz) }, options())
    expect(result.ok).toBe(true)
    expect(result.stats.records).toBe(records.length)
    expect(output).toBe(expected)
    expect(output.split('\n').slice(0, -1).map((l) => JSON.parse(l))).toEqual(records)
  })

  it('streams a large object in chunks, with output in many chunks and flow control', async () => {
    const big = gzipSync(JSON.stringify({ Records: Array.from({ length: 20 }, () => records).flat() }))
    let pending = 0
    let maxPending = 0
    const { result, output, outputs } = await run({ chunks: chunked(big, 1000) }, options({ outputChunkBytes: 16 << 10 }), async () => {
      // A slow sink: each chunk takes a few milliseconds to be accepted.
      pending++
      maxPending = Math.max(maxPending, pending)
      await new Promise((r) => setTimeout(r, 2))
      pending--
    })
    expect(result.ok).toBe(true)
    expect(result.stats.records).toBe(records.length * 20)
    expect(output.split('\n').length - 1).toBe(records.length * 20)
    expect(outputs.length).toBeGreaterThan(10)
    // The worker never runs more than its window (2 chunks) ahead of the sink.
    expect(maxPending).toBeLessThanOrEqual(2)
  })

  it('holds a whole object back until its output is credited, as the stream path does', async () => {
    // Inflated in one piece on the whole path (small compressed, under 16 MiB inflated), 20 chunks of output.
    const doc = gzipSync(JSON.stringify({ Records: Array.from({ length: 10 }, () => records).flat() }))
    let pending = 0
    let maxPending = 0
    const { result, output, outputs } = await run({ whole: new Uint8Array(doc) }, options({ outputChunkBytes: 16 << 10 }), async () => {
      pending++
      maxPending = Math.max(maxPending, pending)
      await new Promise((r) => setTimeout(r, 2))
      pending--
    })
    expect(result.ok).toBe(true)
    expect(output.split('\n').length - 1).toBe(records.length * 10)
    expect(outputs.length).toBeGreaterThan(10)
    expect(maxPending).toBeLessThanOrEqual(2)
  })

  it('ends a whole object held back by the sink when it is aborted', async () => {
    const doc = gzipSync(JSON.stringify({ Records: Array.from({ length: 10 }, () => records).flat() }))
    const { port1, port2 } = new MessageChannel()
    const running = runObject({ ...options({ outputChunkBytes: 16 << 10 }), first: new Uint8Array(doc), last: true, name: 'test' }, port2)
    const abort = new AbortController()
    let chunks = 0
    // A sink that never takes more: the first output is never credited, and the object is aborted.
    const never = () => {
      if (++chunks === 1) abort.abort()
      return new Promise<void>(() => {})
    }
    const result = await feed(port1, null, never, running, abort.signal)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.code).toBe('ERR_SHUTDOWN')
    expect(chunks).toBeLessThanOrEqual(3) // the window of two, and what was cut when the abort came
  })

  it('writes fortisiem lines with the ctime header', async () => {
    const { result, output } = await run({ whole: gzipSync(JSON.stringify({ Records: [{ eventSource: 'ec2.amazonaws.com', a: 1 }] })) }, options({}, 'fortisiem'))
    expect(result.ok).toBe(true)
    expect(output).toMatch(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} FortiSIEM-CloudTrail \[a\]=1 \[eventSource\]=EC2\n$/)
  })

  it.each([
    ['plain JSON', new TextEncoder().encode(document), 'ERR_OBJECT_NOT_GZIP'],
    ['an empty object', new Uint8Array(0), 'ERR_OBJECT_NOT_GZIP'],
    ['gzip of something else', gzipSync('hello world'), 'ERR_OBJECT_NOT_JSON'],
    ['gzip with no Records', gzipSync('{"foo":[]}'), 'ERR_OBJECT_NO_RECORDS'],
  ])('fails %s with %s', async (_name, bytes, code) => {
    const { result } = await run({ whole: bytes }, options())
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.code).toBe(code)
  })

  it('fails a truncated object, still delivering the records before the cut', async () => {
    const cut = gz.subarray(0, Math.floor(gz.length * 0.6))
    for (const input of [{ whole: new Uint8Array(cut) }, { chunks: chunked(cut, 4096) }]) {
      const { result, output } = await run(input, options({ outputChunkBytes: 4096 }))
      expect(result.ok).toBe(false)
      if (!result.ok) expect(result.code).toBe('ERR_OBJECT_TRUNCATED')
      const lines = output.split('\n').slice(0, -1)
      expect(lines.length).toBeGreaterThan(10)
      expect(lines.map((l) => JSON.parse(l))).toEqual(records.slice(0, lines.length))
    }
  })

  it('fails a corrupt object', async () => {
    const corrupt = new Uint8Array(gz)
    for (let i = 100; i < 400; i++) corrupt[i] ^= 0x5a
    const { result } = await run({ whole: corrupt }, options())
    expect(result.ok).toBe(false)
    if (!result.ok) expect(['ERR_OBJECT_CORRUPT_GZIP', 'ERR_OBJECT_NOT_JSON']).toContain(result.code)
  })

  it('stops a gzip bomb at the decompressed-size limit', async () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20, 0x20), { level: 9 }) // 64 MiB of spaces in ~64 KiB
    expect(bomb.length).toBeLessThan(200_000)
    const { result } = await run({ chunks: chunked(bomb, 8192) }, options({ maxDecompressedBytes: 4 << 20 }))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.code).toBe('ERR_OBJECT_TOO_LARGE')
    expect(result.stats.decompressedBytes).toBeLessThanOrEqual(4 << 20)
  })

  it('reports a failing source as ERR_SOURCE, not as a bad object', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield gz.slice(0, 1000)
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
    }
    const { result } = await run({ chunks: failing() }, options())
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.code).toBe('ERR_SOURCE')
  })
})
