// Failure handling of `run`, each against a real fauxqs server (faults injected by a proxy in front of
// it where a server cannot produce them): transient S3 and SQS faults, permanent failures with and
// without a redrive policy, the decompressed-size limit, a failing sink, the visibility heartbeat and
// SIGTERM mid-flight.

import { gzipSync } from 'node:zlib'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { describe, expect, it } from 'vitest'
import { S3_OBJECT } from '../../src/retry.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { FaultProxy, everyNth } from '../helpers/fault-proxy.ts'
import { cloudTrailKey, runArgs, runCli, runEnv, startCli, type Emulator } from '../helpers/fauxqs.ts'
import { fixtureRecords } from '../helpers/fixtures.ts'
import { acceptedSeqs, seedObjects, seqsInFile, tmpFile } from '../helpers/seed.ts'
import { TestHttpServer } from '../helpers/servers.ts'
import { waitUntil } from '../helpers/wait.ts'

const records = fixtureRecords().map((r) => r.record)
useCleanup()

async function proxy(emu: Emulator): Promise<FaultProxy> {
  const p = await FaultProxy.start(emu.endpoint)
  cleanup(() => p.stop())
  return p
}

/** n objects of 40 records each, each announced by its own CloudTrail notification; their seqs. */
const seed = (emu: Emulator, n: number) => seedObjects(emu, n, { per: 40, prefix: 'Obj' })

