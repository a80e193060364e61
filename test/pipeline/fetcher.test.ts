// The fetcher against a real S3 (fauxqs), in process: what each answer means for the message, transient
// faults ridden out, a stop during the retries, the bytes counted as read, and ExpectedBucketOwner. A proxy in front of fauxqs says what fauxqs cannot: an HTML
// 404 from something that is not S3, an answer without Content-Length, S3's 403 for a wrong owner.

import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { S3Client } from '@aws-sdk/client-s3'
import { describe, expect, it } from 'vitest'
import { errorInfo, type CollectorError } from '../../src/errors.ts'
import { Fetcher, type FetcherOptions } from '../../src/pipeline/fetcher.ts'
import { silentLogger, type Logger } from '../../src/log.ts'
import { S3_OBJECT } from '../../src/retry.ts'
import { WHOLE_OBJECT_BYTES, type ObjectInput } from '../../src/pipeline/pool.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { FaultProxy, type Rule } from '../helpers/fault-proxy.ts'
import { credentials, type Emulator } from '../helpers/fauxqs.ts'
import { capture } from '../helpers/pipeline.ts'

useCleanup()

const KEY = 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/26/111122223333_CloudTrail_us-east-1_20261126T1200Z_abcdefghijklmnop.json.gz'

interface Setup {
  emu: Emulator
  proxy: FaultProxy
  fetcher: Fetcher
  /** What onBytes was told, in total. */
  bytes: () => number
}

async function setup(rule: Rule = () => ({ kind: 'pass' }), options: FetcherOptions & { log?: Logger } = {}): Promise<Setup> {
  const emu = await emulator()
  const proxy = await FaultProxy.start(emu.endpoint)
  cleanup(() => proxy.stop())
  proxy.rule = rule
  const s3 = new S3Client({ endpoint: proxy.url, region: 'us-east-1', credentials, forcePathStyle: true })
  cleanup(async () => s3.destroy())
  let bytes = 0
  const fetcher = new Fetcher(s3, options.log ?? silentLogger(), { endpoint: proxy.url, onBytes: (n) => (bytes += n), ...options })
  return { emu, proxy, fetcher, bytes: () => bytes }
}

async function read(input: ObjectInput): Promise<Buffer> {
  if ('whole' in input) return Buffer.from(input.whole)
  const parts: Uint8Array[] = []
  for await (const chunk of input.chunks) parts.push(chunk)
  return Buffer.concat(parts)
}

async function failure(fetcher: Fetcher, bucket: string, key = KEY): Promise<CollectorError> {
  try {
    await fetcher.open({ bucket, key })
  } catch (err) {
    return err as CollectorError
  }
  throw new Error('open() did not fail')
}

const s3Only = (fault: ReturnType<Rule>): Rule => (r) => (r.service === 's3' ? fault : { kind: 'pass' })

