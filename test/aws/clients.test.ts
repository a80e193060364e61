// The clients as run.ts builds them (createClients over loadConfig), against fauxqs with a recording
// proxy in front of it and the STS stand-in: with role_arn, the lean S3 GET and the SQS calls are signed
// with the role's credentials (the key id the stand-in issued, its session token), and follow them when
// they are refreshed; without, with the static keys as before. fauxqs does not check signatures: the
// proxy shows which credentials signed each request.

import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { createClients } from '../../src/aws/clients.ts'
import { S3ObjectClient, type S3Object } from '../../src/aws/s3-client.ts'
import { loadConfig, type RawSettings } from '../../src/config.ts'
import { StsStandIn } from '../../src/emulator/sts-stand-in.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { FaultProxy, type ProxiedRequest } from '../helpers/fault-proxy.ts'
import { credentials } from '../helpers/fauxqs.ts'

useCleanup()

const ROLE = 'arn:aws:iam::444455556666:role/cloudtrail-reader'
const KEY = 'AWSLogs/444455556666/CloudTrail/us-east-1/2026/12/07/444455556666_CloudTrail_us-east-1_20261207T2300Z_abcdefghijklmnop.json.gz'

async function setup(extra: RawSettings) {
  const emu = await emulator()
  const proxy = await FaultProxy.start(emu.endpoint)
  cleanup(() => proxy.stop())
  const requests: ProxiedRequest[] = []
  proxy.rule = (r) => (requests.push(r), { kind: 'pass' })
  await emu.putObject(KEY, 'the object')
  const flags: RawSettings = {
    queue_url: emu.queueUrl.replace(emu.endpoint, proxy.url),
    region: 'us-east-1',
    bucket: [emu.bucket],
    endpoint: proxy.url,
    access_key_id: credentials.accessKeyId,
    secret_key: credentials.secretAccessKey,
    ...extra,
  }
  const loaded = loadConfig('run', flags, {})
  const config = loaded.sources[0]
  const clients = createClients(config, 4, loaded.proxy)
  cleanup(async () => clients.destroy())
  const s3 = new S3ObjectClient(clients.s3, { dispatcher: clients.s3Dispatcher })
  const get = async () => text(await s3.get(emu.bucket, KEY, { wholeBytes: 1 << 20, chunkBytes: 64 << 10, onBytes: () => {} }))
  const attributes = () => clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: config.queueUrl, AttributeNames: ['VisibilityTimeout'] }))
  /** The key id that signed each request of `service`, and its session token, in order. */
  const signers = (service: 's3' | 'sqs') =>
    requests.filter((r) => r.service === service).map((r) => ({ keyId: /Credential=([^/]+)\//.exec(String(r.headers.authorization))?.[1], token: r.headers['x-amz-security-token'] }))
  return { emu, clients, get, attributes, signers }
}

async function text(object: S3Object): Promise<string> {
  if ('whole' in object) return Buffer.from(object.whole).toString()
  const parts: Uint8Array[] = []
  for await (const chunk of object.chunks) parts.push(chunk)
  return Buffer.concat(parts).toString()
}

describe('createClients', () => {
  it("with role_arn: the lean S3 GET and SQS are signed with the role's credentials, and follow their refresh", async () => {
    const sts = await StsStandIn.start({ roles: { [ROLE]: { externalId: 'tenant-acme' } }, lifetimeSeconds: 2 })
    cleanup(() => sts.stop())
    const { clients, get, attributes, signers } = await setup({ role_arn: ROLE, external_id: 'tenant-acme', sts_endpoint: sts.url })
    expect(await get()).toBe('the object')
    await attributes()
    const [first] = sts.assumeRoleCalls()
    expect(first).toMatchObject({ roleArn: ROLE, externalId: 'tenant-acme', roleSessionName: 'cloudtrail-ingest', callerKeyId: credentials.accessKeyId, status: 200 })
    const issued = sts.issued.get(first.issuedKeyId!)!
    expect(signers('s3')).toEqual([{ keyId: issued.accessKeyId, token: issued.sessionToken }])
    expect(signers('sqs')).toEqual([{ keyId: issued.accessKeyId, token: issued.sessionToken }])
    expect(clients.credentials?.state()).toMatchObject({ status: 'ok', role: ROLE, expiration: issued.expiration })
    // Past the refresh: the next GET is signed with the new credentials, without anything told to the S3 client.
    await sleep(1700)
    await get()
    await sleep(100)
    expect(await get()).toBe('the object')
    const keys = signers('s3').map((s) => s.keyId)
    expect(sts.assumeRoleCalls()).toHaveLength(2)
    expect(keys.at(-1)).toBe(sts.assumeRoleCalls()[1].issuedKeyId)
    expect(keys.at(-1)).not.toBe(issued.accessKeyId)
  })

  it('with a role that cannot be assumed: the GET and the SQS call fail with ERR_STS_ASSUME_ROLE, naming the role, and state() says so', async () => {
    const sts = await StsStandIn.start({ roles: { [ROLE]: { externalId: 'tenant-acme' } }, lifetimeSeconds: 2 })
    cleanup(() => sts.stop())
    const { clients, get, attributes, signers } = await setup({ role_arn: ROLE, external_id: 'tenant-other', sts_endpoint: sts.url })
    await expect(get()).rejects.toMatchObject({ code: 'ERR_STS_ASSUME_ROLE', message: expect.stringContaining(ROLE) })
    await expect(attributes()).rejects.toMatchObject({ code: 'ERR_STS_ASSUME_ROLE', message: expect.stringContaining('AccessDenied') })
    expect(signers('s3')).toEqual([])
    expect(signers('sqs')).toEqual([])
    expect(clients.credentials?.state()).toMatchObject({ status: 'failing', role: ROLE, error: { code: 'AccessDenied' } })
  })

  it('without a role or profile: the static keys sign, as before, and there is no provider to watch', async () => {
    const { clients, get, attributes, signers } = await setup({})
    expect(await get()).toBe('the object')
    await attributes()
    expect(clients.credentials).toBeUndefined()
    expect(signers('s3')).toEqual([{ keyId: credentials.accessKeyId, token: undefined }])
    expect(signers('sqs')).toEqual([{ keyId: credentials.accessKeyId, token: undefined }])
  })
})
