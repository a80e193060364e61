// `run --drain` ends promptly (issue 10, goal 5): within 2 s of its last record at the default wait_time
// (20 s), with several receive loops, a message handed back for a retry, and a permanent failure left for
// the dead-letter queue; but not while SQS still counts a message in flight elsewhere, and an ordinary run
// keeps its long polls. Against a real fauxqs server; the fault proxy only counts requests or fails GETs.

import { statSync } from 'node:fs'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { describe, expect, it } from 'vitest'
import { S3_OBJECT } from '../../src/retry.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { FaultProxy } from '../helpers/fault-proxy.ts'
import { cloudTrailKey, runArgs, runEnv, startCli, type CliResult, type Emulator } from '../helpers/fauxqs.ts'
import { seedObjects, seqsInFile, tmpFile } from '../helpers/seed.ts'
import { waitUntil } from '../helpers/wait.ts'

useCleanup()

/** The default wait_time: the long poll the old --drain waited out once more before it exited. */
const DEFAULT_WAIT = ['--wait-time', '20']

async function proxy(emu: Emulator): Promise<FaultProxy> {
  const p = await FaultProxy.start(emu.endpoint)
  cleanup(() => p.stop())
  return p
}

interface Timed {
  result: CliResult
  /** When the output file last grew (ms, performance.now()); NaN when it never did. */
  lastWriteAt: number
  exitedAt: number
  startedAt: number
}

/** Runs the CLI, watching `out` every 10 ms for the moment of its last growth. */
async function timedRun(args: string[], out: string): Promise<Timed> {
  const startedAt = performance.now()
  const run = startCli(args, runEnv)
  cleanup(async () => {
    run.child.kill('SIGKILL')
    await run.result
  })
  let size = 0
  let lastWriteAt = NaN
  const watch = setInterval(() => {
    let now = 0
    try {
      now = statSync(out).size
    } catch {
      return
    }
    if (now !== size) {
      size = now
      lastWriteAt = performance.now()
    }
  }, 10)
  const result = await run.result
  const exitedAt = performance.now()
  clearInterval(watch)
  return { result, lastWriteAt, exitedAt, startedAt }
}