describe('Fetcher: what an S3 answer means for the message', () => {
  it("S3's own NoSuchKey is permanent, asked once", async () => {
    const { emu, proxy, fetcher } = await setup()
    const err = await failure(fetcher, emu.bucket)
    expect(err.code).toBe('ERR_S3_NO_SUCH_KEY')
    expect(err.permanent).toBe(true)
    expect(proxy.count('GET')).toBe(1)
  })

  it.each<[string, { status: number; headers?: Record<string, string>; body: string }]>([
    ['an HTML 404 from a proxy', { status: 404, headers: { 'content-type': 'text/html', server: 'nginx/1.25.3' }, body: '<html><body><h1>404 Not Found</h1></body></html>' }],
    ['an empty 404', { status: 404, body: '' }],
    ['a JSON 404 from a router', { status: 404, headers: { 'content-type': 'application/json' }, body: '{"message":"no route"}' }],
    ['an HTML 403 from a proxy', { status: 403, headers: { 'content-type': 'text/html' }, body: '<html>Forbidden</html>' }],
  ])('%s is transient: retried, logged with the endpoint, never deletes the message', async (_name, answer) => {
    const { emu, proxy, fetcher } = await setup(s3Only({ kind: 'answer', ...answer }))
    await emu.putObject(KEY, gzipSync('{"Records":[]}'))
    const err = await failure(fetcher, emu.bucket)
    expect(err.code).toBe('ERR_S3_TRANSIENT')
    expect(err.permanent).toBe(false)
    expect(err.message).toContain(proxy.url)
    expect(err.message).toContain(`HTTP ${answer.status} without an S3 error code`)
    if (answer.headers?.server) expect(err.message).toContain('nginx/1.25.3')
    expect(err.bucket).toBe(emu.bucket)
    expect(err.key).toBe(KEY)
    // The S3 policy's attempts, one request each.
    expect(proxy.count('GET')).toBe(S3_OBJECT.attempts)
  })

  it('a missing bucket is transient (a wrong region or endpoint says so of every bucket) and names the endpoint', async () => {
    const { proxy, fetcher } = await setup()
    const err = await failure(fetcher, 'no-such-bucket-here')
    expect(err.code).toBe('ERR_S3_NO_SUCH_BUCKET')
    expect(err.permanent).toBe(false)
    expect(err.message).toContain(proxy.url)
  })

  it("S3's AccessDenied stays access_denied, and says a missing key reads so without s3:ListBucket", async () => {
    const { emu, fetcher } = await setup(s3Only({ kind: 'error', status: 403, code: 'AccessDenied' }))
    const err = await failure(fetcher, emu.bucket)
    expect(err.code).toBe('ERR_S3_ACCESS_DENIED')
    expect(err.permanent).toBe(false)
    expect(err.message).toContain('s3:ListBucket')
  })
})

