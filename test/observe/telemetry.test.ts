// The run job's telemetry alone, on stand-ins for the stages: the gauges read them at scrape time, under
// each source's labels, /readyz follows every source's receivers and the sink, the stats log runs until stopped, the endpoint until closed.
// The queue-stats poller is off (queue_stats_interval 0): its SQS client is never called.

import { createServer } from 'node:net'
import { SQSClient } from '@aws-sdk/client-sqs'
import pino from 'pino'
import { describe, expect, it, vi } from 'vitest'
import { loadConfig, type RawSettings } from '../../src/config.ts'
import type { Logger } from '../../src/log.ts'
import { Metrics } from '../../src/observe/metrics.ts'
import { startTelemetry, type Telemetry, type TelemetrySource } from '../../src/observe/telemetry.ts'
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

async function start(
  settings: RawSettings,
  s: ReturnType<typeof stages>,
  log: Logger = pino({ level: 'silent' }),
  others: ReturnType<typeof stages>[] = [],
): Promise<{ metrics: Metrics; telemetry: Telemetry }> {
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  const metrics = new Metrics(false)
  const cfg = config(settings)
  // The first source as configured, the others as copies of it under names of their own.
  const sources = [s, ...others].map((stage, i): TelemetrySource => {
    const source = { ...cfg.sources[0], name: i === 0 ? cfg.sources[0].name : `${cfg.sources[0].name}-${i}` }
    const clients = { sqs, ...((stage as { clients?: object }).clients ?? {}) } as TelemetrySource['clients']
    const view = metrics.forSource({ source: source.name, organization: source.organization, queue: source.queueName })
    return { ...(stage as object), config: source, clients, metrics: view, log } as unknown as TelemetrySource
  })
  const telemetry = await startTelemetry(cfg, metrics, log, { pool: s.pool, sink: s.sink, sources })
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
  it("labels a source's metrics with its name (ACCOUNT/QUEUE by default), organization and queue", async () => {
    const labels = async (settings: RawSettings) => {
      const { metrics } = await start(settings, stages())
      const { values } = await metrics.registry.getSingleMetric('cloudtrail_ring_buffer_used')!.get()
      return values.map((v) => v.labels)
    }
    expect(await labels({})).toEqual([{ source: '000000000000/telemetry-queue', organization: '', queue: 'telemetry-queue' }])
    expect(await labels({ organization: 'acme', source_name: 'org-trail' })).toEqual([{ source: 'org-trail', organization: 'acme', queue: 'telemetry-queue' }])
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

  it('says on /readyz which source cannot receive, with several', async () => {
    const a = stages()
    const b = stages()
    const { telemetry } = await start({ metrics_port: String(await freePort()), metrics_host: '127.0.0.1' }, a, undefined, [b])
    const ready = async () => {
      const res = await fetch(`${telemetry.server!.url}/readyz`)
      return { status: res.status, body: await res.text() }
    }
    expect(await ready()).toEqual({ status: 200, body: 'sqs: ok\nsink: ok\nsqs 000000000000/telemetry-queue: ok\nsqs 000000000000/telemetry-queue-1: ok\n' })
    b.receivers.healthy = false
    expect(await ready()).toEqual({ status: 503, body: 'sqs: failing\nsink: ok\nsqs 000000000000/telemetry-queue: ok\nsqs 000000000000/telemetry-queue-1: failing\n' })
  })

  it("says on /readyz when a source's role cannot be assumed and its credentials have run out", async () => {
    const s = stages()
    let state: { status: string; expiration?: Date } = { status: 'ok', expiration: new Date(Date.now() + 60_000) }
    const { telemetry } = await start({ metrics_port: String(await freePort()), metrics_host: '127.0.0.1' }, { ...s, clients: { credentials: { state: () => state } } } as typeof s)
    const ready = async () => {
      const res = await fetch(`${telemetry.server!.url}/readyz`)
      return { status: res.status, body: await res.text() }
    }
    expect(await ready()).toEqual({ status: 200, body: 'sqs: ok\nsink: ok\ncredentials 000000000000/telemetry-queue: ok\n' })
    // A refresh failing while the credentials in hand still hold: counted and logged, still ready.
    state = { status: 'failing', expiration: new Date(Date.now() + 10_000) }
    expect((await ready()).status).toBe(200)
    state = { status: 'failing', expiration: new Date(Date.now() - 1000) }
    expect(await ready()).toEqual({ status: 503, body: 'sqs: ok\nsink: ok\ncredentials 000000000000/telemetry-queue: failing\n' })
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
