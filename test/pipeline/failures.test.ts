// Failure handling of the pipeline in this process (test/helpers/pipeline.ts), against a real fauxqs, a
// real parse pool and real sinks, faults injected by a proxy in front of fauxqs where a server cannot
// produce them: transient S3 and SQS faults, permanent failures with and without a redrive policy, the
// decompressed-size limit, a failing sink, a record the SIEM refuses as too large, and the visibility
// heartbeat of a slow object. What needs a process of its own (signals, exit codes, kill -9) stays in
// test/integration.

import { gzipSync } from 'node:zlib'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { FileSink, HttpSink } from '../../src/sinks/index.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { FaultProxy, everyNth } from '../helpers/fault-proxy.ts'
import { cloudTrailKey, type Emulator } from '../helpers/fauxqs.ts'
import { fixtureRecords } from '../helpers/fixtures.ts'
import { errors, limits, pipeline, putMessage, type PipelineOptions } from '../helpers/pipeline.ts'
import { acceptedSeqs, seedObjects, seqsInFile, tmpFile } from '../helpers/seed.ts'
import { TestHttpServer } from '../helpers/servers.ts'
import { waitUntil } from '../helpers/wait.ts'

const records = fixtureRecords().map((r) => r.record)
useCleanup()

const quiet = { logger: pino({ level: 'silent' }) }

async function proxy(emu: Emulator): Promise<FaultProxy> {
  const p = await FaultProxy.start(emu.endpoint)
  cleanup(() => p.stop())
  return p
}

/** n objects of 40 records each, each announced by its own CloudTrail notification; their seqs. */
const seed = (emu: Emulator, n: number) => seedObjects(emu, n, { per: 40, prefix: 'Obj' })

/** A pipeline writing to a new file; the file's path beside it. */
function toFile(emu: Emulator, options: Omit<PipelineOptions, 'sink'> = {}) {
  const out = tmpFile('ct-fail-')
  return { out, ...pipeline(emu, { sink: new FileSink(out, quiet), ...options }) }
}

const drained = (emu: Emulator, timeoutMs = 30_000) => waitUntil(() => emu.remaining() === 0, 'the queue to be empty', timeoutMs)

