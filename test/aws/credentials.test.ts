// A source's credentials against the STS stand-in (the only STS there is here: fauxqs has none), with
// lifetimes of 2–3 s: refreshed ahead of their expiry, one AssumeRole for concurrent callers, the external
// id sent, refusals and outages reported in state(), old credentials served through a failing refresh
// until they expire, and recovery.

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { credentialProvider, refreshPlan, type AwsCredentials, type CredentialOptions } from '../../src/aws/credentials.ts'
import { StsStandIn } from '../../src/emulator/sts-stand-in.ts'
import type { CollectorError } from '../../src/errors.ts'
import { cleanup, useCleanup } from '../helpers/cleanup.ts'

useCleanup()

const ROLE = 'arn:aws:iam::444455556666:role/cloudtrail-reader'
const EXTERNAL_ID = 'tenant-acme-7f3a'
const base = { accessKeyId: 'AKIDBASESOURCE', secretAccessKey: 'base-secret-must-never-appear-91c2' }
/** Short waits between failed AssumeRole calls, so that a test sees several. */
const retry = { attempts: Infinity, firstMs: 100, maxMs: 200 }

async function setup(lifetimeSeconds: number, options: Partial<CredentialOptions> = {}) {
  const sts = await StsStandIn.start({ roles: { [ROLE]: { externalId: EXTERNAL_ID } }, lifetimeSeconds })
  cleanup(() => sts.stop())
  const failures: CollectorError[] = []
  const refreshes: Date[] = []
  const provider = credentialProvider({
    ...base,
    roleArn: ROLE,
    externalId: EXTERNAL_ID,
    stsEndpoint: sts.url,
    region: 'us-east-1',
    retry,
    onFailure: (err) => failures.push(err),
    onRefresh: (expiration) => refreshes.push(expiration),
    ...options,
  })
  cleanup(async () => provider.close())
  /** The credentials, checked against what the stand-in issued: the role's, and not expired when handed out. */
  const get = async (): Promise<AwsCredentials> => {
    const c = await provider()
    const issued = sts.issued.get(c.accessKeyId)
    expect(issued, c.accessKeyId).toBeDefined()
    expect(c).toMatchObject({ secretAccessKey: issued!.secretAccessKey, sessionToken: issued!.sessionToken })
    expect(issued!.expiration.getTime(), `${c.accessKeyId} handed out expired`).toBeGreaterThan(Date.now())
    return c
  }
  return { sts, provider, get, failures, refreshes }
}

describe('refreshPlan', () => {
  it("refreshes at 80 % of the lifetime, at least 5 minutes ahead for long ones, and hands out until 10 % (at most 30 s) before the expiry", () => {
    const min = 60_000
    const plan = (lifetimeMs: number) => {
      const p = refreshPlan(new Date(lifetimeMs), 0)
      return [p.refreshAt, p.usableUntil]
    }
    expect(plan(60 * min)).toEqual([48 * min, 60 * min - 30_000])
    expect(plan(15 * min)).toEqual([10 * min, 15 * min - 30_000])
    expect(plan(12 * 60 * min)).toEqual([576 * min, 12 * 60 * min - 30_000])
    expect(plan(2000)).toEqual([1600, 1800])
  })
})

