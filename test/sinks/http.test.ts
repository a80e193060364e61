import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/log.ts'
import { retryAfterMs } from '../../src/sinks/http.ts'
import { createSink, type Sink, type SinkOptions } from '../../src/sinks/index.ts'
import { TestHttpServer } from '../helpers/servers.ts'
import { captureLogger, codeOf, recorder, tlsDestination } from '../helpers/sink-harness.ts'
import { waitUntil } from '../helpers/wait.ts'

/** One NDJSON record of exactly `size` bytes, newline included. */
function record(i: number, size = 100): Buffer {
  const head = `{"eventID":"${i}","p":"`
  return Buffer.from(`${head}${'x'.repeat(size - head.length - 3)}"}\n`)
}

const ids = (bodies: Buffer[]) => bodies.flatMap((b) => [...b.toString().matchAll(/"eventID":"(\d+)"/g)].map((m) => Number(m[1])))
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i)
const allOk = (n: number) => range(n).map((i) => ({ i, err: null }))

describe('HttpSink over http://', () => {
  let server: TestHttpServer
  const sinks: Sink[] = []
  beforeAll(async () => {
    server = await TestHttpServer.start()
  })
  afterEach(async () => {
    for (const sink of sinks.splice(0)) sink.destroy()
    server.requests.length = 0
    server.answer = () => ({ status: 200 })
    if (!server.listening) await server.reopen()
  })
  afterAll(async () => {
    await server.close()
  })
  function httpSink(options: Partial<SinkOptions> = {}): Sink {
    const sink = createSink({ output: server.url, logger: silentLogger(), retryMaxDelayMs: 200, httpLingerMs: 20, ...options })
    sinks.push(sink)
    return sink
  }

  it('batches up to httpBatchBytes, sends a larger chunk alone, and confirms each chunk once in order', async () => {
    const sink = httpSink({ httpBatchBytes: 1000, httpHeaders: { Authorization: 'Bearer s3cret', 'X-Tenant': 'acme' } })
    expect([sink.kind, sink.framing]).toEqual(['http', 'lines'])
    const { results, confirmFor } = recorder()
    const chunks = range(60).map((i) => record(i))
    chunks.splice(25, 0, Buffer.concat(range(25, 1000).map((i) => record(i)))) // 2 500 bytes, one chunk
    chunks.forEach((chunk, i) => sink.write(chunk, confirmFor(i)))
    await sink.flush()
    expect(results).toEqual(allOk(chunks.length))
    const bodies = server.accepted()
    expect(bodies.length).toBeGreaterThanOrEqual(7) // 6 full batches of 10, plus the big chunk alone
    for (const body of bodies) expect(body.length === 2500 || body.length <= 1000).toBe(true)
    expect(bodies.filter((b) => b.length === 2500)).toEqual([chunks[25]])
    // Two POSTs may be in flight, so arrival order can differ; put the bodies back in record order.
    const byFirstId = (b: Buffer) => chunks.findIndex((c) => b.subarray(0, c.length).equals(c))
    const ordered = [...bodies].sort((a, b) => byFirstId(a) - byFirstId(b))
    expect(Buffer.concat(ordered).equals(Buffer.concat(chunks))).toBe(true)
    for (const request of server.requests) {
      expect(request).toMatchObject({ method: 'POST', url: '/ingest' })
      expect(request.headers).toMatchObject({ 'content-type': 'application/x-ndjson', authorization: 'Bearer s3cret', 'x-tenant': 'acme' })
    }
  })

  it('sends httpContentType, unless httpHeaders names a Content-Type (in any case)', async () => {
    const a = httpSink({ httpContentType: 'text/plain; charset=utf-8' })
    a.write(record(1), () => {})
    await a.flush()
    const b = httpSink({ httpHeaders: { 'Content-Type': 'application/json' } })
    b.write(record(2), () => {})
    await b.flush()
    expect(server.requests.map((r) => r.headers['content-type'])).toEqual(['text/plain; charset=utf-8', 'application/json'])
    expect(server.requests[1].rawHeaders.filter((h) => h.toLowerCase() === 'content-type')).toHaveLength(1)
  })

  it('waits at most httpLingerMs for a batch to fill', async () => {
    const sink = httpSink({ httpLingerMs: 50 })
    const { results, confirmFor } = recorder()
    sink.write(record(1), confirmFor(1))
    await waitUntil(() => results.length === 1, 'the lone record to be sent without flush()')
    expect(server.accepted()).toEqual([record(1)])
  })

  it('confirms nothing while the server answers 503, then everything once a 200 comes, losing nothing', async () => {
    const { logger, lines } = captureLogger()
    server.answer = () => ({ status: 503 })
    const sink = httpSink({ logger, httpBatchBytes: 1000, httpHeaders: { Authorization: 'Bearer s3cret' } })
    const { results, confirmFor } = recorder()
    for (let i = 0; i < 30; i++) sink.write(record(i), confirmFor(i))
    await waitUntil(() => server.requests.length >= 4, 'several refused POSTs')
    expect(results).toEqual([])
    expect(sink.healthy).toBe(false)
    server.answer = () => ({ status: 200 })
    await sink.flush()
    expect(sink.healthy).toBe(true)
    expect(results).toEqual(allOk(30))
    expect(ids(server.accepted()).sort((a, b) => a - b)).toEqual(range(30))
    expect(lines[0]).toMatchObject({ level: 40, sink: 'http', code: 'HTTP_503', status: 503 })
    const logged = JSON.stringify(lines)
    expect(logged).not.toContain('eventID')
    expect(logged).not.toContain('s3cret')
  })

  it('keeps retrying through refused connections and delivers when the server is back', async () => {
    const { logger, lines } = captureLogger()
    await server.refuse()
    const sink = httpSink({ logger })
    const { results, confirmFor } = recorder()
    for (let i = 0; i < 5; i++) sink.write(record(i), confirmFor(i))
    await waitUntil(() => lines.filter((l) => l.code === 'ECONNREFUSED').length >= 2, 'refused connects')
    expect(sink.healthy).toBe(false)
    expect(results).toEqual([])
    await server.reopen()
    await sink.flush()
    expect(results).toEqual(allOk(5))
    expect(ids(server.accepted())).toEqual(range(5))
  })

  it('honours Retry-After, capped by retryMaxDelayMs', async () => {
    server.answer = (req) => (server.requests.indexOf(req) === 0 ? { status: 503, headers: { 'Retry-After': '1' } } : { status: 200 })
    const sink = httpSink({ retryMaxDelayMs: 30_000 })
    sink.write(record(1), () => {})
    await sink.flush()
    const [first, second] = server.requests
    // Without Retry-After the first retry waits under 100 ms (backoff with jitter).
    expect(second.at - first.at).toBeGreaterThanOrEqual(900)

    server.requests.length = 0
    server.answer = (req) => (server.requests.indexOf(req) === 0 ? { status: 429, headers: { 'Retry-After': '3600' } } : { status: 200 })
    const capped = httpSink({ retryMaxDelayMs: 300 })
    capped.write(record(2), () => {})
    await capped.flush()
    expect(server.requests[1].at - server.requests[0].at).toBeLessThan(5_000)
    expect(server.accepted()).toEqual([record(2)])
  })

  it('retries other 4xx too, logging them at error with the status', async () => {
    const { logger, lines } = captureLogger()
    let refusals = 2
    server.answer = () => (refusals-- > 0 ? { status: 401 } : { status: 200 })
    const sink = httpSink({ logger, httpHeaders: { Authorization: 'Bearer s3cret' } })
    const { results, confirmFor } = recorder()
    sink.write(record(1), confirmFor(1))
    await sink.flush()
    expect(results).toEqual([{ i: 1, err: null }])
    expect(lines.filter((l) => l.level === 50)).toHaveLength(2)
    expect(lines[0]).toMatchObject({ sink: 'http', status: 401, code: 'HTTP_401' })
    expect(JSON.stringify(lines)).not.toContain('s3cret')
  })

  it('sends a body refused as too large (413) again in halves cut at record boundaries, losing nothing', async () => {
    const { logger, lines } = captureLogger()
    // The SIEM takes bodies of at most 450 bytes; the sink batches 2 000.
    server.answer = (req) => (req.body.length > 450 ? { status: 413 } : { status: 200 })
    const sink = httpSink({ logger, httpBatchBytes: 2000 })
    const { results, confirmFor } = recorder()
    const chunks = range(10).map((i) => Buffer.concat(range(3, i * 3).map((j) => record(j)))) // 300 bytes each
    chunks.forEach((chunk, i) => sink.write(chunk, confirmFor(i)))
    await sink.flush()
    expect(results).toEqual(allOk(10))
    const bodies = server.accepted()
    for (const body of bodies) {
      expect(body.length).toBeLessThanOrEqual(450)
      expect(body.at(-1)).toBe(10) // whole records only
    }
    expect(ids(bodies).sort((a, b) => a - b)).toEqual(range(30))
    expect(server.requests.filter((r) => r.status === 413).length).toBeGreaterThan(0)
    // Said once at warn, with what to change; further splits at debug.
    expect(lines.filter((l) => l.level === 40 && l.code === 'HTTP_413')).toHaveLength(1)
    expect(lines.find((l) => l.code === 'HTTP_413')?.msg).toContain('http_batch_bytes')
  })

  it('fails only the batch of a single record refused as too large, with ERR_SINK_REJECTED, and goes on', async () => {
    const { logger, lines } = captureLogger()
    server.answer = (req) => (req.body.includes('"eventID":"7"') ? { status: 413 } : { status: 200 })
    const sink = httpSink({ logger, httpBatchBytes: 300 }) // three records per POST
    const { results, confirmFor } = recorder()
    range(12).forEach((i) => sink.write(record(i), confirmFor(i)))
    await sink.flush()
    // Records 6-8 went in one POST; it was split down to record 7 alone. The batch fails as a whole
    // (its objects come back from SQS); every other batch is confirmed.
    expect(results.map((r) => r.i)).toEqual(range(12))
    expect(results.filter((r) => r.err !== null).map((r) => [r.i, codeOf(r.err)])).toEqual([
      [6, 'ERR_SINK_REJECTED'],
      [7, 'ERR_SINK_REJECTED'],
      [8, 'ERR_SINK_REJECTED'],
    ])
    expect(ids(server.accepted()).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 9, 10, 11])
    expect(server.requests.filter((r) => r.body.includes('"eventID":"7"')).map((r) => r.body.length)).toEqual([300, 200, 100])
    expect(lines.find((l) => l.level === 50)).toMatchObject({ code: 'ERR_SINK_REJECTED', status: 413, bytes: 100 })
    expect(sink.healthy).toBe(true)
  })

  it('probes the destination at start: not healthy while it refuses connections, healthy once it listens, without a request', async () => {
    const { logger, lines } = captureLogger()
    await server.refuse()
    const sink = httpSink({ logger, retryMaxDelayMs: 100 })
    await waitUntil(() => lines.some((l) => l.code === 'ECONNREFUSED'), 'a failed probe')
    expect(sink.healthy).toBe(false)
    expect(lines.find((l) => l.code === 'ECONNREFUSED')).toMatchObject({ level: 40, sink: 'http', port: Number(new URL(server.url).port) })
    await server.reopen()
    await waitUntil(() => sink.healthy, 'the sink to be healthy')
    expect(server.requests).toEqual([]) // a connection, no POST, no stray request in the SIEM's logs
  })

  it('probes again while idle: a SIEM that went away shows before the next POST, and so does its return', async () => {
    const { logger, lines } = captureLogger()
    const sink = httpSink({ logger, retryMaxDelayMs: 100, idleProbeMs: 200 })
    sink.write(record(1), () => {})
    await sink.flush()
    expect(sink.healthy).toBe(true)
    await server.refuse()
    await waitUntil(() => !sink.healthy, 'the idle probe to see the SIEM gone')
    await server.reopen()
    await waitUntil(() => sink.healthy, 'the probe to see it back')
    expect(lines.find((l) => l.msg === 'the destination can be reached again')).toMatchObject({ level: 30, sink: 'http' })
    expect(server.requests).toHaveLength(1) // probes are connections, never requests
  })

  it('keeps at most two POSTs in flight and confirms in order when a later one finishes first', async () => {
    let inFlight = 0
    let maxInFlight = 0
    const answered: number[] = []
    server.answer = (req) => {
      const n = server.requests.indexOf(req)
      inFlight = server.requests.filter((r) => r.status === 0).length
      maxInFlight = Math.max(maxInFlight, inFlight)
      setTimeout(() => answered.push(n), n === 0 ? 400 : 0)
      return { status: 200, delayMs: n === 0 ? 400 : 50 }
    }
    const sink = httpSink({ httpBatchBytes: 100 }) // one record per POST
    const { results, confirmFor } = recorder()
    for (let i = 0; i < 8; i++) sink.write(record(i), confirmFor(i))
    await sink.flush()
    expect(results).toEqual(allOk(8))
    expect(answered.indexOf(1)).toBeLessThan(answered.indexOf(0)) // the second POST was answered first
    expect(maxInFlight).toBe(2)
  })

  it('returns false at the high-water mark and emits drain once bodies are accepted', async () => {
    server.answer = () => ({ status: 200, delayMs: 100 })
    const sink = httpSink({ highWaterMark: 1000, httpBatchBytes: 300 })
    let drains = 0
    sink.on('drain', () => drains++)
    const accepted = range(9).map((i) => sink.write(record(i), () => {}))
    expect(accepted).toEqual([true, true, true, true, true, true, true, true, true])
    expect(sink.write(record(9), () => {})).toBe(false)
    expect(drains).toBe(0)
    await waitUntil(() => drains === 1, 'drain')
    await sink.flush()
  })

  it('close sends a lingering batch at once, is idempotent, and later writes fail ERR_SINK_CLOSED', async () => {
    const sink = httpSink({ httpLingerMs: 60_000 })
    const { results, confirmFor } = recorder()
    sink.write(record(1), confirmFor(1))
    await Promise.all([sink.close(), sink.close()])
    expect(results).toEqual([{ i: 1, err: null }])
    expect(server.accepted()).toEqual([record(1)])
    expect(sink.write(record(2), confirmFor(2))).toBe(false)
    expect(codeOf(results[1].err)).toBe('ERR_SINK_CLOSED')
  })

  it('destroy fails in-flight and queued chunks with ERR_SINK_CLOSED, in order', async () => {
    server.answer = () => ({ status: 503 })
    const sink = httpSink({ httpBatchBytes: 100 })
    const { results, confirmFor } = recorder()
    for (let i = 0; i < 5; i++) sink.write(record(i), confirmFor(i))
    await waitUntil(() => server.requests.length >= 2, 'POSTs')
    const closing = sink.close()
    sink.destroy()
    await closing
    expect(results.map((r) => [r.i, codeOf(r.err)])).toEqual(range(5).map((i) => [i, 'ERR_SINK_CLOSED']))
  })
})

