// The queue's input rate (src/observe/queue-stats.ts) as a collector in this process estimates it against a real
// SQS and S3 (fauxqs), S3 failing through the fault proxy where a test says so. Arrivals are what the
// queue gained plus what was deleted: messages received again and again while S3 is down are no
// arrivals; messages that arrive meanwhile are, though nothing is deleted; with S3 up, what is deleted.
// Then QueueStats alone: the three counts, the deletes, a failed poll and the interval.

import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs'
import { describe, expect, it } from 'vitest'
import { sleep } from '../../src/sleep.ts'
import { silentLogger } from '../../src/log.ts'
import type { Metrics } from '../../src/observe/metrics.ts'
import { QueueStats } from '../../src/observe/queue-stats.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { inProcessCollector, sample } from '../helpers/collector.ts'
import { FaultProxy, type Rule } from '../helpers/fault-proxy.ts'
import { cloudTrailKey, credentials, type Emulator } from '../helpers/fauxqs.ts'
import { fixtureRecords } from '../helpers/fixtures.ts'
import { capture } from '../helpers/pipeline.ts'
import { waitUntil } from '../helpers/wait.ts'

useCleanup()

const pass: Rule = () => ({ kind: 'pass' })
const s3Down: Rule = (req) => (req.service === 's3' ? { kind: 'error', status: 503, code: 'ServiceUnavailable' } : { kind: 'pass' })

/**
 * Answers every second; failed messages come back after 2 s (the retry backoff is capped by the
 * visibility timeout), and enough objects in flight that a retry costs no waiting for a slot.
 */
const settings = {
  queue_stats_interval: '1',
  visibility_timeout: '2',
  cloudtrail_msg_pull_interval: '1',
  cloudtrail_file_parse_thread_num: '1',
  max_objects_in_flight: '20',
}

/** An emulator with one small CloudTrail log, and a fault proxy in front of it. */
async function setup(): Promise<{ emu: Emulator; proxy: FaultProxy; announce: () => Promise<void> }> {
  const emu = await emulator()
  const proxy = await FaultProxy.start(emu.endpoint)
  cleanup(() => proxy.stop())
  const key = cloudTrailKey('111122223333', 'us-east-1', '20261110T1200Z', 'queuestats000001')
  await emu.putLog(key, [fixtureRecords()[0].record])
  // Each notification names the same object, as CloudTrail's name one file each.
  return { emu, proxy, announce: () => emu.notify([key]) }
}

/** `perSecond` notifications a second for `seconds`, on a fixed schedule. */
async function arrive(announce: () => Promise<void>, perSecond: number, seconds: number): Promise<void> {
  const start = Date.now()
  for (let i = 0; i < perSecond * seconds; i++) {
    await sleep(start + (i * 1000) / perSecond - Date.now())
    await announce()
  }
  await sleep(start + seconds * 1000 - Date.now())
}

const deleted = (metrics: Metrics) => sample(metrics, 'cloudtrail_sqs_messages_deleted_total')

/** What `read` says every 500 ms until `work` is done. */
async function during(work: Promise<void>, read: () => Promise<number | undefined>): Promise<number[]> {
  const seen: number[] = []
  let done = false
  void work.finally(() => (done = true))
  while (!done) {
    seen.push((await read()) ?? Number.NaN)
    await sleep(500)
  }
  await work
  seen.push((await read()) ?? Number.NaN)
  return seen
}

describe('the input rate', () => {
  it('is about 0 while S3 is down and the same messages come back again and again, and counts what arrives meanwhile', async () => {
    const { emu, proxy, announce } = await setup()
    proxy.rule = s3Down
    for (let i = 0; i < 20; i++) await announce()
    await waitUntil(() => emu.remaining() === 20, '20 messages in the queue')
    const { metrics } = await inProcessCollector(emu, proxy.url, settings)

    // Every message received, failed and handed back: twice over, then a few more answers.
    await waitUntil(() => metrics.totals.received >= 40, 'every message to be received twice', 60_000)
    const from = { at: Date.now(), received: metrics.totals.received }
    await sleep(5000)
    const receivedPerSecond = (metrics.totals.received - from.received) / ((Date.now() - from.at) / 1000)
    // What "received + the backlog's growth" reported as the input rate.
    expect(receivedPerSecond).toBeGreaterThan(1)
    expect(await sample(metrics, 'cloudtrail_input_rate_messages')).toBeLessThan(0.2)
    // FortiSIEM's ratio follows: rate x 1 s / (1 thread x 10).
    expect(await sample(metrics, 'cloudtrail_capacity_ratio')).toBeLessThan(0.02)
    expect(await deleted(metrics)).toBe(0)
    expect(emu.remaining()).toBe(20)
    expect(await sample(metrics, 'cloudtrail_sqs_queue_messages')).toBe(20)

    // 2 messages a second arrive while S3 is still down: the queue grows by them, nothing is deleted. The
    // estimate climbs towards 2 (smoothed over answers that come more slowly on a loaded host) and never
    // counts the retries on top.
    const rates = await during(arrive(announce, 2, 15), () => sample(metrics, 'cloudtrail_input_rate_messages'))
    expect(Math.max(...rates)).toBeGreaterThan(1.3)
    expect(Math.max(...rates)).toBeLessThan(3)
    expect(await deleted(metrics)).toBe(0)
    // Nor are the retries throughput: after more than the 10 s a sustained rate needs, none was achieved.
    expect(await sample(metrics, 'cloudtrail_achieved_max_message_rate')).toBe(0)
  }, 120_000)

  it('counts real arrivals as what was deleted plus what the queue gained', async () => {
    const { emu, proxy, announce } = await setup()
    proxy.rule = pass
    const { metrics } = await inProcessCollector(emu, proxy.url, settings)
    await arrive(announce, 4, 12)
    const rate = await sample(metrics, 'cloudtrail_input_rate_messages')
    expect(rate).toBeGreaterThan(2.8)
    expect(rate).toBeLessThan(5.2)
    expect(await deleted(metrics)).toBeGreaterThan(30)
  }, 60_000)

  it('dates each answer when it arrives: a slow answer does not stretch the interval', async () => {
    const emu = await emulator()
    const proxy = await FaultProxy.start(emu.endpoint)
    cleanup(() => proxy.stop())
    const sqs = new SQSClient({ endpoint: proxy.url, region: 'us-east-1', credentials })
    cleanup(async () => sqs.destroy())
    const stats = new QueueStats(sqs, emu.queueUrl, () => 0, silentLogger())

    // The first answer takes 2 s (the proxy holds the request: the counts are those of its arrival).
    proxy.rule = (req) => (req.action === 'GetQueueAttributes' ? { kind: 'delay', ms: 2000 } : { kind: 'pass' })
    const asked = Date.now()
    await stats.poll()
    const first = Date.now()
    expect(stats.answeredAt! * 1000).toBeGreaterThanOrEqual(asked + 2000)

    // 20 messages between that answer and the next, which comes at once: 20 over the time between the two
    // answers, not over the time since the first question.
    proxy.rule = pass
    for (let i = 0; i < 20; i++) await emu.send(`message ${i}`)
    await stats.poll()
    const truth = 20 / ((Date.now() - first) / 1000)
    expect(stats.inputRate).toBeGreaterThan(truth * 0.8)
    expect(stats.inputRate).toBeLessThan(truth * 1.25)
  }, 30_000)
})

