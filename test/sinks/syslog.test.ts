import { afterEach, describe, expect, it } from 'vitest'
import { within } from '../../src/sleep.ts'
import { silentLogger, type Logger } from '../../src/log.ts'
import { createSink } from '../../src/sinks/index.ts'
import { RESEND_BYTES, SyslogSink } from '../../src/sinks/syslog.ts'
import { SyslogServer } from '../helpers/servers.ts'
import { captureLogger, codeOf, recorder, tlsDestination } from '../helpers/sink-harness.ts'
import { waitUntil } from '../helpers/wait.ts'

const bytesOf = (buffers: Buffer[] | undefined) => (buffers ?? []).reduce((n, b) => n + b.length, 0)

/** One RFC 5424 message with RFC 6587 octet counting, as the parse workers frame it. */
function frame(i: number, pad = 0): Buffer {
  const msg = `<110>1 2024-05-27T15:40:00Z ip-10-0-0-1 cloudtrail - - - {"eventID":"${i}","p":"${'x'.repeat(pad)}"}`
  return Buffer.from(`${Buffer.byteLength(msg)} ${msg}`)
}

describe('SyslogSink over tcp://', () => {
  const servers: SyslogServer[] = []
  const sinks: Array<{ destroy(): void }> = []
  afterEach(async () => {
    for (const sink of sinks.splice(0)) sink.destroy()
    for (const server of servers.splice(0)) await server.close()
  })
  async function setup(options: { highWaterMark?: number; logger?: Logger } = {}) {
    const server = await SyslogServer.start()
    servers.push(server)
    const sink = new SyslogSink(
      { kind: 'tcp', host: '127.0.0.1', port: server.port },
      { logger: options.logger ?? silentLogger(), retryMaxDelayMs: 200, highWaterMark: options.highWaterMark },
    )
    sinks.push(sink)
    return { server, sink }
  }

  it('delivers every frame exactly once, byte for byte, and confirms each once in order', async () => {
    const { server, sink } = await setup()
    const { results, confirmFor } = recorder()
    const frames = Array.from({ length: 500 }, (_, i) => frame(i, i % 40))
    // Chunks hold several whole frames, as the parse workers hand them over.
    for (let i = 0; i < 100; i++) sink.write(Buffer.concat(frames.slice(i * 5, i * 5 + 5)), confirmFor(i))
    await sink.flush()
    expect(results.map((r) => r.i)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(results.every((r) => r.err === null)).toBe(true)
    await waitUntil(() => server.frames.length >= 500, '500 frames')
    expect(Buffer.concat(server.frames)).toEqual(Buffer.concat(frames))
    expect(server.frames).toHaveLength(500)
    expect(server.connections).toBe(1)
    expect(server.framingErrors).toBe(0)
    expect(sink.kind).toBe('tcp')
    expect(sink.framing).toBe('syslog')
  })

  it('returns false at the high-water mark while the receiver does not read, and drains after', async () => {
    const { server, sink } = await setup({ highWaterMark: 1024 * 1024 })
    server.pause()
    let drains = 0
    sink.on('drain', () => drains++)
    const chunk = Buffer.concat(Array.from({ length: 100 }, (_, i) => frame(i, 500)))
    let written = 0
    // The kernel takes a few MB before the socket stops calling back, so keep writing until it pushes back.
    while (sink.write(chunk, () => {})) {
      written++
      if (written % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5))
      if (written > 2_000) throw new Error('write never returned false')
    }
    expect(drains).toBe(0)
    server.resume()
    await waitUntil(() => drains === 1, 'drain')
    await sink.flush()
  })

  it('reconnects after the receiver drops the connection, re-sending what it may not have read', async () => {
    const { server, sink } = await setup()
    const { results, confirmFor } = recorder()
    for (let i = 0; i < 10; i++) sink.write(frame(i), confirmFor(i))
    await sink.flush()
    await waitUntil(() => server.frames.length === 10, 'first frames')
    server.reset()
    // Let the sink see the reset (reading is how it notices), then write through it.
    await new Promise((resolve) => setTimeout(resolve, 100))
    for (let i = 10; i < 20; i++) sink.write(frame(i), confirmFor(i))
    await sink.flush()
    await waitUntil(() => server.frames.length >= 20, 'frames after the reset')
    expect(results.map((r) => [r.i, r.err])).toEqual(Array.from({ length: 20 }, (_, i) => [i, null]))
    // The new connection carries the recently confirmed frames again (the receiver may not have read
    // them before it dropped the connection), then the new ones: at-least-once, in order.
    await waitUntil(() => (server.byConnection[1]?.length ?? 0) >= 20, 'frames on the new connection')
    expect(Buffer.concat(server.byConnection[0])).toEqual(Buffer.concat(Array.from({ length: 10 }, (_, i) => frame(i))))
    expect(Buffer.concat(server.byConnection[1])).toEqual(Buffer.concat(Array.from({ length: 20 }, (_, i) => frame(i))))
    expect(server.connections).toBe(2)
  })

  it('re-sends, in order, every chunk the receiver may not have read when the connection failed', async () => {
    const { server, sink } = await setup({ highWaterMark: 256 * 1024 * 1024 })
    server.pause()
    const { results, confirmFor } = recorder()
    const chunks = Array.from({ length: 400 }, (_, i) => Buffer.concat(Array.from({ length: 50 }, (_, j) => frame(i * 50 + j, 800))))
    chunks.forEach((chunk, i) => sink.write(chunk, confirmFor(i)))
    // ~17 MB: more than loopback socket buffers hold, so the tail stays unconfirmed in the sink.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const confirmedBefore = results.length
    server.reset()
    server.resume()
    await sink.flush()
    expect(results.map((r) => [r.i, r.err])).toEqual(chunks.map((_, i) => [i, null]))
    // TCP syslog has no acks: what the kernel had accepted before the reset was confirmed, and the receiver
    // never read it. The sink keeps the last RESEND_BYTES confirmed (more than this was), so everything
    // arrives on the new connection: whole chunks, in order, from the first one.
    const lastFrame = frame(400 * 50 - 1, 800)
    await waitUntil(() => server.byConnection[1]?.at(-1)?.equals(lastFrame) === true, 'the last frame on a new connection')
    const resent = Buffer.concat(server.byConnection[1])
    const expectedBytes = (k: number) => chunks.slice(k).reduce((n, c) => n + c.length, 0)
    const k = chunks.findIndex((_, k) => expectedBytes(k) === resent.length)
    expect(confirmedBefore).toBeGreaterThan(0)
    expect(chunks.slice(0, confirmedBefore).reduce((n, c) => n + c.length, 0)).toBeLessThan(RESEND_BYTES)
    expect(k).toBe(0) // nothing lost, although the first connection was never read
    expect(resent.equals(Buffer.concat(chunks.slice(k)))).toBe(true) // not toEqual: its diff of MBs never ends
    expect(server.byConnection[0]).toEqual([]) // the receiver never read the first connection
    expect(server.framingErrors).toBe(0)
  })

  // Two breaks, with nothing read in between: what went out again on the second connection must go out
  // again on the third.
  it('re-sends again after a second break what it re-sent on the connection that broke', async () => {
    const { logger, lines } = captureLogger()
    const { server, sink } = await setup({ logger })
    server.pause() // reads nothing, on this connection and the next ones
    const { results, confirmFor } = recorder()
    const frames = Array.from({ length: 20 }, (_, i) => frame(i, 800))
    frames.forEach((f, i) => sink.write(f, confirmFor(i)))
    await sink.flush() // confirmed: the kernel took them; the receiver never reads them
    const resent = () => lines.filter((l) => /wrote recently confirmed records again/.test(String(l.msg))).length
    server.reset()
    await waitUntil(() => server.connections === 2 && resent() === 1, 'the re-send, on a second connection')
    await new Promise((resolve) => setTimeout(resolve, 100)) // its write callbacks
    server.reset() // the second connection breaks too, unread
    await waitUntil(() => server.connections === 3 && sink.healthy, 'a third connection')
    server.resume()
    const all = Buffer.concat(frames)
    await waitUntil(() => bytesOf(server.byConnection[2]) >= all.length, 'the frames on the third connection', 3_000).catch(() => {})
    expect(bytesOf(server.byConnection[2])).toBe(all.length)
    expect(Buffer.concat(server.byConnection[2])).toEqual(all)
    expect([server.byConnection[0], server.byConnection[1]]).toEqual([[], []])
    expect(resent()).toBe(2)
    expect(results.map((r) => [r.i, r.err])).toEqual(frames.map((_, i) => [i, null]))
  })

  it('re-sends again after a second break the re-sent chunks still waiting for the kernel when it broke', async () => {
    const { server, sink } = await setup({ highWaterMark: 256 * 1024 * 1024 })
    const chunks = Array.from({ length: 400 }, (_, i) => Buffer.concat(Array.from({ length: 50 }, (_, j) => frame(i * 50 + j, 800))))
    chunks.forEach((chunk) => sink.write(chunk, () => {}))
    await sink.flush()
    await waitUntil(() => bytesOf(server.byConnection[0]) === bytesOf(chunks), 'every chunk read on the first connection')
    // ~17 MB were confirmed: the sink keeps the last RESEND_BYTES of them to write again.
    const k = chunks.findIndex((_, k) => bytesOf(chunks.slice(k)) <= RESEND_BYTES)
    const window = Buffer.concat(chunks.slice(k))
    server.pause()
    server.reset()
    // The second connection is not read: the kernel takes a few MB of the 16 MiB written again, the rest
    // waits in the socket for its write callback when this connection breaks too.
    await waitUntil(() => server.connections === 2 && sink.healthy, 'a second connection')
    await new Promise((resolve) => setTimeout(resolve, 300))
    server.reset()
    await waitUntil(() => server.connections === 3 && sink.healthy, 'a third connection')
    server.resume()
    await waitUntil(() => bytesOf(server.byConnection[2]) >= window.length, 'the window on the third connection', 5_000).catch(() => {})
    expect(bytesOf(server.byConnection[1])).toBe(0)
    expect(bytesOf(server.byConnection[2])).toBe(window.length)
    expect(Buffer.concat(server.byConnection[2]).equals(window)).toBe(true) // not toEqual: its diff of MBs never ends
    expect(server.framingErrors).toBe(0)
  })

  it('holds the chunks while the receiver is down, is unhealthy, and delivers them when it is back', async () => {
    const { logger, lines } = captureLogger()
    const { server, sink } = await setup({ logger })
    await server.stop()
    const { results, confirmFor } = recorder()
    for (let i = 0; i < 5; i++) sink.write(frame(i), confirmFor(i))
    await waitUntil(() => lines.filter((l) => l.code === 'ECONNREFUSED').length >= 2, 'failed connects')
    expect(sink.healthy).toBe(false)
    expect(results).toEqual([])
    await server.restart()
    await sink.flush()
    expect(sink.healthy).toBe(true)
    expect(results.map((r) => [r.i, r.err])).toEqual(Array.from({ length: 5 }, (_, i) => [i, null]))
    await waitUntil(() => server.frames.length >= 5, 'frames')
    expect(Buffer.concat(server.frames)).toEqual(Buffer.concat(Array.from({ length: 5 }, (_, i) => frame(i))))
    expect(lines[0]).toMatchObject({ level: 40, sink: 'tcp', code: 'ECONNREFUSED' })
    expect(JSON.stringify(lines)).not.toContain('eventID')
  })

  it('connects at start: not healthy while nothing listens, healthy once the receiver is there, before any write', async () => {
    const { logger, lines } = captureLogger()
    const server = await SyslogServer.start()
    servers.push(server)
    await server.stop()
    const sink = new SyslogSink({ kind: 'tcp', host: '127.0.0.1', port: server.port }, { logger, retryMaxDelayMs: 100 })
    sinks.push(sink)
    await waitUntil(() => lines.filter((l) => l.code === 'ECONNREFUSED').length >= 2, 'failed connects')
    expect(sink.healthy).toBe(false)
    await server.restart()
    await waitUntil(() => sink.healthy, 'the sink to be healthy')
    expect(server.connections).toBe(1)
    // The connection it opened is the one the first records go through.
    const { results, confirmFor } = recorder()
    sink.write(frame(0), confirmFor(0))
    await sink.flush()
    await waitUntil(() => server.frames.length === 1, 'the frame')
    expect(server.connections).toBe(1)
  })

  it('while idle, reconnects to a receiver that dropped the connection, and is unhealthy while it is gone', async () => {
    const { server, sink } = await setup()
    await waitUntil(() => sink.healthy && server.connections === 1, 'the first connection')
    server.reset() // a receiver restarting: the connection drops, and it comes back at once
    await waitUntil(() => server.connections === 2, 'a new connection, without a write')
    expect(sink.healthy).toBe(true)
    await server.stop() // now it is gone
    await waitUntil(() => !sink.healthy, 'the sink to see it gone, without a write')
    await server.restart()
    await waitUntil(() => sink.healthy && server.connections === 3, 'the sink to be back')
  })

  it('close waits until a slow receiver has read everything confirmed, not a fixed time', async () => {
    const { server, sink } = await setup()
    server.pause()
    const { results, confirmFor } = recorder()
    const frames = Array.from({ length: 1000 }, (_, i) => frame(i, 800)) // ~0.9 MB: the kernel takes it all
    frames.forEach((f, i) => sink.write(f, confirmFor(i)))
    await sink.flush()
    expect(results).toHaveLength(1000) // confirmed, and so deleted from SQS, yet unread
    let closed = false
    const closing = sink.close().then(() => (closed = true))
    await new Promise((resolve) => setTimeout(resolve, 3_000)) // a receiver slower than any fixed grace
    expect(closed).toBe(false)
    server.resume()
    expect(await within(closing, 5_000)).toBe(true)
    expect(Buffer.concat(server.frames).equals(Buffer.concat(frames))).toBe(true)
  })

  it('close flushes and is idempotent; writes after close and pending writes at destroy fail ERR_SINK_CLOSED', async () => {
    const { server, sink } = await setup()
    const { results, confirmFor } = recorder()
    sink.write(frame(0), confirmFor(0))
    await Promise.all([sink.close(), sink.close()])
    expect(results).toEqual([{ i: 0, err: null }])
    expect(sink.write(frame(1), confirmFor(1))).toBe(false)
    expect(codeOf(results[1].err)).toBe('ERR_SINK_CLOSED')
    await waitUntil(() => server.frames.length === 1, 'the frame')

    await server.stop()
    const other = new SyslogSink({ kind: 'tcp', host: '127.0.0.1', port: server.port }, { logger: silentLogger(), retryMaxDelayMs: 100 })
    other.write(frame(2), confirmFor(2))
    other.write(frame(3), confirmFor(3))
    const closing = other.close() // cannot finish while the receiver is down...
    other.destroy() // ...until a forced shutdown fails what is pending
    await closing
    expect(results.slice(2).map((r) => [r.i, codeOf(r.err)])).toEqual([
      [2, 'ERR_SINK_CLOSED'],
      [3, 'ERR_SINK_CLOSED'],
    ])
  })
})

