// The processor in this process, against a real SQS and S3 (fauxqs), a real parse pool and real sinks:
// what becomes of a message whose object fails while the sink refuses its records, or whose object kills
// its parse thread on every try; how much output may wait for a sink that confirms nothing; what becomes
// of each kind of message (test events, subscription confirmations, foreign buckets, digests, duplicates);
// how many objects are fetched at once; and a stop, graceful or hard (the signals themselves: test/integration).

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { WORKER_FAILURE_RECEIVES } from '../../src/pipeline/processor.ts'
import { MAX_UNCONFIRMED_BYTES } from '../../src/pipeline/slots.ts'
import { FileSink, HttpSink, StdoutSink } from '../../src/sinks/index.ts'
import type { Sink } from '../../src/sinks/sink.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { FaultProxy } from '../helpers/fault-proxy.ts'
import { cloudTrailKey } from '../helpers/fauxqs.ts'
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
    expect((await metrics.root.deleted.get()).values[0].value).toBe(0)
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
    const received = async () => (await metrics.root.received.get()).values[0].value
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

describe('Processor: what becomes of each kind of message', () => {
  const logKey = cloudTrailKey('111122223333', 'us-east-1', '20261126T1300Z', 'KindsKindsKinds0')
  const digestKey = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/26/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20261126T1300Z.json.gz'
  const cloudTrail = (bucket: string, keys: string[]) => JSON.stringify({ s3Bucket: bucket, s3ObjectKey: keys })

  // [what, the raw SQS body (given the bucket), records written, the errors counted, objects skipped]
  it.each<[string, (bucket: string) => string, number, [string, string][], number]>([
    ['an s3:TestEvent is deleted, counted as a test event', () => JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-11-26T13:00:00Z', Bucket: 'b' }), 0, [], 0],
    [
      "an SNS SubscriptionConfirmation is deleted and counted (its owner must confirm it)",
      () => JSON.stringify({ Type: 'SubscriptionConfirmation', TopicArn: 'arn:aws:sns:us-east-1:111122223333:cloudtrail', Token: 't', SubscribeURL: 'https://sns.example/confirm' }),
      0,
      [['notification', 'subscription_confirmation']],
      0,
    ],
    ['a body that is not JSON is deleted as permanent, and counted', () => 'not json at all', 0, [['notification', 'notification_not_json']], 0],
    ['an object in a bucket not configured is never fetched: deleted, counted and skipped', () => cloudTrail('someone-elses-bucket', [logKey]), 0, [['notification', 'bucket_not_allowed']], 1],
    ['a digest file is skipped and the message deleted, without an error', (bucket) => cloudTrail(bucket, [digestKey]), 0, [], 1],
    ['the same key twice is fetched once, and counted', (bucket) => cloudTrail(bucket, [logKey, logKey]), 20, [['notification', 'duplicate_key']], 0],
  ])('%s', async (name, body, written, counted, skipped) => {
    const emu = await emulator()
    await emu.putLog(logKey, records.slice(0, 20))
    await emu.send(body(emu.bucket))
    const out = tmpFile('ct-proc-')
    const { metrics } = pipeline(emu, { sink: new FileSink(out, { logger: pino({ level: 'silent' }) }) })
    await waitUntil(() => metrics.totals.deleted === 1, 'the message to be deleted', 15_000)
    expect(emu.remaining()).toBe(0)
    expect(existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 1 : 0).toBe(written)
    const { values } = await metrics.root.errors.get()
    const nonZero = values.filter((v) => v.value > 0).map((v) => [String(v.labels.stage), String(v.labels.reason)])
    expect(nonZero).toEqual(counted)
    expect((await metrics.root.testEvents.get()).values[0].value).toBe(name.includes('TestEvent') ? 1 : 0)
    const objects = Object.fromEntries((await metrics.root.objects.get()).values.map((v) => [v.labels.result, v.value]))
    expect(objects).toEqual({ processed: written > 0 ? 1 : 0, skipped, failed: 0 })
    if (written === 0) expect((await metrics.root.s3Bytes.get()).values[0]?.value ?? 0).toBe(0) // nothing fetched
  })

  it('writes the allowed object of a message that also names a foreign bucket, refuses the other, and deletes the message', async () => {
    const emu = await emulator()
    await emu.putLog(logKey, records.slice(0, 20))
    // An S3 event notification names a bucket per object.
    const s3Record = (bucket: string) => ({ eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key: logKey } } })
    await emu.send(JSON.stringify({ Records: [s3Record(emu.bucket), s3Record('someone-elses-bucket')] }))
    const out = tmpFile('ct-proc-')
    const { metrics, lines } = pipeline(emu, { sink: new FileSink(out, { logger: pino({ level: 'silent' }) }) })
    await waitUntil(() => metrics.totals.deleted === 1, 'the message to be deleted', 15_000)
    expect(readFileSync(out, 'utf8').split('\n').length - 1).toBe(20)
    expect(await errors(metrics, 'notification', 'bucket_not_allowed')).toBe(1)
    expect(lines.find((l) => l.code === 'ERR_BUCKET_NOT_ALLOWED')).toMatchObject({ bucket: 'someone-elses-bucket', key: logKey, level: 50 })
  })
})

