// `run` with role_arn, in this process (startCollector as the CLI wires it), against fauxqs behind a
// recording proxy and the STS stand-in with 3 s credentials: every SQS call and S3 GET signed with the
// role's credentials across their refreshes, AssumeRole called per lifetime rather than per request, and
// an STS outage counted under {stage="credentials"} while nothing is lost: the messages wait and are
// written once STS answers again.

import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { StsStandIn } from '../../src/emulator/sts-stand-in.ts'
import type { Metrics } from '../../src/observe/metrics.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { inProcessCollector } from '../helpers/collector.ts'
import { FaultProxy, type ProxiedRequest } from '../helpers/fault-proxy.ts'
import { cloudTrailKey, credentials } from '../helpers/fauxqs.ts'
import { waitUntil } from '../helpers/wait.ts'

useCleanup()

const ROLE = 'arn:aws:iam::444455556666:role/cloudtrail-reader'
const EXTERNAL_ID = 'tenant-acme-7f3a'

async function setup() {
  const emu = await emulator()
  const proxy = await FaultProxy.start(emu.endpoint)
  cleanup(() => proxy.stop())
  const requests: ProxiedRequest[] = []
  proxy.rule = (r) => (requests.push(r), { kind: 'pass' })
  const sts = await StsStandIn.start({ roles: { [ROLE]: { externalId: EXTERNAL_ID } }, lifetimeSeconds: 3 })
  cleanup(() => sts.stop())
  let n = 0
  const announce = async () => {
    const key = cloudTrailKey('444455556666', 'us-east-1', '20261207T2300Z', `obj${String(++n).padStart(12, '0')}`)
    await emu.putLog(key, [{ eventID: `e${n}`, eventName: 'GetObject' }])
    await emu.notify([key])
  }
  // No pause after an empty receive: the receives go on through the refreshes.
  const collector = () => inProcessCollector(emu, proxy.url, { role_arn: ROLE, external_id: EXTERNAL_ID, sts_endpoint: sts.url, cloudtrail_msg_pull_interval: '0' })
  const keyIds = () => requests.map((r) => /Credential=([^/]+)\//.exec(String(r.headers.authorization))?.[1])
  return { emu, sts, requests, announce, collector, keyIds }
}

async function errorCount(metrics: Metrics, stage: string, reason: string): Promise<number> {
  const { values } = await metrics.registry.getSingleMetric('cloudtrail_errors_total')!.get()
  return values.find((v) => v.labels.stage === stage && v.labels.reason === reason)?.value ?? 0
}

describe('run with role_arn', () => {
  it("signs every SQS call and S3 GET with the role's credentials, refreshed once per lifetime", async () => {
    const { emu, sts, requests, announce, collector, keyIds } = await setup()
    const { metrics } = await collector()
    // 7 s: two refreshes or so of 3 s credentials, with objects arriving throughout.
    for (let i = 0; i < 7; i++) {
      await announce()
      await sleep(1000)
    }
    await waitUntil(() => emu.remaining() === 0, 'every message deleted', 20_000)
    expect(metrics.totals.events).toBe(7)
    const issued = new Set(sts.assumeRoleCalls().map((c) => c.issuedKeyId))
    expect(sts.assumeRoleCalls().every((c) => c.status === 200 && c.callerKeyId === credentials.accessKeyId && c.externalId === EXTERNAL_ID)).toBe(true)
    expect(requests.filter((r) => r.service === 's3').length).toBeGreaterThanOrEqual(7)
    // Every request by a key the stand-in issued, none by the base key; more than one key over the run.
    for (const id of keyIds()) expect(issued).toContain(id)
    expect(new Set(keyIds()).size).toBeGreaterThanOrEqual(2)
    expect(sts.assumeRoleCalls().length).toBeLessThanOrEqual(6)
    expect(requests.length).toBeGreaterThan(sts.assumeRoleCalls().length * 2)
    expect(await errorCount(metrics, 'credentials', 'assume_role_failed')).toBe(0)
  }, 40_000)

  it('counts an STS outage under stage credentials once the credentials run out, and writes what waited once STS answers', async () => {
    const { emu, sts, announce, collector } = await setup()
    const { metrics } = await collector()
    await announce()
    await waitUntil(() => emu.remaining() === 0, 'the first message deleted')
    sts.failNext(10_000, 'unavailable')
    await sleep(3500)
    await announce()
    await waitUntil(() => metrics.totals.errors > 0, 'errors counted', 10_000)
    await sleep(1000)
    expect(await errorCount(metrics, 'credentials', 'assume_role_failed')).toBeGreaterThan(0)
    expect(emu.remaining()).toBe(1)
    sts.heal()
    await waitUntil(() => emu.remaining() === 0, 'the waiting message deleted once STS answers', 60_000)
    expect(metrics.totals.events).toBe(2)
  }, 90_000)
})
