// The acker against a real SQS (fauxqs): deletion after the last object, the heartbeat that keeps a
// slow message away from a second consumer for several visibility timeouts, hand-backs, and what a
// visibility change that SQS refuses leaves behind.

import { ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { Acker } from '../../src/pipeline/acker.ts'
import { silentLogger, type Logger } from '../../src/log.ts'
import type { SourceMetrics } from '../../src/observe/metrics.ts'
import { sourceMetrics } from '../helpers/metrics.ts'
import { SQS } from '../../src/retry.ts'
import { emulator, useCleanup, cleanup } from '../helpers/cleanup.ts'
import { FaultProxy } from '../helpers/fault-proxy.ts'
import { credentials, type Emulator } from '../helpers/fauxqs.ts'

useCleanup()

async function receiveOne(emu: Emulator, visibilityTimeout: number): Promise<Message> {
  const { Messages } = await emu.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: emu.queueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: visibilityTimeout, WaitTimeSeconds: 2, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }),
  )
  expect(Messages).toHaveLength(1)
  return Messages![0]
}

/** What a second consumer on the queue gets right now (no waiting). */
async function steal(emu: Emulator): Promise<number> {
  const { Messages } = await emu.sqs.send(new ReceiveMessageCommand({ QueueUrl: emu.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
  return Messages?.length ?? 0
}

function acker(emu: Emulator, visibilityTimeout: number, { sqs = emu.sqs, log = silentLogger() }: { sqs?: SQSClient; log?: Logger } = {}): { acker: Acker; metrics: SourceMetrics } {
  const metrics = sourceMetrics()
  const a = new Acker(sqs, { queueUrl: emu.queueUrl, visibilityTimeout, redrive: false }, metrics, log)
  cleanup(() => a.close())
  return { acker: a, metrics }
}

describe('Acker', () => {
  it('keeps a slow message invisible to a second consumer, extending it well before it would turn visible, then deletes it', async () => {
    const emu = await emulator({ visibilityTimeout: 2 })
    await emu.send('slow')
    const { acker: a, metrics } = acker(emu, 2)
    // Received right after the acker started: the phase at which a heartbeat that ticks only as often as
    // half the timeout extends with almost nothing left.
    const entry = a.track(await receiveOne(emu, 2))
    a.add(entry)
    a.seal(entry)
    // How close SQS came to handing the message out again: its visibility deadline, sampled every 10 ms.
    let closest = Infinity
    const sampler = setInterval(() => {
      for (const m of emu.server.inspectQueue(emu.queueName)?.messages.inflight ?? []) closest = Math.min(closest, m.visibilityDeadline - Date.now())
    }, 10)
    // A second consumer polls for 3.5 visibility timeouts.
    let stolen = 0
    for (const end = Date.now() + 7000; Date.now() < end; ) {
      stolen += await steal(emu)
      await new Promise((r) => setTimeout(r, 100))
    }
    clearInterval(sampler)
    expect(stolen).toBe(0)
    expect((await metrics.root.visibilityExtensions.get()).values[0].value).toBeGreaterThanOrEqual(3)
    // Extended with time to spare: by design while a quarter to a half of the timeout (500-1000 ms) is
    // left; at least 100 ms even if this process stalls for a moment. (A heartbeat that looked only once
    // per half-timeout extended this message with 4-7 ms left.)
    expect(closest).toBeGreaterThanOrEqual(100)
    a.done(entry, 'ok')
    await a.whenIdle()
    expect(emu.remaining()).toBe(0)
  }, 20_000)

  it('hands an unfinished message back at close, so another consumer takes it at once', async () => {
    const emu = await emulator({ visibilityTimeout: 30 })
    await emu.send('unfinished')
    const { acker: a } = acker(emu, 30)
    const entry = a.track(await receiveOne(emu, 30))
    a.add(entry)
    a.seal(entry)
    expect(await steal(emu)).toBe(0)
    await a.close()
    expect(await steal(emu)).toBe(1)
  })

  it('tries a delete under the SQS delete policy: again after a 5xx, and gives up after its attempts, leaving the message in the queue', async () => {
    const emu = await emulator({ visibilityTimeout: 30 })
    await emu.send('flaky')
    await emu.send('down')
    const proxy = await FaultProxy.start(emu.endpoint)
    cleanup(() => proxy.stop())
    // As clients.ts builds it: the SDK's own retries off, each attempt one request.
    const sqs = new SQSClient({ endpoint: proxy.url, region: 'us-east-1', credentials, maxAttempts: 1 })
    cleanup(async () => sqs.destroy())
    const { acker: a, metrics } = acker(emu, 30, { sqs })
    const settle = (message: Message) => {
      const entry = a.track(message)
      a.add(entry)
      a.seal(entry)
      a.done(entry, 'ok')
    }
    let deletes = 0
    proxy.rule = (r) => (r.action === 'DeleteMessageBatch' && deletes++ < 2 ? { kind: 'error', status: 500, code: 'InternalError' } : { kind: 'pass' })
    settle(await receiveOne(emu, 30))
    await a.whenIdle()
    expect(deletes).toBe(3) // two failures, then the delete
    expect(emu.server.inspectQueue(emu.queueName)?.messages.inflight).toHaveLength(0)

    proxy.rule = (r) => (r.action === 'DeleteMessageBatch' ? { kind: 'error', status: 500, code: 'InternalError' } : { kind: 'pass' })
    const before = proxy.faults('DeleteMessageBatch')
    settle(await receiveOne(emu, 30))
    await a.whenIdle()
    expect(proxy.faults('DeleteMessageBatch') - before).toBe(SQS.delete.attempts)
    expect(emu.server.inspectQueue(emu.queueName)?.messages.inflight).toHaveLength(1) // not deleted: delivered again later
    const failed = (await metrics.root.errors.get()).values.find((v) => v.labels.stage === 'sqs' && v.labels.reason === 'delete_failed')
    expect(failed?.value).toBe(2 + SQS.delete.attempts)
  })

  it('warns and counts when SQS refuses a visibility change, and says when the message comes back instead', async () => {
    const emu = await emulator({ visibilityTimeout: 30 })
    await emu.send('backed off')
    const proxy = await FaultProxy.start(emu.endpoint)
    cleanup(() => proxy.stop())
    proxy.rule = (r) => (r.action === 'ChangeMessageVisibility' ? { kind: 'error', status: 400, code: 'InvalidParameterValue' } : { kind: 'pass' })
    const sqs = new SQSClient({ endpoint: proxy.url, region: 'us-east-1', credentials })
    cleanup(async () => sqs.destroy())
    const lines: Record<string, unknown>[] = []
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) })
    const { acker: a, metrics } = acker(emu, 30, { sqs, log })
    const entry = a.track(await receiveOne(emu, 30))
    a.add(entry)
    a.seal(entry)
    a.done(entry, 'retry') // the backoff (10 s) is refused: the message stays hidden for its whole 30 s
    await a.whenIdle()
    expect(proxy.faults('ChangeMessageVisibility')).toBe(1)
    const failed = (await metrics.root.errors.get()).values.find((v) => v.labels.stage === 'sqs' && v.labels.reason === 'visibility_failed')
    expect(failed?.value).toBe(1)
    expect(lines.find((l) => l.code === 'InvalidParameterValue')).toMatchObject({ level: 40, stage: 'sqs', messageId: entry.id })
    // --drain waits for the message until its own visibility runs out, not until the refused backoff.
    expect(a.retriesVisibleAt).toBe(entry.visibleAt)
  })

  it('hands a released message back at once, while one to retry waits for its backoff', async () => {
    const emu = await emulator({ visibilityTimeout: 30 })
    await emu.send('released')
    await emu.send('retried')
    const { acker: a } = acker(emu, 30)
    const { Messages } = await emu.sqs.send(new ReceiveMessageCommand({ QueueUrl: emu.queueUrl, MaxNumberOfMessages: 2, VisibilityTimeout: 30, WaitTimeSeconds: 2 }))
    expect(Messages).toHaveLength(2)
    const [released, retried] = Messages!.map((m) => a.track(m))
    a.seal(released, 'release')
    a.seal(retried, 'retry')
    await a.whenIdle()
    const { Messages: again } = await emu.sqs.send(new ReceiveMessageCommand({ QueueUrl: emu.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
    expect(again?.map((m) => m.MessageId)).toEqual([released.id])
  })
})