describe('Fetcher: SSE-KMS objects whose key the collector may not use', () => {
  const s3Answer = (code: string, message: string, status = 403): Rule =>
    s3Only({ kind: 'answer', status, headers: { 'content-type': 'application/xml' }, body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>R</RequestId></Error>` })
  const KMS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'

  it.each<[string, Rule, string | null]>([
    [
      'AccessDenied naming kms:Decrypt and the key',
      s3Answer('AccessDenied', `User: arn:aws:sts::111122223333:assumed-role/collector/i-0abc is not authorized to perform: kms:Decrypt on resource: ${KMS_KEY} because no identity-based policy allows the kms:Decrypt action`),
      KMS_KEY,
    ],
    [
      'AccessDenied naming kms:Decrypt, not the key',
      s3Answer('AccessDenied', 'User: arn:aws:sts::111122223333:assumed-role/r/s is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access'),
      null,
    ],
    ['KMS.AccessDeniedException', s3Answer('KMS.AccessDeniedException', 'The ciphertext refers to a customer master key that does not exist'), null],
    ['KMS.DisabledException (a disabled key)', s3Answer('KMS.DisabledException', `${KMS_KEY} is disabled.`, 400), KMS_KEY],
  ])('%s: kms_access_denied, retried later, the key named once in a log line of its own', async (_name, rule, key) => {
    const { log, lines } = capture()
    const { emu, fetcher } = await setup(rule, { log })
    await emu.putObject(KEY, gzipSync('{"Records":[]}'))
    const err = await failure(fetcher, emu.bucket)
    expect(err.code).toBe('ERR_S3_KMS_DENIED')
    expect(errorInfo(err.code)).toMatchObject({ stage: 's3', reason: 'kms_access_denied', fate: 'retry' })
    expect(err.permanent).toBe(false)
    expect(err.message).toContain('kms:Decrypt')
    if (key) expect(err.message).toContain(key)
    await failure(fetcher, emu.bucket)
    const named = lines.filter((l) => l.code === 'ERR_S3_KMS_DENIED')
    expect(named).toHaveLength(1)
    expect(named[0]).toMatchObject({ stage: 's3', bucket: emu.bucket, key: KEY, permission: 'kms:Decrypt', ...(key ? { kmsKey: key } : {}) })
    if (!key) expect(named[0].kmsKey).toBeUndefined()
  })

  it('an AccessDenied that names no KMS action stays access_denied', async () => {
    const { emu, fetcher } = await setup(s3Answer('AccessDenied', 'Access Denied'))
    expect((await failure(fetcher, emu.bucket)).code).toBe('ERR_S3_ACCESS_DENIED')
  })
})

describe('Fetcher: transient faults', () => {
  const body = gzipSync(JSON.stringify({ Records: [{ eventName: 'Transient' }] }))

  it.each<[string, ReturnType<Rule>]>([
    ['a 500', { kind: 'error', status: 500, code: 'InternalError' }],
    ['throttling (503 SlowDown)', { kind: 'error', status: 503, code: 'SlowDown' }],
    ['a connection reset', { kind: 'reset' }],
    ['a body cut short', { kind: 'cut', after: 10 }],
  ])('rides out %s on the first GET and reads the object whole', async (_name, fault) => {
    let gets = 0
    const { emu, proxy, fetcher, bytes } = await setup((r) => (r.service === 's3' && gets++ === 0 ? fault : { kind: 'pass' }))
    await emu.putObject(KEY, body)
    const opened = await fetcher.open({ bucket: emu.bucket, key: KEY })
    expect((await read(opened.input)).equals(body)).toBe(true)
    expect(proxy.faults('GET')).toBe(1)
    expect(proxy.count('GET')).toBe(2)
    // What the cut GET read counts too: the bytes crossed the network.
    expect(bytes()).toBeGreaterThanOrEqual(body.length)
  })

  it('stops retrying when its signal aborts, without another round of GETs', async () => {
    const { emu, proxy, fetcher } = await setup(s3Only({ kind: 'error', status: 500, code: 'InternalError' }))
    await emu.putObject(KEY, body)
    const abort = new AbortController()
    const opening = fetcher.open({ bucket: emu.bucket, key: KEY }, abort.signal)
    const settled = opening.then(
      () => null,
      (err: unknown) => err as CollectorError,
    )
    while (proxy.count('GET') === 0) await new Promise((r) => setTimeout(r, 5))
    const gets = proxy.count('GET')
    const aborted = Date.now()
    abort.abort()
    const err = await settled
    expect(err).not.toBeNull()
    expect(Date.now() - aborted).toBeLessThan(1000)
    expect(proxy.count('GET')).toBeLessThanOrEqual(gets + 1)
  })
})

describe('Fetcher: bytes read', () => {
  const small = gzipSync(JSON.stringify({ Records: [{ eventName: 'Small' }] }))
  // Incompressible, so that the stored object is larger than WHOLE_OBJECT_BYTES.
  const large = gzipSync(randomBytes(WHOLE_OBJECT_BYTES + (1 << 20)), { level: 0 })

  it.each([
    ['small, with Content-Length: read whole', small, 'pass', 'whole'],
    ['large, with Content-Length: streamed', large, 'pass', 'chunks'],
    ['small, without Content-Length: streamed', small, 'no-length', 'chunks'],
    ['large, without Content-Length: streamed', large, 'no-length', 'chunks'],
  ] as const)('%s, every byte counted once', async (_name, body, fault, path) => {
    const { emu, fetcher, bytes } = await setup(s3Only({ kind: fault }))
    await emu.putObject(KEY, body)
    const opened = await fetcher.open({ bucket: emu.bucket, key: KEY })
    expect(path in opened.input).toBe(true)
    expect(opened.size).toBe(fault === 'pass' ? body.length : null)
    expect((await read(opened.input)).equals(body)).toBe(true)
    // An answer without Content-Length used to count 2^53 - 1 bytes.
    expect(bytes()).toBe(body.length)
  })

  it('counts what was read of a body cut short', async () => {
    const { emu, fetcher, bytes } = await setup(s3Only({ kind: 'cut', after: 1 << 20 }))
    await emu.putObject(KEY, large)
    const opened = await fetcher.open({ bucket: emu.bucket, key: KEY })
    await expect(read(opened.input)).rejects.toThrow()
    expect(bytes()).toBeGreaterThan(0)
    expect(bytes()).toBeLessThanOrEqual(1 << 20)
  })
})

describe('Fetcher: ExpectedBucketOwner (bucket_owner)', () => {
  const OWNER = '111122223333'
  const OTHER = '999988887777'

  /** S3's answer to ExpectedBucketOwner: 403 AccessDenied unless it names the bucket's owner. */
  const ownedBy = (owner: string): Rule => (r) => {
    if (r.service !== 's3') return { kind: 'pass' }
    const expected = r.headers['x-amz-expected-bucket-owner']
    return expected === undefined || expected === owner ? { kind: 'pass' } : { kind: 'error', status: 403, code: 'AccessDenied' }
  }

  it('sends the owner of the bucket, or the one for every bucket, and nothing without bucket_owner', async () => {
    const sent: (string | undefined)[] = []
    const { emu, proxy, fetcher } = await setup(() => ({ kind: 'pass' }), { owners: new Map([['*', OWNER], ['cloudtrail-other', OTHER]]) })
    proxy.rule = (r) => {
      if (r.service === 's3') sent.push(r.headers['x-amz-expected-bucket-owner'] as string | undefined)
      return { kind: 'pass' }
    }
    await emu.putObject(KEY, gzipSync('{"Records":[]}'))
    await read((await fetcher.open({ bucket: emu.bucket, key: KEY })).input)
    await failure(fetcher, 'cloudtrail-other')
    const s3 = new S3Client({ endpoint: proxy.url, region: 'us-east-1', credentials, forcePathStyle: true })
    cleanup(async () => s3.destroy())
    const plain = new Fetcher(s3, silentLogger())
    await read((await plain.open({ bucket: emu.bucket, key: KEY })).input)
    expect(sent).toEqual([OWNER, OTHER, undefined])
  })

  it('reads a bucket of the right owner', async () => {
    const { emu, fetcher } = await setup(ownedBy(OWNER), { owners: new Map([['*', OWNER]]) })
    const body = gzipSync('{"Records":[{"eventName":"Owned"}]}')
    await emu.putObject(KEY, body)
    expect((await read((await fetcher.open({ bucket: emu.bucket, key: KEY })).input)).equals(body)).toBe(true)
  })

  it('reports a bucket of another owner as bucket_owner_mismatch, transient, without reading it', async () => {
    const { emu, proxy, fetcher, bytes } = await setup(ownedBy(OTHER), { owners: new Map([['*', OWNER]]) })
    await emu.putObject(KEY, gzipSync('{"Records":[{"eventName":"TakenOver"}]}'))
    const err = await failure(fetcher, emu.bucket)
    expect(err.code).toBe('ERR_S3_WRONG_OWNER')
    expect(err.reason).toBe('bucket_owner_mismatch')
    expect(err.permanent).toBe(false)
    expect(err.message).toContain(OWNER)
    expect(err.bucket).toBe(emu.bucket)
    // One GET, denied; one HEAD without the owner to tell a wrong owner from a missing permission.
    expect(proxy.count('GET')).toBe(1)
    expect(proxy.count('HEAD')).toBe(1)
    expect(bytes()).toBe(0)
  })

  it('keeps access_denied when the bucket denies the HEAD too (a missing permission, or a missing key)', async () => {
    const { emu, fetcher } = await setup(s3Only({ kind: 'error', status: 403, code: 'AccessDenied' }), { owners: new Map([['*', OWNER]]) })
    const err = await failure(fetcher, emu.bucket)
    expect(err.code).toBe('ERR_S3_ACCESS_DENIED')
  })

  it('has its own reason in the error table', () => {
    expect(errorInfo('ERR_S3_WRONG_OWNER')).toMatchObject({ code: 'ERR_S3_WRONG_OWNER', stage: 's3', reason: 'bucket_owner_mismatch', fate: 'retry', permanent: false })
  })
})