describe('Processor: admission', () => {
  it('fetches at most max_objects_in_flight objects at once, and takes the next as one finishes', async () => {
    const emu = await emulator()
    for (let i = 0; i < 8; i++) await putMessage(emu, `Slot${i}`, gzipSync(JSON.stringify({ Records: records.slice(0, 5) })))
    const proxy = await FaultProxy.start(emu.endpoint)
    cleanup(() => proxy.stop())
    proxy.rule = (r) => (r.service === 's3' ? { kind: 'delay', ms: 1500 } : { kind: 'pass' })
    const out = tmpFile('ct-proc-')
    const { metrics, processor } = pipeline(emu, { sink: new FileSink(out, { logger: pino({ level: 'silent' }) }), endpoint: proxy.url, maxObjectsInFlight: 3 })
    await waitUntil(() => proxy.count('GET') >= 3, 'three objects to be fetched', 15_000)
    await new Promise((r) => setTimeout(r, 700)) // well within the first GETs' delay
    expect(proxy.count('GET')).toBe(3)
    expect(processor.inFlight).toBe(3)
    await waitUntil(() => metrics.totals.deleted === 8, 'every message to be deleted', 30_000)
    expect(proxy.count('GET')).toBe(8)
    expect(readFileSync(out, 'utf8').split('\n').length - 1).toBe(40)
  })
})

