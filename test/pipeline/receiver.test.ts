// The receivers against a real SQS (fauxqs), a fault proxy in front of it where a test says so: how much
// each receive asks for (the ring's free slots), what a receive brings that the ring has no room for,
// failed and throttled receives (backed off, counted, /readyz's sqs check), an empty receive (onEmpty
// decides), and a stop in the middle of a long poll.

import { SQSClient } from '@aws-sdk/client-sqs'
import { describe, expect, it } from 'vitest'
import { Acker } from '../../src/pipeline/acker.ts'
import { silentLogger } from '../../src/log.ts'
import type { SourceMetrics } from '../../src/observe/metrics.ts'
import { sourceMetrics } from '../helpers/metrics.ts'
import { Receivers, type ReceiverOptions } from '../../src/pipeline/receiver.ts'
import { Ring, type Received } from '../../src/pipeline/ring.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { FaultProxy, type Rule } from '../helpers/fault-proxy.ts'
import { credentials, type Emulator } from '../helpers/fauxqs.ts'
import { errors } from '../helpers/pipeline.ts'
import { waitUntil } from '../helpers/wait.ts'

useCleanup()

interface Started {
  receivers: Receivers
  ring: Ring<Received>
  acker: Acker
  metrics: SourceMetrics
  proxy: FaultProxy
  /** MaxNumberOfMessages of each ReceiveMessage sent, in order. */
  asked: number[]
  /** Resolves when every loop has ended. */
  running: Promise<void>
  stop: AbortController
}

/**
 * One receive loop on `emu`'s queue through a fault proxy (`rule`), into a ring of `ringSize` that
 * nothing empties unless the test does; onEmpty waits 100 ms unless the test says otherwise.
 */
interface StartOptions {
  ringSize?: number
  rule?: Rule
  waitTime?: number
  onEmpty?: ReceiverOptions['onEmpty']
}

async function start(emu: Emulator, { ringSize = 8, rule = () => ({ kind: 'pass' }), waitTime = 1, onEmpty = () => new Promise((r) => setTimeout(r, 100)) }: StartOptions = {}): Promise<Started> {
  const proxy = await FaultProxy.start(emu.endpoint)
  cleanup(() => proxy.stop())
  proxy.rule = rule
  const sqs = new SQSClient({ endpoint: proxy.url, region: 'us-east-1', credentials })
  const asked: number[] = []
  sqs.middlewareStack.add(
    (next) => (args) => {
      const input = args.input as { MaxNumberOfMessages?: number }
      if (input.MaxNumberOfMessages !== undefined) asked.push(input.MaxNumberOfMessages)
      return next(args)
    },
    { step: 'initialize', name: 'recordMaxNumberOfMessages' },
  )
  const metrics = sourceMetrics()
  const ring = new Ring<Received>(ringSize)
  const acker = new Acker(sqs, { queueUrl: emu.queueUrl, visibilityTimeout: 30, redrive: false }, metrics, silentLogger())
  const receivers = new Receivers(sqs, ring, acker, metrics, silentLogger(), { queueUrl: emu.queueUrl, waitTime, visibilityTimeout: 30, onEmpty })
  const stop = new AbortController()
  const running = receivers.run(1, stop.signal)
  cleanup(async () => {
    stop.abort()
    await running
    await acker.close()
    sqs.destroy()
  })
  return { receivers, ring, acker, metrics, proxy, asked, running, stop }
}

/** The bodies of what the ring holds, taken off it. */
function drain(ring: Ring<Received>): string[] {
  const bodies: string[] = []
  for (let item = ring.shift(); item; item = ring.shift()) bodies.push(item.message.Body ?? '')
  return bodies
}