describe('run --drain ends promptly', () => {
  it('exits within 2 s of its last record at the default wait_time, with several receive loops', async () => {
    const emu = await emulator()
    const expected = await seedObjects(emu, 12, { per: 40, prefix: 'Drain' })
    const out = tmpFile('ct-drain-')
    const t = await timedRun(runArgs(emu, ['--format', 'json', '--output', `file:${out}`, '--pull-threads', '3', ...DEFAULT_WAIT]), out)
    expect(t.result.code, t.result.stderr).toBe(0)
    expect(new Set(seqsInFile(out))).toEqual(new Set(expected))
    expect(emu.remaining()).toBe(0)
    expect(t.exitedAt - t.lastWriteAt).toBeLessThan(2000)
    expect(t.result.logs.some((l) => l.msg === 'queue drained; stopping')).toBe(true)
  })

  it('exits at once when the queue is empty from the start', async () => {
    const emu = await emulator()
    const out = tmpFile('ct-drain-')
    const t = await timedRun(runArgs(emu, ['--output', `file:${out}`, ...DEFAULT_WAIT]), out)
    expect(t.result.code, t.result.stderr).toBe(0)
    // Start-up (Node, the SDK, the parse threads) included; a long poll waited out would be 20 s.
    expect(t.exitedAt - t.startedAt).toBeLessThan(10_000)
  })

  it('waits for a message handed back for a retry, delivers it, then exits within 2 s of its last record', async () => {
    const emu = await emulator()
    const expected = await seedObjects(emu, 3, { per: 40, prefix: 'Retry' })
    const p = await proxy(emu)
    // Every GET of the first object fails until it has been asked for as many times as the S3 policy tries
    // it: its message goes back to SQS for the retry backoff (2 s: the visibility timeout).
    let gets = 0
    p.rule = (r) => (r.service === 's3' && r.action === 'GET' && r.path.includes('Retry00000000000') && gets++ < S3_OBJECT.attempts ? { kind: 'error', status: 500, code: 'InternalError' } : { kind: 'pass' })
    const out = tmpFile('ct-drain-')
    const t = await timedRun(runArgs(emu, ['--format', 'json', '--output', `file:${out}`, '--visibility-timeout', '2', ...DEFAULT_WAIT], { endpoint: p.url }), out)
    expect(t.result.code, t.result.stderr).toBe(0)
    expect(t.result.logs.some((l) => l.code === 'ERR_S3_TRANSIENT')).toBe(true)
    expect(new Set(seqsInFile(out))).toEqual(new Set(expected))
    expect(emu.remaining()).toBe(0)
    expect(t.exitedAt - t.lastWriteAt).toBeLessThan(2000)
  })

  it('leaves a permanent failure for the dead-letter queue, then exits within 2 s of SQS moving it there', async () => {
    const emu = await emulator({ redrive: true, visibilityTimeout: 2 })
    const key = cloudTrailKey('111122223333', 'us-east-1', '20261126T1400Z', 'PlainJsonPlainJs')
    await emu.putObject(key, JSON.stringify({ Records: [{ eventName: 'x' }] }))
    await emu.notify([key])
    let movedAt = NaN
    const watch = setInterval(() => {
      if (Number.isNaN(movedAt) && (emu.server.inspectQueue(`${emu.queueName}-dlq`)?.messages.ready.length ?? 0) > 0) movedAt = performance.now()
    }, 10)
    cleanup(async () => clearInterval(watch))
    const out = tmpFile('ct-drain-')
    const t = await timedRun(runArgs(emu, ['--output', `file:${out}`, '--visibility-timeout', '2', ...DEFAULT_WAIT]), out)
    expect(t.result.code, t.result.stderr).toBe(0)
    // Tried on each of the policy's 3 receives; the fourth receive has SQS move it.
    expect(t.result.logs.filter((l) => l.code === 'ERR_OBJECT_NOT_GZIP')).toHaveLength(3)
    expect(emu.remaining()).toBe(0)
    expect(movedAt).not.toBeNaN()
    expect(t.exitedAt - movedAt).toBeLessThan(2000)
  })

  it('does not take SQS counting nothing as drained while a message is in flight elsewhere: it waits for its empty receive', async () => {
    const emu = await emulator()
    await seedObjects(emu, 1, { per: 5, prefix: 'Elsewhere' })
    // Another consumer holds the only message (hidden for 60 s): SQS counts it as not visible.
    const held = await emu.sqs.send(new ReceiveMessageCommand({ QueueUrl: emu.queueUrl, VisibilityTimeout: 60 }))
    expect(held.Messages).toHaveLength(1)
    const out = tmpFile('ct-drain-')
    const t = await timedRun(runArgs(emu, ['--output', `file:${out}`, '--wait-time', '4']), out)
    expect(t.result.code, t.result.stderr).toBe(0)
    expect(seqsInFile(out)).toEqual([])
    // Its one long poll of 4 s came back empty; SQS's counts alone did not end the run before.
    expect(t.exitedAt - t.startedAt).toBeGreaterThan(4000)
    expect(emu.remaining()).toBe(1)
  })

  it('an ordinary run keeps its long polls on an empty queue (one receive per loop per wait_time)', async () => {
    const emu = await emulator()
    const p = await proxy(emu)
    const run = startCli(runArgs(emu, ['--output', `file:${tmpFile('ct-drain-')}`, '--pull-threads', '2', ...DEFAULT_WAIT], { endpoint: p.url, drain: false }), runEnv)
    cleanup(async () => {
      run.child.kill('SIGKILL')
      await run.result
    })
    await waitUntil(() => p.count('ReceiveMessage') >= 2, 'both loops to start a long poll', 20_000)
    await new Promise((r) => setTimeout(r, 3000))
    expect(p.count('ReceiveMessage')).toBe(2)
    expect(run.child.exitCode).toBe(null)
    run.child.kill('SIGTERM')
    expect((await run.result).code).toBe(0)
  })
})
