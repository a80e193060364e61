// /healthz and /readyz of `run`: alive from the start; ready only while SQS answers and the sink's
// destination can be reached, which shows at start, before any record is written.

import { describe, expect, it } from 'vitest'
import { parsePrometheusText, sampleValue } from '../../bench/lib/prometheus-text.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { runArgs, runEnv, startCli } from '../helpers/fauxqs.ts'
import { freePort } from '../helpers/process.ts'
import { TestHttpServer } from '../helpers/servers.ts'
import { waitFor } from '../helpers/wait.ts'

useCleanup()

async function get(port: number, path: string): Promise<{ status: number; body: string } | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`)
    return { status: res.status, body: await res.text() }
  } catch {
    return null // not listening yet
  }
}

describe('health and readiness', () => {
  it('is alive at once, not ready while the SIEM cannot be reached, ready once it can, without a record', async () => {
    const emu = await emulator()
    const siem = await TestHttpServer.start()
    cleanup(() => siem.close())
    await siem.refuse() // a SIEM that is down, or a wrong port
    const port = await freePort()
    const run = startCli(runArgs(emu, ['--output', siem.url], { drain: false, metricsPort: port }), runEnv)
    cleanup(async () => {
      run.child.kill('SIGKILL')
      await run.result
    })
    // SQS answers (an empty receive is an answer); the sink does not.
    const until = (check: (r: { status: number; body: string }) => boolean, what: string) =>
      waitFor(async () => {
        const r = await get(port, '/readyz')
        return r !== null && check(r) ? r : undefined
      }, what, 20_000, 100)
    const notReady = await until((r) => r.body.includes('sqs: ok'), 'SQS to answer')
    expect(await get(port, '/healthz')).toEqual({ status: 200, body: 'ok\n' })
    expect(notReady).toEqual({ status: 503, body: 'sqs: ok\nsink: failing\n' })
    // The same checks as gauges, for alerts (CloudTrailSinkUnreachable).
    const gauge = async (name: string) => Number(sampleValue(parsePrometheusText((await get(port, '/metrics'))?.body ?? ''), name))
    expect([await gauge('cloudtrail_sqs_up'), await gauge('cloudtrail_sink_up')]).toEqual([1, 0])

    await siem.reopen()
    expect(await until((r) => r.status === 200, 'the collector to be ready')).toEqual({ status: 200, body: 'sqs: ok\nsink: ok\n' })
    expect(await gauge('cloudtrail_sink_up')).toBe(1)
    expect(siem.requests).toEqual([])
    run.child.kill('SIGTERM')
    expect((await run.result).code).toBe(0)
  }, 60_000)
})
