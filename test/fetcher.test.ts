// The fetcher against a real S3 (fauxqs), in process: what each answer means for the message. A proxy
// in front of fauxqs says what fauxqs cannot: an HTML 404 from something that is not S3.

import { gzipSync } from 'node:zlib'
import { S3Client } from '@aws-sdk/client-s3'
import { describe, expect, it } from 'vitest'
import type { CollectorError } from '../src/errors.ts'
import { Fetcher, type FetcherOptions } from '../src/fetcher.ts'
import { silentLogger } from '../src/log.ts'
import { cleanup, emulator, useCleanup } from './helpers/cleanup.ts'
import { FaultProxy, type Rule } from './helpers/fault-proxy.ts'
import { credentials, type Emulator } from './helpers/fauxqs.ts'

useCleanup()

const KEY = 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/26/111122223333_CloudTrail_us-east-1_20261126T1200Z_abcdefghijklmnop.json.gz'

interface Setup {
  emu: Emulator
  proxy: FaultProxy
  fetcher: Fetcher
}

async function setup(rule: Rule = () => ({ kind: 'pass' }), options: FetcherOptions = {}): Promise<Setup> {
  const emu = await emulator()
  const proxy = await FaultProxy.start(emu.endpoint)
  cleanup(() => proxy.stop())
  proxy.rule = rule
  const s3 = new S3Client({ endpoint: proxy.url, region: 'us-east-1', credentials, forcePathStyle: true })
  cleanup(async () => s3.destroy())
  const fetcher = new Fetcher(s3, silentLogger(), { endpoint: proxy.url, ...options })
  return { emu, proxy, fetcher }
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
    // The fetcher's three attempts.
    expect(proxy.count('GET')).toBe(3)
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
