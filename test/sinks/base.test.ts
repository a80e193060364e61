// The lifecycle SinkBase holds for every sink: its hooks in order on a bare subclass, then the same contract
// on each of the four sinks built by the factory, each with a destination that takes nothing.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/log.ts'
import { defaultHighWaterMark, SinkBase } from '../../src/sinks/base.ts'
import { createSink } from '../../src/sinks/index.ts'
import type { Confirm, Sink } from '../../src/sinks/sink.ts'
import { StdoutSink } from '../../src/sinks/stdout.ts'
import { codeOf, recorder } from '../helpers/sink-harness.ts'

const tick = () => new Promise((resolve) => setImmediate(resolve))

/** Keeps every write until the test settles it, and logs each hook the base calls. */
class ProbeSink extends SinkBase {
  readonly kind = 'probe'
  readonly framing = 'lines' as const
  readonly healthy = true
  readonly calls: string[] = []
  protected override accept(chunk: Uint8Array, confirm: Confirm): boolean {
    this.calls.push('accept')
    return this.ledger.add({ chunk, confirm })
  }
  protected override push(): void {
    this.calls.push('push')
  }
  protected override release(): void {
    this.calls.push('release')
  }
  protected override stop(): void {
    this.calls.push(`stop (${this.ledger.entries.length} pending)`)
  }
  /** What the destination would do: confirms the oldest `count` writes. */
  deliver(count: number): void {
    this.ledger.settle(count, null)
  }
}

describe('SinkBase', () => {
  it('pushes only when a flush waits, and releases once, after close has flushed everything', async () => {
    const sink = new ProbeSink(100)
    const { results, confirmFor } = recorder()
    sink.write(new Uint8Array(1), confirmFor(0))
    void sink.flush()
    expect(sink.calls).toEqual(['accept', 'push'])
    const first = sink.close()
    const second = sink.close()
    expect(second).toBe(first)
    await tick()
    expect(sink.calls).toEqual(['accept', 'push', 'push']) // the close's flush: nothing released yet
    sink.deliver(1)
    await first
    expect(sink.calls).toEqual(['accept', 'push', 'push', 'release'])
    expect(results).toEqual([{ i: 0, err: null }])
  })

  it('flushes an empty sink without pushing', async () => {
    const sink = new ProbeSink(100)
    await sink.flush()
    await sink.close()
    expect(sink.calls).toEqual(['release'])
  })

  it('stops before failing what is pending, once however often destroy is called', () => {
    const sink = new ProbeSink(100)
    const { results, confirmFor } = recorder()
    sink.write(new Uint8Array(1), confirmFor(0))
    sink.write(new Uint8Array(1), confirmFor(1))
    sink.destroy()
    sink.destroy()
    expect(sink.calls).toEqual(['accept', 'accept', 'stop (2 pending)'])
    expect(results.map((r) => [r.i, codeOf(r.err), r.err?.message])).toEqual([
      [0, 'ERR_SINK_CLOSED', 'probe sink destroyed'],
      [1, 'ERR_SINK_CLOSED', 'probe sink destroyed'],
    ])
  })

  it('emits drain from the ledger, with a default high-water mark of 8 MiB', () => {
    const sink = new ProbeSink(undefined)
    let drains = 0
    sink.on('drain', () => drains++)
    expect(sink.write(new Uint8Array(defaultHighWaterMark - 1), () => {})).toBe(true)
    expect(sink.write(new Uint8Array(1), () => {})).toBe(false)
    sink.deliver(1)
    expect(drains).toBe(1)
  })
})

describe('every sink', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sink-base-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  /** A sink whose destination takes nothing, so that writes stay pending: nothing listens on port 9. */
  const outputs: Array<[string, () => Sink]> = [
    ['stdout', () => new StdoutSink(new Writable({ write: () => {} }), { logger: silentLogger() })],
    ['file', () => createSink({ output: `file:${join(dir, 'missing', 'x.ndjson')}`, logger: silentLogger() })],
    ['tcp', () => createSink({ output: 'tcp://127.0.0.1:9', logger: silentLogger() })],
    ['tls', () => createSink({ output: 'tls://127.0.0.1:9', logger: silentLogger() })],
    ['http', () => createSink({ output: 'http://127.0.0.1:9/in', logger: silentLogger() })],
    ['https', () => createSink({ output: 'https://127.0.0.1:9/in', logger: silentLogger() })],
  ]

  it.each(outputs)('%s: backpressure at 8 MiB; destroy fails what is pending once; closed writes are refused at once', async (kind, make) => {
    const sink = make()
    expect(sink.kind).toBe(kind)
    const { results, confirmFor } = recorder()
    expect(sink.write(new Uint8Array(defaultHighWaterMark - 1), confirmFor(0))).toBe(true)
    expect(sink.write(new Uint8Array(1), confirmFor(1))).toBe(false)
    const flushed = sink.flush()
    await tick()
    expect(results).toEqual([])
    sink.destroy()
    sink.destroy()
    await flushed
    expect(results.map((r) => [r.i, codeOf(r.err), r.err?.message])).toEqual([
      [0, 'ERR_SINK_CLOSED', `${kind} sink destroyed`],
      [1, 'ERR_SINK_CLOSED', `${kind} sink destroyed`],
    ])
    expect(sink.write(new Uint8Array(1), confirmFor(2))).toBe(false)
    expect(results[2]).toEqual({ i: 2, err: expect.objectContaining({ code: 'ERR_SINK_CLOSED', message: `${kind} sink is closed` }) })
    const closing = sink.close()
    expect(sink.close()).toBe(closing)
    await closing
    expect(results).toHaveLength(3)
  })
})