describe('failure handling', () => {
  it('retries transient S3 faults (5xx, throttling, resets, cut bodies) and delivers everything', async () => {
    const emu = await emulator()
    const expected = await seed(emu, 12)
    const p = await proxy(emu)
    const faults = [
      { kind: 'error', status: 500, code: 'InternalError' },
      { kind: 'error', status: 503, code: 'SlowDown' },
      { kind: 'reset' },
      { kind: 'cut', after: 100 },
    ] as const
    let i = 0
    p.rule = (r) => (r.service === 's3' && r.action === 'GET' && i++ % 2 === 0 ? faults[(i >> 1) % faults.length] : { kind: 'pass' })
    const { out } = toFile(emu, { endpoint: p.url })
    await drained(emu)
    expect(new Set(seqsInFile(out))).toEqual(new Set(expected))
    expect(p.faults('GET')).toBeGreaterThanOrEqual(6)
  })

  it('leaves a message whose object cannot be fetched in the queue, and delivers it once S3 is back', async () => {
    const emu = await emulator({ visibilityTimeout: 2 })
    const expected = await seed(emu, 2)
    const p = await proxy(emu)
    p.rule = (r) => (r.service === 's3' ? { kind: 'error', status: 500, code: 'InternalError' } : { kind: 'pass' })
    const { out, lines, metrics } = toFile(emu, { endpoint: p.url, visibilityTimeout: 2 })
    const retried = () => lines.filter((l) => l.msg === 'object failed; its message will be retried')
    await waitUntil(() => retried().length > 0, 'an object to fail for now', 30_000)
    expect(seqsInFile(out)).toEqual([])
    expect(emu.remaining()).toBe(2) // not deleted
    expect((await metrics.root.deleted.get()).values[0].value).toBe(0)
    // Asked again before giving up on this receive: more than one GET per object.
    expect(p.count('GET')).toBeGreaterThan(2)
    expect(retried()[0]).toMatchObject({ code: 'ERR_S3_TRANSIENT', stage: 's3', bucket: emu.bucket })
    expect(String(retried()[0].key)).toMatch(/CloudTrail/)
    expect(await errors(metrics, 's3', 's3_transient')).toBeGreaterThan(0)

    p.rule = () => ({ kind: 'pass' })
    await drained(emu) // the message comes back after its backoff and is delivered
    expect(new Set(seqsInFile(out))).toEqual(new Set(expected))
  })

  it('rides out SQS faults on receive, delete and visibility calls', async () => {
    const emu = await emulator()
    const expected = await seed(emu, 15)
    const p = await proxy(emu)
    p.rule = everyNth(3, { kind: 'error', status: 500, code: 'InternalError' }, (r) => r.service === 'sqs' && r.action !== 'GetQueueAttributes')
    const { out } = toFile(emu, { endpoint: p.url })
    await drained(emu)
    expect(new Set(seqsInFile(out))).toEqual(new Set(expected))
    expect(p.faults('ReceiveMessage') + p.faults('DeleteMessageBatch')).toBeGreaterThan(0)
  })

  it.each([false, true])('a permanently failing message with redrive=%s: deleted without a policy; with one, tried on each of its 3 receives and left for the dead-letter queue', async (redrive) => {
    const emu = await emulator({ redrive, visibilityTimeout: 2 })
    const key = cloudTrailKey('111122223333', 'us-east-1', '20261126T1400Z', 'PlainJsonPlainJs')
    await emu.putObject(key, JSON.stringify({ Records: [{ eventName: 'x' }] }))
    await emu.publish(JSON.stringify({ s3Bucket: emu.bucket, s3ObjectKey: [key] }))
    const { lines, metrics } = toFile(emu, { redrive, visibilityTimeout: 2 })
    const failures = () => lines.filter((l) => l.code === 'ERR_OBJECT_NOT_GZIP')
    await drained(emu)
    expect(failures()[0]).toMatchObject({ stage: 'object', bucket: emu.bucket, key, level: 50 })
    const dlq = () => emu.server.inspectQueue(`${emu.queueName}-dlq`)?.messages.ready.length ?? 0
    if (!redrive) {
      expect(failures()).toHaveLength(1)
      // Counted once DeleteMessageBatch has answered, a moment after fauxqs dropped the message.
      await waitUntil(() => metrics.totals.deleted === 1, 'the delete to be counted')
      return
    }
    // SQS moved it on the receive past maxReceiveCount: this collector never deleted it.
    expect(failures()).toHaveLength(3)
    expect(dlq()).toBe(1)
    expect((await metrics.root.deleted.get()).values[0].value).toBe(0)
    expect(await errors(metrics, 'object', 'not_gzip')).toBe(3)
  })

  it('treats an object beyond the decompressed-size limit as a permanent error, and carries on', async () => {
    const emu = await emulator()
    const expected = await seed(emu, 2)
    const big = Array.from({ length: 4000 }, (_, i) => ({ ...records[i % records.length], seq: `big-${i}` }))
    const key = await putMessage(emu, 'BigBigBigBigBigB', gzipSync(JSON.stringify({ Records: big })))
    // --max-object-size 1MiB
    const { out, lines, metrics } = toFile(emu, { pool: { parse: { format: 'json', framing: 'lines', limits: { ...limits, maxDecompressedBytes: 1 << 20 } } } })
    await drained(emu)
    expect(lines.find((l) => l.code === 'ERR_OBJECT_TOO_LARGE')).toMatchObject({ stage: 'object', key, level: 50 })
    expect(await errors(metrics, 'object', 'too_large')).toBe(1)
    const written = new Set(seqsInFile(out))
    for (const s of expected) expect(written.has(s)).toBe(true)
  })

  it('does not delete while the sink fails, stops receiving, and resumes when it recovers', async () => {
    const emu = await emulator()
    const expected = await seed(emu, 40)
    const siem = await TestHttpServer.start()
    cleanup(() => siem.close())
    siem.answer = () => ({ status: 503 })
    pipeline(emu, { sink: new HttpSink(new URL(siem.url), quiet), maxObjectsInFlight: 2, ringSize: 4 })
    await waitUntil(() => siem.requests.length >= 3, 'the sink to be retried', 20_000)
    // Nothing was confirmed, so nothing was deleted; and with the sink stuck the receivers stopped early:
    // at most the ring, the objects in flight and those waiting for confirmation (5 per slot), and one
    // receive's worth of messages were taken off the queue.
    expect(emu.remaining()).toBe(40)
    const q = emu.server.inspectQueue(emu.queueName)
    expect(q?.messages.inflight.length).toBeLessThanOrEqual(4 + 2 * 5 + 10)
    expect(q?.messages.ready.length).toBeGreaterThan(0)
    siem.answer = () => ({ status: 200 })
    await drained(emu, 60_000)
    expect(new Set(acceptedSeqs(siem))).toEqual(new Set(expected))
  }, 90_000)

  it('keeps the message of a record the SIEM refuses as too large (413) in the queue, and delivers the rest', async () => {
    const emu = await emulator()
    const expected = await seed(emu, 6)
    const key = cloudTrailKey('111122223333', 'us-east-1', '20261126T1600Z', 'HugeRecordHugeRe')
    await emu.putLog(key, [{ ...records[0], seq: 'huge', requestParameters: { policy: 'x'.repeat(200_000) } }])
    await emu.publish(JSON.stringify({ s3Bucket: emu.bucket, s3ObjectKey: [key] }))
    const siem = await TestHttpServer.start()
    cleanup(() => siem.close())
    // The SIEM takes bodies up to 150 kB; the collector batches 100 kB, so only the huge record's body is refused.
    siem.answer = (req) => (req.body.length > 150_000 ? { status: 413 } : { status: 200 })
    const { lines, metrics, stop } = pipeline(emu, { sink: new HttpSink(new URL(siem.url), { ...quiet, httpBatchBytes: 100_000 }) })
    const delivered = () => new Set(acceptedSeqs(siem))
    await waitUntil(() => delivered().size === 6 * 40 && metrics.totals.deleted === 6, 'the other objects to be delivered and deleted', 30_000)
    await waitUntil(() => lines.some((l) => l.code === 'ERR_SINK_REJECTED' && l.key === key), "the huge record's refusal", 10_000)
    await stop()
    expect(delivered()).toEqual(new Set(expected))
    // The huge record's message stays: it comes back (or goes to the dead-letter queue), never deleted unwritten.
    expect(emu.remaining()).toBe(1)
    expect(lines.find((l) => l.code === 'ERR_SINK_REJECTED' && l.key === key)).toMatchObject({ stage: 'sink', bucket: emu.bucket, level: 40 })
    expect(await errors(metrics, 'sink', 'sink_rejected')).toBeGreaterThanOrEqual(1)
    expect(metrics.totals.deleted).toBe(6)
  })

  it('extends the visibility of a message whose object is slow, so nobody else receives it', async () => {
    const emu = await emulator({ visibilityTimeout: 2 })
    const expected = await seed(emu, 1)
    const p = await proxy(emu)
    p.rule = (r) => (r.service === 's3' ? { kind: 'delay', ms: 6000 } : { kind: 'pass' })
    const { out } = toFile(emu, { endpoint: p.url, visibilityTimeout: 2 })
    await waitUntil(() => p.count('GET') >= 1, 'the collector to start fetching', 15_000)
    // Another consumer of the same queue polls while the object is being fetched (3x the visibility timeout).
    let stolen = 0
    const until = Date.now() + 5000
    while (Date.now() < until) {
      const got = await emu.sqs.send(new ReceiveMessageCommand({ QueueUrl: emu.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 1 }))
      stolen += got.Messages?.length ?? 0
      await new Promise((r) => setTimeout(r, 250))
    }
    await drained(emu)
    expect(stolen).toBe(0)
    expect(p.count('ChangeMessageVisibilityBatch')).toBeGreaterThanOrEqual(2)
    expect(new Set(seqsInFile(out))).toEqual(new Set(expected))
  })
})
