import { MessageChannel } from 'node:worker_threads'
import { gzipSync } from 'node:zlib'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { feed, type ObjectInput } from '../../src/pipeline/pool.ts'
import { FastFlattener } from '../../workers/fortisiem/fast.ts'
import { flattenRecord } from '../../workers/fortisiem/reference.ts'
import { parseObjectSync } from '../../workers/object-parser.ts'
import { runObject } from '../../workers/object-stream.ts'
import type { ParseOptions } from '../../workers/protocol.ts'
import { fixtureRecords } from '../helpers/fixtures.ts'

const options = (over: Partial<ParseOptions['limits']> = {}, format: ParseOptions['format'] = 'json'): ParseOptions => ({
  format,
  framing: 'lines',
  syslog: { pri: 134, hostname: 'collector-1', appName: 'cloudtrail-ingest' },
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

const HEADER = /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} FortiSIEM-CloudTrail /
const SYSLOG_HEADER = /^<134>1 \S+ collector-1 cloudtrail-ingest - - - /

/** RFC 6587 octet-counted frames, read strictly: every byte must belong to one. */
function frames(text: Buffer): string[] {
  const out: string[] = []
  for (let at = 0; at < text.length; ) {
    const space = text.indexOf(0x20, at)
    const len = text.toString('latin1', at, space)
    expect(len, `a frame starts with its length at byte ${at}`).toMatch(/^[1-9]\d*$/)
    const end = space + 1 + Number(len)
    expect(end, 'the last frame is whole').toBeLessThanOrEqual(text.length)
    out.push(text.toString('utf8', space + 1, end))
    at = end
  }
  return out
}

describe('a record that would flatten to gigabytes: one 32 KiB key over 40,000 zeros', () => {
  // 113 KB of record (250 bytes of gzip on its own) and 1.3 GB of fortisiem fields.
  const blowup = `{"eventVersion":"1.08","eventName":"Blowup","requestParameters":{"${'k'.repeat(32 << 10)}":[${new Array(40_000).fill(0).join(',')}]}}`
  const good = records.slice(0, 30)
  const text = `{"Records":[${[...good.slice(0, 15).map((r) => JSON.stringify(r)), blowup, ...good.slice(15).map((r) => JSON.stringify(r))].join(',')}]}`
  const gz = gzipSync(text)
  const fields = good.map((r) => flattenRecord(JSON.stringify(r)))

  it.each([
    ['whole, fast flattener', 'whole', true],
    ['whole, reference flattener', 'whole', false],
    ['streamed, fast flattener', 'stream', true],
    ['streamed, reference flattener', 'stream', false],
  ] as const)('is skipped and counted, the other records written whole, in bounded memory: %s', async (_name, path, fastPaths) => {
    expect(gz.length).toBeLessThan(64 << 10)
    const peakBefore = process.resourceUsage().maxRSS * 1024
    const input = path === 'whole' ? { whole: new Uint8Array(gz) } : { chunks: chunked(gz, 2048) }
    const { result, output } = await run(input, { ...options({ maxRecordBytes: 8 << 20, outputChunkBytes: 16 << 10 }, 'fortisiem'), fastPaths })
    const grown = process.resourceUsage().maxRSS * 1024 - peakBefore
    expect(result.ok).toBe(true)
    expect(result.stats.skipped).toEqual({ record_too_large: 1 })
    expect(result.stats.records).toBe(good.length)
    const lines = output.split('\n')
    expect(lines.pop(), 'the output ends with a whole line').toBe('')
    expect(lines.map((l) => l.replace(HEADER, ''))).toEqual(fields)
    // The limit is 8 MiB of fields; the record alone would take gigabytes.
    expect(grown).toBeLessThan(100 << 20)
  })
})

describe('an exception in the middle of a record (a formatter that throws halfway)', () => {
  afterEach(() => vi.restoreAllMocks())
  const MARKER = 'ThrowsHalfway'
  const good = records.slice(0, 40)
  const gz = gzipSync(JSON.stringify({ Records: [...good.slice(0, 25), { eventName: MARKER, a: 'x'.repeat(500) }, ...good.slice(25)] }))

  /** Fault injection: the fast flattener writes the marked record's fields, moves back into them, and throws. */
  function throwHalfway(): void {
    const flattenFrom = FastFlattener.prototype.flattenFrom
    const flatten = FastFlattener.prototype.flatten
    const fail = (buf: Uint8Array, start: number, end: number, out: Parameters<typeof flatten>[3]) => {
      if (Buffer.from(buf.buffer, buf.byteOffset + start, end - start).includes(MARKER)) {
        out.setPosition(out.position - 100)
        throw new RangeError('Array buffer allocation failed')
      }
    }
    vi.spyOn(FastFlattener.prototype, 'flattenFrom').mockImplementation(function (this: FastFlattener, buf, start, limit, out, max) {
      const end = flattenFrom.call(this, buf, start, limit, out, max)
      if (end > 0) fail(buf, start, end, out)
      return end
    })
    vi.spyOn(FastFlattener.prototype, 'flatten').mockImplementation(function (this: FastFlattener, buf, start, end, out, max) {
      const ok = flatten.call(this, buf, start, end, out, max)
      if (ok) fail(buf, start, end, out)
      return ok
    })
  }

  it.each([
    ['lines', 'whole'],
    ['lines', 'stream'],
    ['syslog', 'whole'],
    ['syslog', 'stream'],
  ] as const)('leaves only whole records, none glued to a partial one (%s framing, %s)', async (framing, path) => {
    throwHalfway()
    const input = path === 'whole' ? { whole: new Uint8Array(gz) } : { chunks: chunked(gz, 1000) }
    const { result, outputs } = await run(input, { ...options({ outputChunkBytes: 4096 }, 'fortisiem'), framing })
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.code).toBe('ERR_WORKER')
    expect(result.stats.records).toBe(25)
    const want = good.slice(0, 25).map((r) => flattenRecord(JSON.stringify(r)))
    // Every chunk handed over holds whole records only.
    const got = outputs.flatMap((chunk) => {
      const text = Buffer.from(chunk)
      if (framing === 'syslog') return frames(text).map((f) => f.replace(SYSLOG_HEADER, '').replace(HEADER, ''))
      expect(text.at(-1), 'a chunk ends with a whole line').toBe(0x0a)
      return text.toString('utf8').split('\n').slice(0, -1).map((l) => l.replace(HEADER, ''))
    })
    expect(got).toEqual(want)
  })
})
