import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/log.ts'
import { StdoutSink } from '../../src/sinks/stdout.ts'
import { captureLogger, recorder } from '../helpers/sink-harness.ts'
import { waitUntil } from '../helpers/wait.ts'

/** A stdout stand-in that holds every write callback until the test releases it. */
class HeldWritable extends Writable {
  readonly received: Buffer[] = []
  readonly #held: Array<() => void> = []
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.received.push(chunk)
    this.#held.push(callback)
  }
  /** Completes held writes; the stream then hands over the next buffered one, which is released too. */
  releaseAll(): void {
    while (this.#held.length > 0) this.#held.shift()!()
  }
}

const line = (i: number) => Buffer.from(`{"eventID":"${i}","eventName":"GetObject"}\n`)

describe('StdoutSink', () => {
  it('confirms each write once, in order, only after the stream calls back', async () => {
    const stream = new HeldWritable()
    const sink = new StdoutSink(stream, { logger: silentLogger() })
    const { results, confirmFor } = recorder()
    for (let i = 0; i < 5; i++) sink.write(line(i), confirmFor(i))
    await new Promise((resolve) => setImmediate(resolve))
    expect(results).toEqual([])
    stream.releaseAll()
    await sink.flush()
    expect(results).toEqual([0, 1, 2, 3, 4].map((i) => ({ i, err: null })))
    expect(Buffer.concat(stream.received)).toEqual(Buffer.concat([0, 1, 2, 3, 4].map(line)))
    expect(sink.healthy).toBe(true)
  })

  it('returns false at the high-water mark and emits drain once the bytes are confirmed', async () => {
    const stream = new HeldWritable()
    const chunk = line(1)
    const sink = new StdoutSink(stream, { logger: silentLogger(), highWaterMark: chunk.length * 2 + 1 })
    let drains = 0
    sink.on('drain', () => drains++)
    expect(sink.write(chunk, () => {})).toBe(true)
    expect(sink.write(chunk, () => {})).toBe(true)
    expect(sink.write(chunk, () => {})).toBe(false)
    expect(drains).toBe(0)
    stream.releaseAll()
    await sink.flush()
    expect(drains).toBe(1)
  })

  it('writes through a real pipe to a child process', async () => {
    const child = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] })
    const out: Buffer[] = []
    child.stdout.on('data', (data: Buffer) => out.push(data))
    const sink = new StdoutSink(child.stdin, { logger: silentLogger() })
    const { results, confirmFor } = recorder()
    const lines = Array.from({ length: 200 }, (_, i) => line(i))
    lines.forEach((l, i) => sink.write(l, confirmFor(i)))
    await sink.close()
    expect(results.map((r) => r.i)).toEqual(lines.map((_, i) => i))
    expect(results.every((r) => r.err === null)).toBe(true)
    child.stdin.end()
    await once(child, 'close')
    expect(Buffer.concat(out)).toEqual(Buffer.concat(lines))
  })

  it('fails every write with ERR_SINK once the reader is gone, logs once, and does not crash', async () => {
    // A real broken pipe: the reading process has exited (Node reports EPIPE or, once it has torn the
    // pipe down, ERR_STREAM_DESTROYED).
    const child = spawn('true', [], { stdio: ['pipe', 'ignore', 'ignore'] })
    await once(child, 'close')
    const { logger, lines } = captureLogger()
    const sink = new StdoutSink(child.stdin, { logger })
    const { results, confirmFor } = recorder()
    sink.write(line(0), confirmFor(0))
    sink.write(line(1), confirmFor(1))
    await waitUntil(() => results.length === 2, 'both confirms')
    expect(sink.write(line(2), confirmFor(2))).toBe(true) // nothing is buffered
    expect(results.map((r) => r.i)).toEqual([0, 1, 2])
    for (const { err } of results) expect(err).toMatchObject({ code: 'ERR_SINK' })
    expect(sink.healthy).toBe(false)
    const errors = lines.filter((l) => l.level === 50)
    expect(errors).toHaveLength(1)
    expect(['EPIPE', 'ERR_STREAM_DESTROYED']).toContain(errors[0].code)
    expect(JSON.stringify(lines)).not.toContain('GetObject')
  })

  it('on EPIPE confirms what was written before, fails that write and all later ones', async () => {
    // Fault injection: the second write fails with EPIPE, as process.stdout does when the reader exits.
    let writes = 0
    const received: Buffer[] = []
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (++writes === 2) return setImmediate(() => callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })))
        received.push(chunk)
        setImmediate(callback)
      },
    })
    const { logger, lines } = captureLogger()
    const sink = new StdoutSink(stream, { logger })
    const { results, confirmFor } = recorder()
    for (let i = 0; i < 4; i++) sink.write(line(i), confirmFor(i))
    await sink.flush()
    sink.write(line(4), confirmFor(4))
    expect(results.map((r) => [r.i, (r.err as { code?: string } | null)?.code ?? null])).toEqual([
      [0, null],
      [1, 'ERR_SINK'],
      [2, 'ERR_SINK'],
      [3, 'ERR_SINK'],
      [4, 'ERR_SINK'],
    ])
    expect(Buffer.concat(received)).toEqual(line(0))
    const errors = lines.filter((l) => l.level === 50)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ sink: 'stdout', code: 'EPIPE' })
  })

  it('close is idempotent, waits for pending writes, and later writes fail with ERR_SINK_CLOSED', async () => {
    const stream = new HeldWritable()
    const sink = new StdoutSink(stream, { logger: silentLogger() })
    const { results, confirmFor } = recorder()
    sink.write(line(0), confirmFor(0))
    let closed = false
    const first = sink.close().then(() => (closed = true))
    const second = sink.close()
    await new Promise((resolve) => setImmediate(resolve))
    expect(closed).toBe(false)
    stream.releaseAll()
    await Promise.all([first, second])
    expect(results).toEqual([{ i: 0, err: null }])
    expect(sink.write(line(1), confirmFor(1))).toBe(false)
    expect(results[1]).toMatchObject({ i: 1, err: { code: 'ERR_SINK_CLOSED' } })
    expect(stream.writableEnded).toBe(false) // stdout is never ended by the sink
  })

  it('destroy fails pending confirms with ERR_SINK_CLOSED at once, and only once', async () => {
    const stream = new HeldWritable()
    const sink = new StdoutSink(stream, { logger: silentLogger() })
    const { results, confirmFor } = recorder()
    sink.write(line(0), confirmFor(0))
    sink.write(line(1), confirmFor(1))
    sink.destroy()
    expect(results.map((r) => [r.i, (r.err as { code?: string } | null)?.code])).toEqual([
      [0, 'ERR_SINK_CLOSED'],
      [1, 'ERR_SINK_CLOSED'],
    ])
    stream.releaseAll() // late callbacks from the stream must not confirm again
    await sink.flush()
    expect(results).toHaveLength(2)
  })
})
