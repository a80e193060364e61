// The age of the oldest message a collector holds (cloudtrail_sqs_oldest_message_age_seconds, from the
// acker's oldestSentAt), on a collector in this process against a real SQS and S3 (fauxqs) and a real
// HTTP sink that answers 503: the ring fills, nothing more is received, so the message-lag histogram
// (observed at receipt) stands still while the held messages grow older, and the gauge says by how much.

import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { sleep } from '../../src/sleep.ts'
import type { Metrics } from '../../src/observe/metrics.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { inProcessCollector, sample } from '../helpers/collector.ts'
import { cloudTrailKey } from '../helpers/fauxqs.ts'
import { fixtureRecords } from '../helpers/fixtures.ts'
import { TestHttpServer } from '../helpers/servers.ts'
import { waitFor } from '../helpers/wait.ts'

useCleanup()

const age = (metrics: Metrics) => sample(metrics, 'cloudtrail_sqs_oldest_message_age_seconds')
const receipts = (metrics: Metrics) => sample(metrics, 'cloudtrail_sqs_message_lag_seconds', 'cloudtrail_sqs_message_lag_seconds_count')

describe('the age of the oldest message held', () => {
  it('grows from its SentTimestamp while a sink outage stops receiving, in the gauge and the status figures, and is 0 once nothing is held', async () => {
    const emu = await emulator()
    const siem = await TestHttpServer.start()
    cleanup(() => siem.close())
    siem.answer = () => ({ status: 503 })
    const key = cloudTrailKey('111122223333', 'us-east-1', '20261110T1200Z', 'messageage000001')
    await emu.putLog(key, [fixtureRecords()[0].record])
    const sentFrom = Date.now()
    for (let i = 0; i < 12; i++) await emu.notify([key])
    const sentTo = Date.now()
    // Received 2 s after they were sent: an age from the receipt would be 2 s short.
    await sleep(2000)
    // The stats log (every second) shows the same lag as the status line.
    const stats: { messageLagSeconds: number | null; time: number }[] = []
    const log = pino({ level: 'info', timestamp: pino.stdTimeFunctions.epochTime }, {
      write: (line: string) => {
        const entry = JSON.parse(line) as { msg: string; messageLagSeconds: number | null; time: number }
        if (entry.msg === 'stats') stats.push(entry)
      },
    })
    const settings = { output: siem.url, ring_size: '4', max_objects_in_flight: '1', cloudtrail_file_parse_thread_num: '1', queue_stats_interval: '0', stats_log_interval: '1' }
    const { metrics } = await inProcessCollector(emu, emu.endpoint, settings, log)

    // The ring fills and receiving stops: the receipt count stands still for 2 s.
    await waitFor(
      async () => {
        const before = await receipts(metrics)
        await sleep(2000)
        return (before ?? 0) >= 4 && (await receipts(metrics)) === before
      },
      'receiving to stop',
      60_000,
      0,
    )
    const first = { age: (await age(metrics))!, receipts: await receipts(metrics), at: Date.now() }
    expect(first.age).toBeGreaterThanOrEqual((first.at - sentTo) / 1000 - 0.5)
    expect(first.age).toBeLessThanOrEqual((first.at - sentFrom) / 1000 + 0.5)
    await sleep(3000)
    const second = { age: (await age(metrics))!, receipts: await receipts(metrics), at: Date.now() }
    // No receipt, so the histogram has nothing new to say; the held messages are 3 s older.
    expect(second.receipts).toBe(first.receipts)
    expect(second.age - first.age).toBeGreaterThan(((second.at - first.at) / 1000) * 0.8)
    expect(second.age - first.age).toBeLessThan((second.at - first.at) / 1000 + 0.5)
    // The status line's lag is what is held, not the last receipt's, which stood still.
    const logged = stats.filter((s) => s.time >= first.at).at(-1)!
    expect(logged.messageLagSeconds).toBeGreaterThanOrEqual(first.age)
    expect(logged.messageLagSeconds).toBeLessThanOrEqual(second.age + 0.5)

    // The SIEM is back: everything is delivered and deleted, and nothing is held any more.
    siem.answer = () => ({ status: 200 })
    await waitFor(async () => (await sample(metrics, 'cloudtrail_sqs_messages_deleted_total')) === 12, 'every message to be deleted', 60_000)
    await waitFor(async () => (await age(metrics)) === 0, 'nothing to be held', 10_000)
  }, 120_000)
})