describe('Processor: stopping', () => {
  /** 8 messages, S3 slow: two objects being fetched, a third waiting for a slot, the ring (4) full behind them. */
  async function busy() {
    const emu = await emulator({ visibilityTimeout: 30 })
    for (let i = 0; i < 8; i++) await putMessage(emu, `Stop${i}`, gzipSync(JSON.stringify({ Records: records.slice(0, 5) })))
    const proxy = await FaultProxy.start(emu.endpoint)
    cleanup(() => proxy.stop())
    proxy.rule = (r) => (r.service === 's3' ? { kind: 'delay', ms: 2500 } : { kind: 'pass' })
    const out = tmpFile('ct-proc-')
    const p = pipeline(emu, { sink: new FileSink(out, { logger: pino({ level: 'silent' }) }), endpoint: proxy.url, maxObjectsInFlight: 2, ringSize: 4 })
    await waitUntil(() => proxy.count('GET') === 2 && p.ring.size === 4, 'two objects in flight and a full ring', 15_000)
    const queue = () => emu.server.inspectQueue(emu.queueName)!.messages
    return { emu, proxy, out, queue, ...p }
  }

  it('on stop hands the messages in the ring back at once and finishes the objects started', async () => {
    const { emu, proxy, out, queue, stop, acker, metrics } = await busy()
    await stop()
    await acker.whenIdle()
    // The two being fetched and the one that was waiting for a slot finished and were deleted; the
    // ring's four are visible again at once (no backoff, no visibility timeout), the eighth never left.
    expect(metrics.totals.deleted).toBe(3)
    expect(readFileSync(out, 'utf8').split('\n').length - 1).toBe(15)
    expect(proxy.count('GET')).toBe(3)
    expect(queue().inflight).toHaveLength(0)
    expect(emu.remaining()).toBe(5)
  })

  it('on a hard stop gives up on the objects in flight: their messages go back at once, as shutdown, not as failures', async () => {
    const { emu, proxy, queue, stop, acker, metrics, lines, processor } = await busy()
    const stopped = Date.now()
    const stopping = stop()
    processor.abortInFlight()
    await stopping
    await acker.whenIdle()
    expect(Date.now() - stopped).toBeLessThan(2000) // cut short, not waited for
    expect(proxy.count('GET')).toBe(2) // the one waiting for a slot never started
    expect(lines.filter((l) => l.code === 'ERR_SHUTDOWN')).toHaveLength(2)
    expect(await errors(metrics, 'object', 'shutdown')).toBe(2)
    expect(await errors(metrics, 's3', 's3_transient')).toBe(0)
    expect(metrics.totals.deleted).toBe(0)
    expect(queue().inflight).toHaveLength(0)
    expect(emu.remaining()).toBe(8)
  })
})

describe('Processor: drop, keep and redact', () => {
  it('drops and redacts as its source says, counts both by rule, deletes the message, and measures the lag of what it wrote only', async () => {
    const emu = await emulator()
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    const recs = Array.from({ length: 40 }, (_, i) => ({ ...records[i % records.length], eventTime: now, eventName: i % 4 === 0 ? 'PutObject' : `List${i}`, seq: i }))
    await putMessage(emu, 'Rules', gzipSync(JSON.stringify({ Records: recs })))
    const out = tmpFile('ct-proc-')
    const rules = { drop: ['eventName=List*'], keep: [], redact: ['userIdentity'] }
    const { metrics } = pipeline(emu, { sink: new FileSink(out, { logger: pino({ level: 'silent' }) }), rules })
    await waitUntil(() => metrics.totals.deleted === 1, 'the message to be deleted', 15_000)
    const lines = readFileSync(out, 'utf8').split('\n').slice(0, -1)
    expect(lines).toHaveLength(10)
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ eventName: 'PutObject', userIdentity: '[REDACTED]' })
    const value = async (counter: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> }, rule: string) =>
      (await counter.get()).values.find((v) => v.labels.rule === rule && v.labels.source === metrics.labels.source)?.value
    expect(await value(metrics.root.recordsDropped, 'eventName=List*')).toBe(30)
    expect(await value(metrics.root.recordsRedacted, 'userIdentity')).toBe(10)
    expect(metrics.totals.events).toBe(10)
    const lag = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith('cloudtrail_event_lag_seconds_count') && l.includes(metrics.labels.source))
    expect(lag?.endsWith(' 10')).toBe(true)
    expect(emu.remaining()).toBe(0)
  })

  it('deletes the message of an object whose records are all dropped', async () => {
    const emu = await emulator()
    await putMessage(emu, 'AllDropped', gzipSync(JSON.stringify({ Records: records.slice(0, 20) })))
    const { metrics } = pipeline(emu, { sink: new FileSink(tmpFile('ct-proc-'), { logger: pino({ level: 'silent' }) }), rules: { drop: [], keep: ['eventName=NoSuchEvent'], redact: [] } })
    await waitUntil(() => metrics.totals.deleted === 1, 'the message to be deleted', 15_000)
    expect(metrics.totals.events).toBe(0)
    expect((await metrics.root.recordsDropped.get()).values.find((v) => v.labels.rule === 'keep')?.value).toBe(20)
    expect(emu.remaining()).toBe(0)
  })
})