describe('Receivers', () => {
  it('hands back at once, untracked and counted, the messages of a receive beyond what it asked for', async () => {
    const emu = await emulator({ visibilityTimeout: 30 })
    for (let i = 0; i < 5; i++) await emu.send(`message ${i}`)
    // An endpoint that ignores MaxNumberOfMessages (some SQS-compatible stores, a proxy): this client asks
    // the real server for 10 whatever the receiver asked for.
    const sqs = new SQSClient({ endpoint: emu.endpoint, region: 'us-east-1', credentials })
    sqs.middlewareStack.add(
      (next) => (args) => {
        const input = args.input as { MaxNumberOfMessages?: number }
        if (input.MaxNumberOfMessages !== undefined) input.MaxNumberOfMessages = 10
        return next(args)
      },
      { step: 'initialize', name: 'ignoreMaxNumberOfMessages' },
    )
    const metrics = sourceMetrics()
    const ring = new Ring<Received>(2)
    const acker = new Acker(sqs, { queueUrl: emu.queueUrl, visibilityTimeout: 30, redrive: false }, metrics, silentLogger())
    const receivers = new Receivers(sqs, ring, acker, metrics, silentLogger(), { queueUrl: emu.queueUrl, waitTime: 1, visibilityTimeout: 30, onEmpty: async () => 'stop' })
    const stop = new AbortController()
    const running = receivers.run(1, stop.signal)
    cleanup(async () => {
      stop.abort()
      await running
      await acker.close()
      sqs.destroy()
    })
    const queue = () => emu.server.inspectQueue(emu.queueName)!.messages
    await waitUntil(() => ring.size === 2 && queue().inflight.length + queue().ready.length === 5, 'the receive to be done', 10_000)
    // The hand-backs are on their way: give them a moment (they are visible again once done).
    await waitUntil(() => queue().ready.length === 3, 'the extra messages to be visible again', 5_000).catch(() => {})
    expect(acker.size).toBe(2) // only what the ring holds is tracked (and extended)
    const overflow = (await metrics.root.errors.get()).values.find((v) => v.labels.stage === 'sqs' && v.labels.reason === 'receive_overflow')
    expect(overflow?.value).toBe(3)
    expect(queue().ready).toHaveLength(3)
    expect(queue().inflight).toHaveLength(2)
  })

  it("asks for no more than the ring's free slots, and not at all while the ring is full; each message tracked and counted", async () => {
    const emu = await emulator({ visibilityTimeout: 30 })
    for (let i = 0; i < 6; i++) await emu.send(`message ${i}`)
    const { ring, acker, metrics, proxy, asked } = await start(emu, { ringSize: 4 })
    await waitUntil(() => ring.size === 4, 'the ring to fill', 10_000)
    const receives = proxy.count('ReceiveMessage')
    await new Promise((r) => setTimeout(r, 1500)) // longer than a long poll (wait_time 1 s)
    expect(proxy.count('ReceiveMessage')).toBe(receives) // the ring is full: no receive
    expect(asked[0]).toBe(4) // the whole ring free, not SQS's 10
    expect(asked.every((n) => n >= 1 && n <= 4)).toBe(true)
    expect(acker.size).toBe(4)
    expect(metrics.totals.received).toBe(4)
    const first = drain(ring)
    const before = asked.length
    await waitUntil(() => ring.size === 2, 'the rest to be received', 10_000)
    expect(asked[before]).toBe(4) // the ring emptied: four free slots again
    expect(new Set([...first, ...drain(ring)])).toEqual(new Set(Array.from({ length: 6 }, (_, i) => `message ${i}`)))
    expect(metrics.totals.received).toBe(6)
    expect(emu.server.inspectQueue(emu.queueName)!.messages.inflight).toHaveLength(6)
  })

  it('backs off after throttled receives, counts them, reports SQS down meanwhile, and recovers', async () => {
    const emu = await emulator({ visibilityTimeout: 30 })
    for (let i = 0; i < 3; i++) await emu.send(`message ${i}`)
    let throttled = 0
    const { receivers, ring, metrics, proxy } = await start(emu, {
      rule: (r) => (r.action === 'ReceiveMessage' && throttled++ < 6 ? { kind: 'error', status: 400, code: 'ThrottlingException' } : { kind: 'pass' }),
    })
    await waitUntil(() => !receivers.healthy, 'a receive to fail', 10_000)
    await waitUntil(() => ring.size === 3, 'every message to be received', 30_000)
    expect(receivers.healthy).toBe(true)
    expect(proxy.faults('ReceiveMessage')).toBe(6)
    // The SDK's own retries take some of the six; each receive that still failed is counted once.
    const failed = await errors(metrics, 'sqs', 'receive_failed')
    expect(failed).toBeGreaterThanOrEqual(1)
    expect(failed).toBeLessThanOrEqual(6)
    expect(new Set(drain(ring))).toEqual(new Set(['message 0', 'message 1', 'message 2']))
  })

  it("calls onEmpty after an empty receive with the time it was sent, and its 'stop' ends the loop", async () => {
    const emu = await emulator({ visibilityTimeout: 30 })
    const calls: number[] = []
    const before = Date.now()
    const { running, proxy } = await start(emu, {
      onEmpty: async (_signal, since) => {
        calls.push(since)
        return calls.length < 2 ? 'again' : 'stop'
      },
    })
    await running
    expect(calls).toHaveLength(2)
    expect(calls[0]).toBeGreaterThanOrEqual(before)
    // Each `since` is when its receive went out: at least a long poll (1 s) before the next one.
    expect(calls[1] - calls[0]).toBeGreaterThanOrEqual(900)
    expect(proxy.count('ReceiveMessage')).toBe(2)
  })

  it('ends at once when stopped in the middle of a long poll, without counting a failure', async () => {
    const emu = await emulator({ visibilityTimeout: 30 })
    const { running, stop, metrics, proxy } = await start(emu, { waitTime: 20 })
    await waitUntil(() => proxy.count('ReceiveMessage') === 1, 'the long poll to be sent', 10_000)
    const stopped = Date.now()
    stop.abort()
    await running
    expect(Date.now() - stopped).toBeLessThan(1000)
    expect(await errors(metrics, 'sqs', 'receive_failed')).toBe(0)
  })
})
