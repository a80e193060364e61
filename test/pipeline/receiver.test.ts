// The receivers against a real SQS (fauxqs): what a receive brings that the ring has no room for.

import { SQSClient } from '@aws-sdk/client-sqs'
import { describe, expect, it } from 'vitest'
import { Acker } from '../../src/pipeline/acker.ts'
import { silentLogger } from '../../src/log.ts'
import { Metrics } from '../../src/observe/metrics.ts'
import { Receivers } from '../../src/pipeline/receiver.ts'
import { Ring, type Received } from '../../src/pipeline/ring.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { credentials } from '../helpers/fauxqs.ts'
import { waitUntil } from '../helpers/wait.ts'

useCleanup()

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
    const metrics = new Metrics({}, false)
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
    const overflow = (await metrics.errors.get()).values.find((v) => v.labels.stage === 'sqs' && v.labels.reason === 'receive_overflow')
    expect(overflow?.value).toBe(3)
    expect(queue().ready).toHaveLength(3)
    expect(queue().inflight).toHaveLength(2)
  })
})