describe('credentialProvider with roleArn', () => {
  it('refreshes ahead of the expiry: no caller gets expired credentials, and AssumeRole is called about once per lifetime', async () => {
    const { sts, get, refreshes, provider } = await setup(2)
    const keys = new Set<string>()
    let calls = 0
    const end = Date.now() + 5000
    while (Date.now() < end) {
      keys.add((await get()).accessKeyId)
      calls++
      await sleep(10)
    }
    // A refresh the last call started may still be on its way: let it land, and take its keys.
    await sleep(300)
    keys.add((await get()).accessKeyId)
    const assumed = sts.assumeRoleCalls().length
    // 5 s of 2 s credentials refreshed at 80 %: the first, then one every ~1.6 s.
    expect(calls).toBeGreaterThan(200)
    expect(assumed).toBeGreaterThanOrEqual(3)
    expect(assumed).toBeLessThanOrEqual(5)
    expect(keys.size).toBe(assumed)
    expect(refreshes).toHaveLength(assumed)
    expect(provider.state()).toMatchObject({ status: 'ok', role: ROLE, expiration: refreshes.at(-1) })
  })

  it('shares one AssumeRole among 50 concurrent callers, sending the external id and the session name, signed with the base keys', async () => {
    const { sts, get } = await setup(3)
    const all = await Promise.all(Array.from({ length: 50 }, () => get()))
    expect(new Set(all.map((c) => c.accessKeyId)).size).toBe(1)
    expect(sts.assumeRoleCalls()).toMatchObject([{ roleArn: ROLE, externalId: EXTERNAL_ID, roleSessionName: 'cloudtrail-ingest', callerKeyId: base.accessKeyId, status: 200 }])
    // And once they are due, concurrent callers get them at once while one refresh runs.
    await sleep(2500)
    const again = await Promise.all(Array.from({ length: 50 }, () => get()))
    expect(new Set(again.map((c) => c.accessKeyId))).toEqual(new Set([all[0].accessKeyId]))
    await sleep(100)
    expect(sts.assumeRoleCalls()).toHaveLength(2)
    expect((await get()).accessKeyId).not.toBe(all[0].accessKeyId)
  })

  it('reports a refused external id in state(), with the role, and calls STS again only after the backoff', async () => {
    const { sts, provider, failures } = await setup(3, { externalId: 'not-the-tenant', roleSessionName: 'ct-acme' })
    const err = await provider().catch((e: unknown) => e as CollectorError)
    expect(err).toMatchObject({ code: 'ERR_STS_ASSUME_ROLE', stage: 'credentials', reason: 'assume_role_failed' })
    expect((err as Error).message).toContain(ROLE)
    expect((err as Error).message).toContain('AccessDenied')
    expect(provider.state()).toMatchObject({ status: 'failing', role: ROLE, error: { code: 'AccessDenied' } })
    expect(provider.state()).not.toHaveProperty('expiration')
    // Between two attempts callers get the failure at once.
    await expect(provider()).rejects.toBe(err)
    expect(sts.assumeRoleCalls()).toMatchObject([{ externalId: 'not-the-tenant', roleSessionName: 'ct-acme', status: 403 }])
    expect(failures).toEqual([err])
    // Nothing secret in what is reported.
    expect(JSON.stringify(provider.state()) + (err as Error).message).not.toContain(base.secretAccessKey)
    await sleep(retry.maxMs + 50)
    await expect(provider()).rejects.toMatchObject({ code: 'ERR_STS_ASSUME_ROLE' })
    expect(sts.assumeRoleCalls()).toHaveLength(2)
  })

  it('serves still-valid credentials through a failing refresh, fails once they expire, and recovers when STS answers again', async () => {
    // 5 s credentials: refreshed from 4 s on, handed out until 0.5 s before they expire (10 % of the
    // lifetime), so the window in between holds on a loaded host too.
    const { sts, provider, get, failures } = await setup(5)
    const first = await get()
    const expiry = sts.issued.get(first.accessKeyId)!.expiration.getTime()
    sts.failNext(1000, 'unavailable')
    // Past the refresh (80 % of the lifetime) and up to the margin before the expiry: the old ones, every time.
    await sleep(Math.max(0, expiry - 1000 - Date.now()) + 50)
    do {
      expect((await get()).accessKeyId).toBe(first.accessKeyId)
      await sleep(20)
    } while (Date.now() < expiry - 600)
    expect(failures.length).toBeGreaterThanOrEqual(1)
    expect(provider.state()).toMatchObject({ status: 'failing', role: ROLE, expiration: new Date(expiry), error: { code: 'ServiceUnavailable' } })
    // Expired: the failure, and STS still called only as the backoff allows (not for each of these calls).
    await sleep(Math.max(expiry - Date.now(), 0) + 50)
    for (let i = 0; i < 20; i++) {
      await expect(provider()).rejects.toMatchObject({ code: 'ERR_STS_ASSUME_ROLE' })
      await sleep(10)
    }
    const attempts = sts.assumeRoleCalls().length - 1
    expect(attempts).toBeLessThanOrEqual(8)
    expect(failures).toHaveLength(attempts)
    sts.heal()
    await sleep(retry.maxMs + 50)
    const next = await get()
    expect(next.accessKeyId).not.toBe(first.accessKeyId)
    expect(provider.state()).toMatchObject({ status: 'ok', role: ROLE, expiration: sts.issued.get(next.accessKeyId)!.expiration })
  })
})

describe('credentialProvider with a profile', () => {
  it("reads the profile from the shared files, and signs AssumeRole with it when there is a role", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ct-aws-'))
    writeFileSync(join(dir, 'credentials'), '[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n\n[audit]\naws_access_key_id = AKIDPROFILEAUDIT\naws_secret_access_key = profile-secret\n')
    writeFileSync(join(dir, 'config'), '[default]\nregion = us-east-1\n')
    const saved = { creds: process.env.AWS_SHARED_CREDENTIALS_FILE, config: process.env.AWS_CONFIG_FILE, profile: process.env.AWS_PROFILE }
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials')
    process.env.AWS_CONFIG_FILE = join(dir, 'config')
    delete process.env.AWS_PROFILE
    cleanup(async () => {
      for (const [name, value] of [['AWS_SHARED_CREDENTIALS_FILE', saved.creds], ['AWS_CONFIG_FILE', saved.config], ['AWS_PROFILE', saved.profile]] as const) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
    })
    const alone = credentialProvider({ profile: 'audit', region: 'us-east-1' })
    await expect(alone()).resolves.toMatchObject({ accessKeyId: 'AKIDPROFILEAUDIT', secretAccessKey: 'profile-secret' })
    expect(alone.state()).toEqual({ status: 'ok' })
    const { sts, get } = await setup(3, { accessKeyId: undefined, secretAccessKey: undefined, profile: 'audit' })
    await get()
    expect(sts.assumeRoleCalls()).toMatchObject([{ callerKeyId: 'AKIDPROFILEAUDIT', status: 200 }])
  })
})

describe('credentialProvider without roleArn', () => {
  it('hands out the static keys, always ok', async () => {
    const provider = credentialProvider({ ...base, sessionToken: 'tok', region: 'us-east-1' })
    await expect(provider()).resolves.toEqual({ ...base, sessionToken: 'tok' })
    expect(provider.state()).toEqual({ status: 'ok' })
  })
})
