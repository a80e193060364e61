// The STS stand-in as the SDK's own STSClient sees it: AssumeRole answered with STS's XML, refusals as STS
// writes them, failures on demand, and each call recorded with the key that signed it.

import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { describe, expect, it } from 'vitest'
import { StsStandIn } from '../../src/emulator/sts-stand-in.ts'
import { cleanup, useCleanup } from '../helpers/cleanup.ts'

useCleanup()

const ROLE = 'arn:aws:iam::444455556666:role/cloudtrail-reader'
const caller = { accessKeyId: 'AKIDBASECALLER', secretAccessKey: 'base-secret-never-shown' }

async function setup(lifetimeSeconds = 3) {
  const sts = await StsStandIn.start({ roles: { [ROLE]: { externalId: 'ext-1234' } }, lifetimeSeconds })
  cleanup(() => sts.stop())
  const client = new STSClient({ region: 'us-east-1', endpoint: sts.url, credentials: caller, maxAttempts: 1 })
  cleanup(async () => client.destroy())
  return { sts, client }
}

describe('StsStandIn', () => {
  it('answers AssumeRole with credentials of its lifetime, each with its own key id, and records the call', async () => {
    const { sts, client } = await setup(3)
    const before = Date.now()
    const a = await client.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'ct-test', ExternalId: 'ext-1234', DurationSeconds: 900 }))
    const b = await client.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'ct-test', ExternalId: 'ext-1234' }))
    expect(a.Credentials?.AccessKeyId).toMatch(/^ASIA\d{16}$/)
    expect(b.Credentials?.AccessKeyId).not.toBe(a.Credentials?.AccessKeyId)
    const expiry = a.Credentials!.Expiration!.getTime()
    expect(expiry - before).toBeGreaterThan(2500)
    expect(expiry - before).toBeLessThan(4000)
    expect(a.AssumedRoleUser?.Arn).toBe('arn:aws:sts::444455556666:assumed-role/cloudtrail-reader/ct-test')
    expect(sts.assumeRoleCalls()).toMatchObject([
      { roleArn: ROLE, roleSessionName: 'ct-test', externalId: 'ext-1234', durationSeconds: 900, callerKeyId: 'AKIDBASECALLER', status: 200, issuedKeyId: a.Credentials?.AccessKeyId },
      { roleArn: ROLE, externalId: 'ext-1234', callerKeyId: 'AKIDBASECALLER', status: 200 },
    ])
    expect(sts.issued.get(a.Credentials!.AccessKeyId!)?.secretAccessKey).toBe(a.Credentials?.SecretAccessKey)
  })

  it('refuses a wrong or missing external id, and an unknown role, with 403 AccessDenied', async () => {
    const { sts, client } = await setup()
    for (const input of [
      { RoleArn: ROLE, RoleSessionName: 's1', ExternalId: 'wrong' },
      { RoleArn: ROLE, RoleSessionName: 's1' },
      { RoleArn: 'arn:aws:iam::444455556666:role/other', RoleSessionName: 's1', ExternalId: 'ext-1234' },
    ]) {
      const err = await client.send(new AssumeRoleCommand(input)).catch((e: unknown) => e as { name: string; message: string; $metadata: { httpStatusCode: number } })
      expect(err).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })
      expect((err as Error).message).toContain(`not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn}`)
    }
    expect(sts.calls.map((c) => c.status)).toEqual([403, 403, 403])
  })

  it('fails the next calls as asked: 503, throttling, a reset connection; then answers again', async () => {
    const { sts, client } = await setup()
    sts.failNext(1, 'unavailable')
    sts.failNext(1, 'throttled')
    sts.failNext(1, 'reset')
    const assume = () => client.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 's1', ExternalId: 'ext-1234' }))
    await expect(assume()).rejects.toMatchObject({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })
    await expect(assume()).rejects.toMatchObject({ name: 'Throttling' })
    await expect(assume()).rejects.toThrow()
    await expect(assume()).resolves.toMatchObject({ Credentials: { AccessKeyId: 'ASIA0000000000000001' } })
    expect(sts.calls.map((c) => c.status)).toEqual([503, 400, 0, 200])
  })
})