describe('SyslogSink over tls://', () => {
  const destination = tlsDestination((material) => SyslogServer.start(material))
  function tlsSink(host: string, options: { tlsCaFile?: string; tlsInsecure?: boolean; logger?: Logger } = {}) {
    const output = `tls://${host}:${destination.server.port}`
    return destination.track(createSink({ output, logger: silentLogger(), retryMaxDelayMs: 200, ...options }))
  }

  it('verifies the receiver against tlsCaFile, by name and by IP, and delivers the frames', async () => {
    const { certs, server } = destination
    for (const host of ['localhost', '127.0.0.1']) {
      const before = server.frames.length
      const sink = tlsSink(host, { tlsCaFile: certs.caFile })
      expect(sink.kind).toBe('tls')
      const { results, confirmFor } = recorder()
      for (let i = 0; i < 20; i++) sink.write(frame(i), confirmFor(i))
      await sink.close()
      expect(results.map((r) => [r.i, r.err])).toEqual(Array.from({ length: 20 }, (_, i) => [i, null]))
      await waitUntil(() => server.frames.length >= before + 20, 'frames')
      expect(Buffer.concat(server.frames.slice(before))).toEqual(Buffer.concat(Array.from({ length: 20 }, (_, i) => frame(i))))
    }
  })

  it('does not confirm to an untrusted certificate and stays unhealthy', async () => {
    const { server } = destination
    const { logger, lines } = captureLogger()
    const before = server.frames.length
    const sink = tlsSink('localhost', { logger })
    const { results, confirmFor } = recorder()
    sink.write(frame(1), confirmFor(1))
    await waitUntil(() => lines.length >= 2, 'failed handshakes')
    expect(lines[0]).toMatchObject({ sink: 'tls', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
    expect(sink.healthy).toBe(false)
    expect(results).toEqual([])
    expect(server.frames.length).toBe(before)
    sink.destroy()
    expect(codeOf(results[0].err)).toBe('ERR_SINK_CLOSED')
  })

  it('with tlsInsecure, sends to an untrusted certificate', async () => {
    const sink = tlsSink('localhost', { tlsInsecure: true })
    const { results, confirmFor } = recorder()
    sink.write(frame(1), confirmFor(1))
    await sink.close()
    expect(results).toEqual([{ i: 1, err: null }])
  })
})
