// Failure handling that needs the collector in a process of its own: SIGTERM mid-flight, against a real
// fauxqs server with a proxy in front of it that makes S3 slow. The failures a process need not stand
// for (S3, SQS and sink faults, the dead-letter queue, the size limit, the heartbeat) are tested in
// process: test/pipeline/failures.test.ts, and the throttled receives in test/pipeline/receiver.test.ts.

import { describe, expect, it } from 'vitest'
import { S3_OBJECT } from '../../src/retry.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { FaultProxy } from '../helpers/fault-proxy.ts'
import { runArgs, runCli, runEnv, startCli, type Emulator } from '../helpers/fauxqs.ts'
import { seedObjects, seqsInFile, tmpFile } from '../helpers/seed.ts'
import { waitUntil } from '../helpers/wait.ts'

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
  it('on SIGTERM while the queue is still being probed, starts, stops at once and exits 0 (not killed by the signal)', async () => {
    const emu = await emulator()
    const p = await proxy(emu)
    // GetQueueAttributes answered after 2 s: the signal comes meanwhile.
    p.rule = (req) => (req.action === 'GetQueueAttributes' ? { kind: 'delay', ms: 2000 } : { kind: 'pass' })
    const run = startCli(runArgs(emu, ['--output', `file:${outFile()}`], { endpoint: p.url, drain: false }), runEnv)
    await waitUntil(() => (p.seen.get('GetQueueAttributes') ?? 0) > 0, 'the queue probe to be sent')
    run.child.kill('SIGTERM')
    const res = await run.result
    expect([res.code, res.signal], res.stderr.slice(-2000)).toEqual([0, null])
    expect(res.logs.some((l) => l.msg === 'collector stopped')).toBe(true)
  }, 30_000)

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