describe('QueueStats', () => {
  /** QueueStats on `emu`'s queue through a fault proxy, with the deletes the test says it made. */
  async function stats(emu: Emulator, intervalMs?: number) {
    const proxy = await FaultProxy.start(emu.endpoint)
    cleanup(() => proxy.stop())
    const sqs = new SQSClient({ endpoint: proxy.url, region: 'us-east-1', credentials })
    cleanup(async () => sqs.destroy())
    const { log, lines } = capture()
    let deleted = 0
    let failures = 0
    const s = new QueueStats(sqs, emu.queueUrl, () => deleted, log, intervalMs, () => failures++)
    cleanup(async () => s.stop())
    return { s, proxy, lines, failures: () => failures, delete: (n: number) => (deleted += n) }
  }

  it('reads visible, in-flight and delayed messages; knows no rate before two answers', async () => {
    const emu = await emulator()
    for (let i = 0; i < 5; i++) await emu.send(`visible ${i}`)
    await emu.sqs.send(new SendMessageCommand({ QueueUrl: emu.queueUrl, MessageBody: 'delayed', DelaySeconds: 60 }))
    await emu.sqs.send(new ReceiveMessageCommand({ QueueUrl: emu.queueUrl, MaxNumberOfMessages: 2, VisibilityTimeout: 60 }))
    const { s } = await stats(emu)
    expect(s.snapshot).toBeNull()
    expect(s.answeredAt).toBeNull()
    await s.poll()
    expect(s.snapshot).toEqual({ backlog: 3, inflight: 2, delayed: 1 })
    expect(s.inputRate).toBeNull()
    await s.poll()
    expect(s.inputRate).toBe(0) // nothing arrived between the two answers
  })

  it('counts a delete as a message that had arrived: what the queue lost comes back through the deletes', async () => {
    const emu = await emulator()
    for (let i = 0; i < 10; i++) await emu.send(`message ${i}`)
    const { s, delete: deleted } = await stats(emu)
    await s.poll()
    const { Messages } = await emu.sqs.send(new ReceiveMessageCommand({ QueueUrl: emu.queueUrl, MaxNumberOfMessages: 4, VisibilityTimeout: 60 }))
    for (const m of Messages ?? []) await emu.sqs.send(new DeleteMessageCommand({ QueueUrl: emu.queueUrl, ReceiptHandle: m.ReceiptHandle }))
    deleted(Messages?.length ?? 0)
    await s.poll()
    // The queue shrank by as many as were deleted: no arrivals.
    expect(s.snapshot).toEqual({ backlog: 6, inflight: 0, delayed: 0 })
    expect(s.inputRate).toBe(0)
  })

  it('keeps its last counts when GetQueueAttributes fails, says so once per failure, and polls on its interval', async () => {
    const emu = await emulator()
    await emu.send('one')
    const { s, proxy, lines, failures } = await stats(emu, 200)
    await s.poll()
    const answered = s.answeredAt
    proxy.rule = (r) => (r.action === 'GetQueueAttributes' ? { kind: 'error', status: 400, code: 'AccessDenied' } : { kind: 'pass' })
    await s.poll()
    expect(failures()).toBe(1)
    expect(s.snapshot).toEqual({ backlog: 1, inflight: 0, delayed: 0 })
    expect(s.answeredAt).toBe(answered)
    expect(lines.find((l) => l.code === 'AccessDenied')).toMatchObject({ stage: 'sqs', level: 40 })
    proxy.rule = pass
    const asked = proxy.count('GetQueueAttributes')
    s.start()
    await waitUntil(() => proxy.count('GetQueueAttributes') >= asked + 3, 'three polls on the interval', 5_000)
    s.stop()
    const stopped = proxy.count('GetQueueAttributes')
    await sleep(500)
    expect(proxy.count('GetQueueAttributes')).toBeLessThanOrEqual(stopped + 1) // one may have been under way
    expect(s.answeredAt).toBeGreaterThan(answered!)
  })
})