const outFile = () => tmpFile('ct-fail-')

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
    const out = outFile()
    const res = await runCli(runArgs(emu, ['--format', 'json', '--output', `file:${out}`], { endpoint: p.url }), runEnv)
    expect(res.code, res.stderr).toBe(0)
    expect(new Set(seqsInFile(out))).toEqual(new Set(expected))
    expect(p.faults('GET')).toBeGreaterThanOrEqual(6)
    expect(emu.remaining()).toBe(0)
  })

  it('leaves a message whose object cannot be fetched in the queue, and delivers it once S3 is back', async () => {
    const emu = await emulator()
    const expected = await seed(emu, 2)
    const p = await proxy(emu)
    p.rule = (r) => (r.service === 's3' ? { kind: 'error', status: 500, code: 'InternalError' } : { kind: 'pass' })
    const out = outFile()
    const run = startCli(runArgs(emu, ['--format', 'json', '--output', `file:${out}`, '--visibility-timeout', '2'], { endpoint: p.url }), runEnv)
    cleanup(async () => {
      run.child.kill('SIGKILL')
      await run.result
    })
    // Each object: the S3 policy's attempts (one request each), with backoff; then the message goes back.
    await waitUntil(() => run.stderr().includes('its message will be retried'), 'an object to fail for now', 30_000)
    expect(seqsInFile(out)).toEqual([])
    expect(emu.remaining()).toBe(2) // not deleted
    expect(p.count('GET')).toBeGreaterThanOrEqual(S3_OBJECT.attempts)
    const failure = run
      .stderr()
      .split('\n')
      .filter((l) => l.includes('its message will be retried'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)[0]
    expect(failure.code).toBe('ERR_S3_TRANSIENT')
    expect(failure.bucket).toBe(emu.bucket)
    expect(String(failure.key)).toMatch(/CloudTrail/)

    p.rule = () => ({ kind: 'pass' })
    const res = await run.result // --drain waits for the message to come back, then delivers it
    expect(res.code, res.stderr).toBe(0)
    expect(new Set(seqsInFile(out))).toEqual(new Set(expected))
    expect(emu.remaining()).toBe(0)
  })

  it('rides out SQS faults on receive, delete and visibility calls', async () => {
    const emu = await emulator()
    const expected = await seed(emu, 15)
    const p = await proxy(emu)
    p.rule = everyNth(3, { kind: 'error', status: 500, code: 'InternalError' }, (r) => r.service === 'sqs' && r.action !== 'GetQueueAttributes')
    const out = outFile()
    const res = await runCli(runArgs(emu, ['--format', 'json', '--output', `file:${out}`], { endpoint: p.url }), runEnv)
    expect(res.code, res.stderr).toBe(0)
    expect(new Set(seqsInFile(out))).toEqual(new Set(expected))
    expect(p.faults('ReceiveMessage') + p.faults('DeleteMessageBatch')).toBeGreaterThan(0)
    expect(emu.remaining()).toBe(0)
  })

  it('throttled receives back off and recover', async () => {
    const emu = await emulator()
    const expected = await seed(emu, 3)
    const p = await proxy(emu)
    let throttled = 0
    p.rule = (r) => (r.action === 'ReceiveMessage' && throttled++ < 6 ? { kind: 'error', status: 400, code: 'ThrottlingException' } : { kind: 'pass' })
    const out = outFile()
    const res = await runCli(runArgs(emu, ['--format', 'json', '--output', `file:${out}`], { endpoint: p.url }), runEnv)
    expect(res.code, res.stderr).toBe(0)
    expect(new Set(seqsInFile(out))).toEqual(new Set(expected))
    expect(p.faults('ReceiveMessage')).toBe(6)
  })

  it('deletes a permanently failing message, but leaves it for the dead-letter queue when the queue has a redrive policy (--drain waits until SQS has moved it)', async () => {
    for (const redrive of [false, true]) {
      const emu = await emulator({ redrive, visibilityTimeout: 2 })
      const key = cloudTrailKey('111122223333', 'us-east-1', '20261126T1400Z', 'PlainJsonPlainJs')
      await emu.putObject(key, JSON.stringify({ Records: [{ eventName: 'x' }] }))
      await emu.publish(JSON.stringify({ s3Bucket: emu.bucket, s3ObjectKey: [key] }))
      const res = await runCli(runArgs(emu, ['--output', `file:${outFile()}`, '--visibility-timeout', '2']), runEnv)
      expect(res.code, res.stderr).toBe(0)
      const errors = res.logs.filter((l) => l.code === 'ERR_OBJECT_NOT_GZIP')
      expect(errors[0]?.bucket).toBe(emu.bucket)
      expect(errors[0]?.key).toBe(key)
      expect(emu.remaining(), `redrive=${redrive}`).toBe(0)
      if (!redrive) continue
      // Tried on each of the policy's 3 receives, then moved to the dead-letter queue by SQS before --drain ended.
      expect(errors).toHaveLength(3)
      const dlq = emu.server.inspectQueue(`${emu.queueName}-dlq`)
      expect(dlq?.messages.ready.length).toBe(1)
    }
  })

  it('treats an object beyond the decompressed-size limit as a permanent error, and carries on', async () => {
    const emu = await emulator()
    const expected = await seed(emu, 2)
    const big = Array.from({ length: 4000 }, (_, i) => ({ ...records[i % records.length], seq: `big-${i}` }))
    const key = cloudTrailKey('111122223333', 'us-east-1', '20261126T1500Z', 'BigBigBigBigBigB')
    await emu.putObject(key, gzipSync(JSON.stringify({ Records: big })))
    await emu.publish(JSON.stringify({ s3Bucket: emu.bucket, s3ObjectKey: [key] }))
    const out = outFile()
    const res = await runCli(runArgs(emu, ['--format', 'json', '--output', `file:${out}`, '--max-object-size', '1MiB']), runEnv)
    expect(res.code, res.stderr).toBe(0)
    const error = res.logs.find((l) => l.code === 'ERR_OBJECT_TOO_LARGE')
    expect(error?.key).toBe(key)
    const written = new Set(seqsInFile(out))
    for (const s of expected) expect(written.has(s)).toBe(true)
    expect(emu.remaining()).toBe(0)
  })

  it('does not delete while the sink fails, stops receiving, and resumes when it recovers', async () => {
    const emu = await emulator()
    const expected = await seed(emu, 40)
    const siem = await TestHttpServer.start()
    cleanup(() => siem.close())
    siem.answer = () => ({ status: 503 })
    const run = startCli(runArgs(emu, ['--format', 'json', '--output', siem.url, '--max-objects-in-flight', '2', '--ring-size', '4']), runEnv)
    cleanup(async () => {
      run.child.kill('SIGKILL')
      await run.result
    })
    await waitUntil(() => siem.requests.length >= 3, 'the sink to be retried', 20_000)
    // Nothing was confirmed, so nothing was deleted; and with the sink stuck the receivers stopped early:
    // at most the ring, the objects in flight and those waiting for confirmation (5 per slot), and one
    // receive's worth of messages were taken off the queue.
    expect(emu.remaining()).toBe(40)
    const q = emu.server.inspectQueue(emu.queueName)
    expect(q?.messages.inflight.length).toBeLessThanOrEqual(4 + 2 * 5 + 10)
    expect(q?.messages.ready.length).toBeGreaterThan(0)
    siem.answer = () => ({ status: 200 })
    const res = await run.result
    expect(res.code, res.stderr).toBe(0)
    const delivered = new Set(acceptedSeqs(siem))
    expect(delivered).toEqual(new Set(expected))
    expect(emu.remaining()).toBe(0)
  })

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
    const run = startCli(runArgs(emu, ['--format', 'json', '--output', siem.url, '--http-batch-bytes', '100000'], { drain: false }), runEnv)
    cleanup(async () => {
      run.child.kill('SIGKILL')
      await run.result
    })
    const delivered = () => new Set(acceptedSeqs(siem))
    await waitUntil(() => delivered().size === 6 * 40 && emu.remaining() === 1, 'the other objects to be delivered and deleted', 30_000)
    run.child.kill('SIGTERM')
    const res = await run.result
    expect(res.code, res.stderr.slice(-2000)).toBe(0)
    expect(delivered()).toEqual(new Set(expected))
    // The huge record's message stays: it comes back (or goes to the dead-letter queue), never deleted unwritten.
    expect(emu.remaining()).toBe(1)
    const failure = res.logs.find((l) => l.code === 'ERR_SINK_REJECTED' && l.key === key)
    expect(failure).toMatchObject({ stage: 'sink', bucket: emu.bucket })
  })

  it('extends the visibility of a message whose object is slow, so nobody else receives it', async () => {
    const emu = await emulator({ visibilityTimeout: 2 })
    const expected = await seed(emu, 1)
    const p = await proxy(emu)
    p.rule = (r) => (r.service === 's3' ? { kind: 'delay', ms: 6000 } : { kind: 'pass' })
    const out = outFile()
    const run = startCli(runArgs(emu, ['--format', 'json', '--output', `file:${out}`, '--visibility-timeout', '2'], { endpoint: p.url }), runEnv)
    cleanup(async () => {
      run.child.kill('SIGKILL')
      await run.result
    })
    await waitUntil(() => p.count('GET') >= 1, 'the collector to start fetching', 15_000)
    // Another consumer of the same queue polls while the object is being fetched (3x the visibility timeout).
    let stolen = 0
    const until = Date.now() + 5000
    while (Date.now() < until) {
      const got = await emu.sqs.send(new ReceiveMessageCommand({ QueueUrl: emu.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 1 }))
      stolen += got.Messages?.length ?? 0
      await new Promise((r) => setTimeout(r, 250))
    }
    const res = await run.result
    expect(res.code, res.stderr).toBe(0)
    expect(stolen).toBe(0)
    expect(p.count('ChangeMessageVisibilityBatch')).toBeGreaterThanOrEqual(2)
    expect(new Set(seqsInFile(out))).toEqual(new Set(expected))
    expect(emu.remaining()).toBe(0)
  })

  it('on SIGTERM stops receiving, finishes what is in flight, exits 0; the rest comes back', async () => {
    const emu = await emulator({ visibilityTimeout: 3 })
    const expected = await seed(emu, 12)
    const p = await proxy(emu)
    p.rule = (r) => (r.service === 's3' ? { kind: 'delay', ms: 700 } : { kind: 'pass' })
    const out = outFile()
    const args = runArgs(emu, ['--format', 'json', '--output', `file:${out}`, '--max-objects-in-flight', '2', '--ring-size', '2', '--visibility-timeout', '3'], { endpoint: p.url, drain: false })
    const run = startCli(args, runEnv)
    await waitUntil(() => p.count('GET') >= 3, 'the collector to be mid-flight', 15_000)
    run.child.kill('SIGTERM')
    const res = await run.result
    expect(res.code, res.stderr).toBe(0)
    const firstRun = seqsInFile(out)
    expect(firstRun.length).toBeGreaterThan(0)
    expect(firstRun.length).toBeLessThan(expected.length)
    // Whatever was written was confirmed before its message was deleted: every written object is complete.
    const perObject = new Map<string, number>()
    for (const s of firstRun) perObject.set(s.split('-')[0], (perObject.get(s.split('-')[0]) ?? 0) + 1)
    for (const n of perObject.values()) expect(n).toBe(40)
    // What was not finished comes back from SQS and a second run delivers it.
    await new Promise((r) => setTimeout(r, 3500))
    p.rule = () => ({ kind: 'pass' })
    const again = await runCli(runArgs(emu, ['--format', 'json', '--output', `file:${out}`], { endpoint: p.url }), runEnv)
    expect(again.code, again.stderr).toBe(0)
    expect(new Set(seqsInFile(out))).toEqual(new Set(expected))
    expect(emu.remaining()).toBe(0)
  })

  it('on SIGTERM hands the messages not started back at once, and those the shutdown timeout cuts short too', async () => {
    // A visibility timeout long enough to tell "at once" from "after a backoff" (10 s) or "when it runs out".
    const emu = await emulator({ visibilityTimeout: 30 })
    await seed(emu, 12)
    const p = await proxy(emu)
    p.rule = (r) => (r.service === 's3' ? { kind: 'delay', ms: 8000 } : { kind: 'pass' })
    const flags = ['--format', 'json', '--output', `file:${outFile()}`, '--max-objects-in-flight', '2', '--ring-size', '4', '--shutdown-timeout', '1']
    const run = startCli(runArgs(emu, flags, { endpoint: p.url, drain: false }), runEnv)
    cleanup(async () => {
      run.child.kill('SIGKILL')
      await run.result
    })
    const inflight = () => emu.server.inspectQueue(emu.queueName)?.messages.inflight.length ?? 0
    // Two objects being fetched (slow S3), a third message waiting for a slot, the ring full behind them:
    // no receive under way (one cut short by the stop would leave its messages hidden for 30 s).
    await waitUntil(() => p.count('GET') >= 2 && inflight() >= 2 + 1 + 4, 'two objects in flight and a full ring', 15_000)
    const gets = p.count('GET')
    const stopped = Date.now()
    run.child.kill('SIGTERM')
    const res = await run.result
    expect(res.code, res.stderr.slice(-2000)).toBe(0)
    // Every message this collector held is visible again right away: none waits for a backoff or its timeout.
    expect(inflight()).toBe(0)
    expect(emu.remaining()).toBe(12)
    // Nothing taken from the ring during the shutdown; the two objects cut short by its timeout.
    expect(p.count('GET')).toBe(gets)
    expect(res.logs.filter((l) => l.code === 'ERR_SHUTDOWN')).toHaveLength(2)
    expect(Date.now() - stopped).toBeLessThan(8000) // they were cut short, not finished
  })
})
