// The run job's telemetry alone, on stand-ins for the stages: the gauges read them at scrape time,
// /readyz follows the receivers and the sink, the stats log runs until stopped, the endpoint until closed.
// The queue-stats poller is off (queue_stats_interval 0): its SQS client is never called.

import { createServer } from 'node:net'
import { SQSClient } from '@aws-sdk/client-sqs'
import pino from 'pino'
import { describe, expect, it, vi } from 'vitest'
import { loadConfig, type RawSettings } from '../../src/config.ts'
import type { Logger } from '../../src/log.ts'
import { Metrics } from '../../src/observe/metrics.ts'
import { metricLabels, startTelemetry, type Telemetry } from '../../src/observe/telemetry.ts'
import { cleanup, useCleanup } from '../helpers/cleanup.ts'
import { sample } from '../helpers/collector.ts'

useCleanup()

const QUEUE_URL = 'http://127.0.0.1:9/000000000000/telemetry-queue'

function config(settings: RawSettings = {}) {
  return loadConfig(
    'run',
    {
      queue_url: QUEUE_URL,
      bucket: 'logs',
      region: 'us-east-1',
      access_key_id: 'test',
      secret_key: 'test',
      queue_stats_interval: '0',
      stats_log_interval: '0',
      metrics_port: '0',
      output: 'stdout',
      cloudtrail_msg_pull_interval: '3',
      cloudtrail_msg_pull_thread_num: '2',
      cloudtrail_file_parse_thread_num: '5',
      ...settings,
    },
    {},
  )
}

/** Stand-ins for the stages, their fields set by each test. */
function stages() {
  return {
    pool: { busyMs: 0, cpuMs: 0 },
    ring: { size: 0, capacity: 64 },
    acker: { size: 0, oldestSentAt: null as number | null },
    processor: { inFlight: 0 },
    receivers: { healthy: true },
    sink: { healthy: true },
  }
}

async function start(settings: RawSettings, s: ReturnType<typeof stages>, log: Logger = pino({ level: 'silent' })): Promise<{ metrics: Metrics; telemetry: Telemetry }> {
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  const metrics = new Metrics({}, false)
  const telemetry = await startTelemetry(config(settings), metrics, log, { sqs, ...s })
  cleanup(async () => {
    telemetry.stop()
    await telemetry.close()
    sqs.destroy()
  })
  return { metrics, telemetry }
}

/** A TCP port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('telemetry', () => {
  it('labels every metric with the queue, and the organization when one is set', () => {
    expect(metricLabels(config())).toEqual({ queue: 'telemetry-queue' })
    expect(metricLabels(config({ organization: 'acme' }))).toEqual({ queue: 'telemetry-queue', organization: 'acme' })
  })

  it('reads the stages at scrape time', async () => {
    const s = stages()
    const { metrics } = await start({}, s)
    s.ring.size = 3
    s.acker.size = 2
    s.processor.inFlight = 4
    expect(await sample(metrics, 'cloudtrail_ring_buffer_used')).toBe(3)
    expect(await sample(metrics, 'cloudtrail_ring_buffer_capacity')).toBe(64)
    expect(await sample(metrics, 'cloudtrail_messages_in_flight')).toBe(2)
    expect(await sample(metrics, 'cloudtrail_objects_in_flight')).toBe(4)
    s.ring.size = 5
    expect(await sample(metrics, 'cloudtrail_ring_buffer_used')).toBe(5)
    // The settings FortiSIEM's sizing rule reads, as configured; the rule itself has no input rate yet.
    expect(await sample(metrics, 'cloudtrail_config_pull_interval_seconds')).toBe(3)
    expect(await sample(metrics, 'cloudtrail_config_pull_threads')).toBe(2)
    expect(await sample(metrics, 'cloudtrail_config_parse_threads')).toBe(5)
    expect(await sample(metrics, 'cloudtrail_capacity_ratio')).toBeUndefined()
    expect(await sample(metrics, 'cloudtrail_sqs_backlog_messages')).toBeUndefined()
  })

  it('gives the age of the oldest message held, and 0 when none is', async () => {
    const s = stages()
    const { metrics } = await start({}, s)
    expect(await sample(metrics, 'cloudtrail_sqs_oldest_message_age_seconds')).toBe(0)
    s.acker.oldestSentAt = Date.now() - 5000
    const age = await sample(metrics, 'cloudtrail_sqs_oldest_message_age_seconds')
    expect(age).toBeGreaterThanOrEqual(5)
    expect(age).toBeLessThan(6)
  })

  it('serves /readyz from the receivers and the sink until closed', async () => {
    const s = stages()
    const { telemetry } = await start({ metrics_port: String(await freePort()), metrics_host: '127.0.0.1' }, s)
    expect(telemetry.server).not.toBeNull()
    const ready = async () => {
      const res = await fetch(`${telemetry.server!.url}/readyz`)
      return { status: res.status, body: await res.text() }
    }
    expect(await ready()).toEqual({ status: 200, body: 'sqs: ok\nsink: ok\n' })
    s.sink.healthy = false
    expect(await ready()).toEqual({ status: 503, body: 'sqs: ok\nsink: failing\n' })
    s.sink.healthy = true
    s.receivers.healthy = false
    expect(await ready()).toEqual({ status: 503, body: 'sqs: failing\nsink: ok\n' })
    await telemetry.close()
    await expect(ready()).rejects.toThrow()
  })

  it('starts no endpoint when metrics_port is 0', async () => {
    const { telemetry } = await start({}, stages())
    expect(telemetry.server).toBeNull()
  })

  it('logs the stats every stats_log_interval until stopped', async () => {
    const lines: Record<string, unknown>[] = []
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) })
    const { telemetry } = await start({ stats_log_interval: '1' }, stages(), log)
    const stats = () => lines.filter((l) => l.msg === 'stats')
    await vi.waitUntil(() => stats().length >= 1, { timeout: 3000, interval: 20 })
    expect(stats()[0]).toMatchObject({ eventsPerSecond: 0, messagesPerSecond: 0, backlog: null, inflight: null, messageLagSeconds: null, capacityRatio: null, errors: 0 })
    telemetry.stop()
    const logged = stats().length
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(stats().length).toBe(logged)
  })
})
