// The processor in this process, against a real SQS and S3 (fauxqs), a real parse pool and real sinks:
// what becomes of a message whose object fails while the sink refuses its records, or whose object kills
// its parse thread on every try; and how much output may wait for a sink that confirms nothing.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { MAX_UNCONFIRMED_BYTES, WORKER_FAILURE_RECEIVES } from '../../src/pipeline/processor.ts'
import { FileSink, HttpSink, StdoutSink } from '../../src/sinks/index.ts'
import type { Sink } from '../../src/sinks/sink.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { fixtureRecords } from '../helpers/fixtures.ts'
import { errors, limits, pipeline, putMessage } from '../helpers/pipeline.ts'
import { tmpFile } from '../helpers/seed.ts'
import { TestHttpServer } from '../helpers/servers.ts'
import { waitUntil } from '../helpers/wait.ts'

useCleanup()

const records = fixtureRecords().map((r) => r.record)

/** A gzipped document of `n` fixture records, cut short: the records before the cut are complete. */
function truncatedObject(n: number): Uint8Array {
  const gz = gzipSync(JSON.stringify({ Records: Array.from({ length: n }, (_, i) => records[i % records.length]) }))
  return gz.subarray(0, Math.floor(gz.length * 0.7))
}

const refusingSinks: [string, () => Promise<Sink>][] = [
  [
    'an HTTP destination refusing every record as too large (413)',
    async () => {
      const siem = await TestHttpServer.start()
      cleanup(() => siem.close())
      siem.answer = () => ({ status: 413 })
      return new HttpSink(new URL(siem.url), { logger: pino({ level: 'silent' }) })
    },
  ],
  [
    'stdout whose reader went away (EPIPE)',
    async () => {
      const reader = spawn('true', { stdio: ['pipe', 'ignore', 'ignore'] })
      await once(reader, 'exit')
      return new StdoutSink(reader.stdin!, { logger: pino({ level: 'silent' }) })
    },
  ],
  [
    'a closed file sink',
    async () => {
      const sink = new FileSink(tmpFile('ct-proc-'), { logger: pino({ level: 'silent' }) })
      await sink.close()
      return sink
    },
  ],
]

describe('Processor', () => {
  it.each(refusingSinks)('keeps the message of an object that fails for good when %s refuses the records before the failure', async (_name, makeSink) => {
    const emu = await emulator()
    const key = await putMessage(emu, 'Truncated', truncatedObject(200))
    const { metrics, lines, acker } = pipeline(emu, { sink: await makeSink() })
    await waitUntil(() => lines.some((l) => l.code === 'ERR_OBJECT_TRUNCATED' && l.key === key), 'the object to fail', 20_000)
    await acker.whenIdle()
    // The object's own failure is counted, and so is the sink's refusal, which decides: retried, not deleted.
    expect(await errors(metrics, 'object', 'truncated')).toBe(1)
    expect((await metrics.deleted.get()).values[0].value).toBe(0)
    expect(emu.remaining()).toBe(1)
    expect(emu.server.inspectQueue(emu.queueName)?.messages.inflight).toHaveLength(1) // handed back after the backoff
    const refusal = lines.find((l) => l.stage === 'sink' && l.key === key)
    expect(refusal).toMatchObject({ bucket: emu.bucket, level: 40 })
  }, 30_000)

  it(`gives up on an object that kills its parse thread on ${WORKER_FAILURE_RECEIVES} receives, and goes on with the others`, async () => {
    const emu = await emulator({ visibilityTimeout: 1 })
    // 300,000 distinct keys in one record: more heap than a thread limited to 24 MiB has, on every try.
    const wide = Object.fromEntries(Array.from({ length: 300_000 }, (_, i) => [`k${i}`, i]))
    const poison = await putMessage(emu, 'Poison', gzipSync(JSON.stringify({ Records: [records[0], { ...records[1], requestParameters: wide }] })))
    const good = await putMessage(emu, 'Good', gzipSync(JSON.stringify({ Records: records.slice(0, 20) })))
    const out = tmpFile('ct-proc-')
    const { metrics, lines } = pipeline(emu, {
      sink: new FileSink(out, { logger: pino({ level: 'silent' }) }),
      visibilityTimeout: 1,
      pool: { parse: { format: 'fortisiem', framing: 'lines', limits }, resourceLimits: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 8 } },
    })
    const received = async () => (await metrics.received.get()).values[0].value
    // Until the poison message is gone, or has come back more often than the bound allows.
    for (const deadline = Date.now() + 40_000; emu.remaining() > 0 && (await received()) <= WORKER_FAILURE_RECEIVES + 2; ) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the poison message to be settled')
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(emu.remaining()).toBe(0)
    // The good object once, the poison one on each receive until the last.
    expect(await received()).toBe(1 + WORKER_FAILURE_RECEIVES)
    expect(await errors(metrics, 'object', 'worker')).toBe(WORKER_FAILURE_RECEIVES - 1)
    expect(await errors(metrics, 'object', 'worker_repeated')).toBe(1)
    const verdict = lines.find((l) => l.code === 'ERR_WORKER_REPEATED')
    expect(verdict).toMatchObject({ stage: 'object', bucket: emu.bucket, key: poison, level: 50 })
    expect(String(verdict?.reason)).toMatch(/memory/)
    expect(lines.some((l) => l.key === good && l.code)).toBe(false)
    expect(readFileSync(out, 'utf8').split('\n').length - 1).toBe(20)
  }, 60_000)

  it.each([
    ['8 output chunks each (14 MB objects: the whole path held back by credits)', 12, 6000],
    ['2 output chunks each (finished without a credit: the byte budget)', 24, 1500],
  ])('holds what waits for a sink that confirms nothing (HTTP 503) to a bound in bytes, with objects of %s', async (_name, objects, per) => {
    const emu = await emulator()
    for (let i = 0; i < objects; i++) {
      const doc = Array.from({ length: per }, (_, j) => ({ ...records[j % records.length], seq: `${i}-${j}` }))
      await putMessage(emu, `Big${i}`, gzipSync(JSON.stringify({ Records: doc }), { level: 1 }))
    }
    const siem = await TestHttpServer.start()
    cleanup(() => siem.close())
    siem.answer = (req) => {
      req.body = Buffer.alloc(0) // not kept: only the refusals matter here
      return { status: 503 }
    }
    const slots = 4
    const { processor } = pipeline(emu, { sink: new HttpSink(new URL(siem.url), { logger: pino({ level: 'silent' }) }), maxObjectsInFlight: slots })
    await waitUntil(() => siem.requests.length > 0, 'output to reach the sink', 20_000)
    // Long enough for every object to be parsed if nothing held them back (all of them: 90 MB of output).
    let most = 0
    for (const end = Date.now() + 5000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) most = Math.max(most, processor.unconfirmedBytes)
    // Beyond the budget, only the chunks of the objects being parsed when it was reached: at most two each,
    // of about 1 MiB (1.25 MiB at most), never whole objects.
    const bound = MAX_UNCONFIRMED_BYTES + slots * 2 * 1.25 * (1 << 20)
    console.log(`unconfirmed: at most ${(most / 2 ** 20).toFixed(1)} MiB, ${processor.inFlight} objects in flight; bound ${(bound / 2 ** 20).toFixed(1)} MiB`)
    expect(most).toBeGreaterThan(8 << 20) // the sink really held output back
    expect(most).toBeLessThanOrEqual(bound)
  }, 60_000)
})