describe('HttpSink over https://', () => {
  const destination = tlsDestination((material) => TestHttpServer.start(material))
  function httpsSink(host: string, options: Partial<SinkOptions> = {}): Sink {
    const output = `https://${host}:${destination.server.port}/ingest`
    return destination.track(createSink({ output, logger: silentLogger(), retryMaxDelayMs: 200, ...options }))
  }

  it('verifies the server against tlsCaFile, by name and by IP', async () => {
    const { certs, server } = destination
    for (const host of ['localhost', '127.0.0.1']) {
      const sink = httpsSink(host, { tlsCaFile: certs.caFile })
      expect(sink.kind).toBe('https')
      const { results, confirmFor } = recorder()
      sink.write(record(1), confirmFor(1))
      await sink.close()
      expect(results).toEqual([{ i: 1, err: null }])
    }
    expect(server.accepted()).toEqual([record(1), record(1)])
  })

  it('probes with the TLS handshake at start: healthy when the certificate verifies, not otherwise', async () => {
    const { certs } = destination
    const { logger, lines } = captureLogger()
    const trusted = httpsSink('localhost', { tlsCaFile: certs.caFile })
    const untrusted = httpsSink('localhost', { logger })
    await waitUntil(() => trusted.healthy && lines.some((l) => l.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'both probes')
    expect(untrusted.healthy).toBe(false)
  })

  it('does not confirm to an untrusted certificate unless tlsInsecure', async () => {
    const { server } = destination
    const { logger, lines } = captureLogger()
    const before = server.requests.length
    const sink = httpsSink('localhost', { logger })
    const { results, confirmFor } = recorder()
    sink.write(record(1), confirmFor(1))
    await waitUntil(() => lines.length >= 2, 'failed handshakes')
    expect(lines[0]).toMatchObject({ sink: 'https', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
    expect(sink.healthy).toBe(false)
    expect(results).toEqual([])
    expect(server.requests.length).toBe(before)

    const insecure = httpsSink('localhost', { tlsInsecure: true })
    insecure.write(record(2), confirmFor(2))
    await insecure.close()
    expect(results).toEqual([{ i: 2, err: null }])
  })
})

describe('retryAfterMs', () => {
  it('reads delta-seconds and HTTP dates, caps them, and ignores junk', () => {
    expect(retryAfterMs('2', 30_000)).toBe(2_000)
    expect(retryAfterMs('120', 30_000)).toBe(30_000)
    expect(retryAfterMs(new Date(Date.now() + 5_000).toUTCString(), 30_000)).toBeGreaterThan(3_000)
    expect(retryAfterMs(new Date(Date.now() - 5_000).toUTCString(), 30_000)).toBe(0)
    expect(retryAfterMs('soon', 30_000)).toBeUndefined()
    expect(retryAfterMs(undefined, 30_000)).toBeUndefined()
  })
})
