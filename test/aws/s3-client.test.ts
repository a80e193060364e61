// The lean S3 client against a real S3 (fauxqs), with the fault proxy in front of it for what fauxqs does
// not say (S3's error answers, redirects, a skewed clock, resets, stalled and slow bodies) and to see what
// went over the wire. fauxqs does not check signatures: every request the proxy sees is checked here
// against the SDK's own signer (@smithy/signature-v4) with the keys it names.

import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import type { IncomingHttpHeaders } from 'node:http'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { gzipSync } from 'node:zlib'
import { GetObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import { SignatureV4 } from '@smithy/signature-v4'
import { Agent } from 'undici'
import { describe, expect, it } from 'vitest'
import { Fetcher } from '../../src/pipeline/fetcher.ts'
import { silentLogger } from '../../src/log.ts'
import { S3_OBJECT } from '../../src/retry.ts'
import { MAX_TARGETS, s3Agent, S3Error, S3ObjectClient, type GetOptions, type RegionRedirect, type S3ClientOptions, type S3Object } from '../../src/aws/s3-client.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { FaultProxy, type ProxiedRequest, type Rule } from '../helpers/fault-proxy.ts'
import { credentials, type Emulator } from '../helpers/fauxqs.ts'
import { capture } from '../helpers/pipeline.ts'
import { regionStandIn, type Answer, type RegionStandIn } from '../helpers/region-stand-in.ts'
import { Sha256 } from '../../bench/lib/smithy-sha256.ts'

useCleanup()

const KEY = 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/26/111122223333_CloudTrail_us-east-1_20261126T1200Z_abcdefghijklmnop.json.gz'
const BODY = gzipSync(JSON.stringify({ Records: Array.from({ length: 50 }, (_, i) => ({ eventID: String(i), eventName: 'GetObject' })) }))
const pass: Rule = () => ({ kind: 'pass' })


/** Does the request carry the signature the SDK's signer gives it, with the secret of the key it names? */
async function signedRight(r: ProxiedRequest, secrets: ReadonlyMap<string, string>): Promise<string | null> {
  const auth = String(r.headers.authorization ?? '')
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/s3\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/.exec(auth)
  if (!m) return `malformed authorization: ${auth}`
  const [, keyId, region, names] = m
  const secret = secrets.get(keyId)
  if (secret === undefined) return `unknown key ${keyId}`
  const headers: Record<string, string> = {}
  for (const name of names.split(';')) headers[name] = String(r.headers[name])
  const stamp = String(r.headers['x-amz-date'])
  const date = new Date(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`)
  const token = r.headers['x-amz-security-token']
  const signer = new SignatureV4({ credentials: { accessKeyId: keyId, secretAccessKey: secret, sessionToken: typeof token === 'string' ? token : undefined }, region, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false })
  const host = headers.host
  const signed = await signer.sign({ method: r.action, protocol: 'http:', hostname: host, path: r.path, query: {}, headers }, { signingDate: date })
  return signed.headers.authorization === auth ? null : `signature differs for ${r.action} ${r.path}`
}

interface Setup {
  emu: Emulator
  proxy: FaultProxy
  client: S3ObjectClient
  /** A fetcher over the same SDK client and pool: the S3 policy's retries. */
  fetcher: Fetcher
  /** Every S3 request the proxy saw, in order. */
  requests: ProxiedRequest[]
  /** Resolves to the requests whose signature is wrong (none, when all is well). */
  badSignatures: () => Promise<string[]>
}

async function setup(rule: Rule = pass, sdk: Partial<S3ClientConfig> = {}, options: S3ClientOptions = {}, secrets = new Map([[credentials.accessKeyId, credentials.secretAccessKey]])): Promise<Setup> {
  const emu = await emulator()
  const proxy = await FaultProxy.start(emu.endpoint)
  cleanup(() => proxy.stop())
  const requests: ProxiedRequest[] = []
  const checks: Promise<string | null>[] = []
  proxy.rule = (r) => {
    if (r.service === 's3' && (r.action === 'GET' || r.action === 'HEAD') && r.headers['user-agent'] === 'cloudtrail-ingest') {
      requests.push(r)
      checks.push(signedRight(r, secrets))
    }
    return rule(r)
  }
  const s3 = new S3Client({ endpoint: proxy.url, region: 'us-east-1', credentials, forcePathStyle: true, ...sdk })
  cleanup(async () => s3.destroy())
  const dispatcher = options.dispatcher ?? s3Agent(4)
  cleanup(() => dispatcher.destroy())
  const client = new S3ObjectClient(s3, { ...options, dispatcher })
  const fetcher = new Fetcher(s3, silentLogger(), { endpoint: proxy.url, dispatcher })
  return { emu, proxy, client, fetcher, requests, badSignatures: async () => (await Promise.all(checks)).filter((x): x is string => x !== null) }
}

function options(extra: Partial<GetOptions> = {}): GetOptions & { bytes: () => number } {
  let bytes = 0
  return { wholeBytes: 1 << 20, chunkBytes: 256 << 10, onBytes: (n) => (bytes += n), bytes: () => bytes, ...extra }
}

async function read(object: S3Object): Promise<Buffer> {
  if ('whole' in object) return Buffer.from(object.whole)
  const parts: Uint8Array[] = []
  for await (const chunk of object.chunks) parts.push(chunk)
  return Buffer.concat(parts)
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise
  } catch (err) {
    return err as Error & { code?: string }
  }
  throw new Error('did not fail')
}

const s3Only = (fault: ReturnType<Rule>): Rule => (r) => (r.service === 's3' ? fault : { kind: 'pass' })
/** The first `n` S3 requests get `fault`, the others pass. */
const firstS3 = (n: number, fault: ReturnType<Rule> | ((i: number) => ReturnType<Rule>)): Rule => {
  let i = 0
  return (r) => (r.service === 's3' && i < n ? (typeof fault === 'function' ? fault(i++) : (i++, fault)) : { kind: 'pass' })
}
const xmlError = (status: number, code: string, message: string, headers: IncomingHttpHeaders = {}) => {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>R</RequestId></Error>`
  return { kind: 'answer' as const, status, headers: { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(body)), ...headers }, body }
}

describe('S3ObjectClient: the request', () => {
  it("signs every GET and HEAD as the SDK does, and names keys with odd characters as the SDK's GetObject does", async () => {
    const { emu, proxy, client, requests, badSignatures } = await setup()
    const keys = [KEY, "AWSLogs/odd key+plus/€uro/!'()*~_.json.gz", 'AWSLogs/percent%2Fslash/%41.json.gz', 'AWSLogs/ünï/日本語/x.json.gz', 'AWSLogs/a//double.json.gz']
    for (const key of keys) await emu.putObject(key, BODY)
    for (const key of keys) {
      const o = options()
      expect((await read(await client.get(emu.bucket, key, o))).equals(BODY), key).toBe(true)
      expect(o.bytes()).toBe(BODY.length)
      await client.head(emu.bucket, key)
    }
    expect(await badSignatures()).toEqual([])
    // The SDK's own GetObject through the same proxy names each key by the same path.
    const sdkPaths: string[] = []
    proxy.rule = (r) => {
      if (r.service === 's3') sdkPaths.push(r.path)
      return { kind: 'pass' }
    }
    const sdk = new S3Client({ endpoint: proxy.url, region: 'us-east-1', credentials, forcePathStyle: true })
    cleanup(async () => sdk.destroy())
    for (const key of keys) await (await sdk.send(new GetObjectCommand({ Bucket: emu.bucket, Key: key }))).Body?.transformToByteArray()
    expect(requests.filter((r) => r.action === 'GET').map((r) => r.path)).toEqual(sdkPaths.map((p) => p.replace(/\?.*$/, '')))
  })

  it('sends ExpectedBucketOwner and a session token, signed; the provider\'s new keys once the old ones near their expiry', async () => {
    const secrets = new Map([
      ['AKIDFIRST', 'first-secret'],
      ['AKIDSECOND', 'second-secret'],
    ])
    let id = 'AKIDFIRST'
    // Keys that expire within the SDK's refresh window (5 minutes) are asked for again before a request.
    const provider = async () => ({ accessKeyId: id, secretAccessKey: secrets.get(id)!, sessionToken: `token-of-${id}`, expiration: new Date(Date.now() + 60_000) })
    const { emu, client, requests, badSignatures } = await setup(pass, { credentials: provider }, {}, secrets)
    await emu.putObject(KEY, BODY)
    await read(await client.get(emu.bucket, KEY, options({ owner: '111122223333' })))
    id = 'AKIDSECOND'
    await read(await client.get(emu.bucket, KEY, options()))
    expect(requests.map((r) => /Credential=(\w+)\//.exec(String(r.headers.authorization))?.[1])).toEqual(['AKIDFIRST', 'AKIDSECOND'])
    expect(requests.map((r) => r.headers['x-amz-security-token'])).toEqual(['token-of-AKIDFIRST', 'token-of-AKIDSECOND'])
    expect(requests.map((r) => r.headers['x-amz-expected-bucket-owner'])).toEqual(['111122223333', undefined])
    expect(String(requests[0].headers.authorization)).toContain('x-amz-expected-bucket-owner')
    expect(await badSignatures()).toEqual([])
  })

  it('virtual-hosted style without s3_force_path_style: the bucket in the host name, over the dispatcher it is given', async () => {
    const body = 'virtual-hosted body'
    const { proxy, requests, badSignatures } = await setup(s3Only({ kind: 'answer', status: 200, headers: { 'content-length': String(body.length) }, body }))
    const port = new URL(proxy.url).port
    // The SDK's rules put the bucket in the host of a named endpoint; the dispatcher resolves every name here.
    const s3 = new S3Client({ endpoint: `http://s3.example.test:${port}`, region: 'eu-west-1', credentials, forcePathStyle: false })
    cleanup(async () => s3.destroy())
    const looked: string[] = []
    const dispatcher = new Agent({
      connect: {
        lookup: (hostname: string, _options: unknown, callback: (err: Error | null, address: { address: string; family: number }[]) => void) => {
          looked.push(hostname)
          callback(null, [{ address: '127.0.0.1', family: 4 }])
        },
      },
    })
    cleanup(() => dispatcher.destroy())
    const virtual = new S3ObjectClient(s3, { dispatcher })
    expect((await read(await virtual.get('cloudtrail-logs', KEY, options()))).toString()).toBe(body)
    expect(looked).toEqual(['cloudtrail-logs.s3.example.test'])
    expect(requests).toHaveLength(1)
    expect(requests[0].headers.host).toBe(`cloudtrail-logs.s3.example.test:${port}`)
    expect(requests[0].path).toBe(`/${KEY}`)
    expect(String(requests[0].headers.authorization)).toContain('/eu-west-1/s3/aws4_request')
    expect(await badSignatures()).toEqual([])
  })

  it('path-style under an endpoint with a path of its own', async () => {
    const body = 'behind a path'
    const { proxy, requests, badSignatures } = await setup(s3Only({ kind: 'answer', status: 200, headers: { 'content-length': String(body.length) }, body }))
    const s3 = new S3Client({ endpoint: `${proxy.url}/store/`, region: 'us-east-1', credentials, forcePathStyle: true })
    cleanup(async () => s3.destroy())
    const client = new S3ObjectClient(s3)
    cleanup(() => client.close())
    expect((await read(await client.get('cloudtrail-logs', KEY, options()))).toString()).toBe(body)
    expect(requests[0].path).toBe(`/store/cloudtrail-logs/${KEY}`)
    expect(await badSignatures()).toEqual([])
  })
})

async function opened(fetcher: Fetcher, bucket: string): Promise<Buffer> {
  const { input } = await fetcher.open({ bucket, key: KEY })
  return 'whole' in input ? Buffer.from(input.whole) : read({ size: null, chunks: input.chunks, etag: null })
}

describe('S3ObjectClient: one request per call; the S3 policy (the fetcher) tries the object again', () => {
  it('5xx and throttling: the client asks once, the fetcher again, backed off, up to the policy\'s attempts', async () => {
    const { emu, client, fetcher, requests } = await setup(firstS3(3, (i) => (i === 1 ? xmlError(500, 'InternalError', 'oops') : xmlError(503, 'SlowDown', 'Please reduce your request rate.'))))
    await emu.putObject(KEY, BODY)
    expect(await rejection(client.get(emu.bucket, KEY, options()))).toMatchObject({ status: 503, code: 'SlowDown' })
    expect(requests).toHaveLength(1)
    const started = Date.now()
    expect((await opened(fetcher, emu.bucket)).equals(BODY)).toBe(true)
    expect(requests).toHaveLength(4)
    // Waits of 100–200 ms, then 200–400 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(300)

    const always = await setup(s3Only(xmlError(503, 'SlowDown', 'Please reduce your request rate.')))
    await always.emu.putObject(KEY, BODY)
    const err = await rejection(always.fetcher.open({ bucket: always.emu.bucket, key: KEY }))
    expect(err).toMatchObject({ code: 'ERR_S3_TRANSIENT' })
    expect(err.message).toContain('SlowDown (HTTP 503)')
    expect(always.requests).toHaveLength(S3_OBJECT.attempts)
  })

  it('a connection reset before the answer: the fetcher asks again', async () => {
    const { emu, fetcher, requests } = await setup(firstS3(1, { kind: 'reset' }))
    await emu.putObject(KEY, BODY)
    expect((await opened(fetcher, emu.bucket)).equals(BODY)).toBe(true)
    expect(requests).toHaveLength(2)
  })

  it.each<[string, Rule, number, string | undefined]>([
    ['NoSuchKey', pass, 404, 'NoSuchKey'],
    ['AccessDenied', s3Only(xmlError(403, 'AccessDenied', 'Access Denied')), 403, 'AccessDenied'],
    ['a 404 without an S3 code', s3Only({ kind: 'answer', status: 404, headers: { 'content-type': 'text/html' }, body: '<html>Not Found</html>' }), 404, undefined],
    ['SignatureDoesNotMatch with our clock right', s3Only(xmlError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match')), 403, 'SignatureDoesNotMatch'],
  ])('does not retry %s', async (_name, rule, status, code) => {
    const { emu, client, requests } = await setup(rule)
    const err = await rejection(client.get(emu.bucket, 'AWSLogs/missing.json.gz', options()))
    expect(err).toBeInstanceOf(S3Error)
    expect(err).toMatchObject({ status, code })
    expect(requests).toHaveLength(1)
  })

  it('asks once for a body cut short (the fetcher retries the object), and counts what was read', async () => {
    // Cut far enough in that the answer has surely been read (a reset can take unread bytes with it).
    const { emu, client, requests } = await setup(s3Only({ kind: 'cut', after: 300_000 }))
    await emu.putObject(KEY, randomBytes(600_000))
    const o = options()
    await rejection(client.get(emu.bucket, KEY, o))
    expect(requests).toHaveLength(1)
    expect(o.bytes()).toBeGreaterThan(0)
    expect(o.bytes()).toBeLessThanOrEqual(300_000)
  })

  it("signs with S3's time once S3 says our clock is off (RequestTimeTooSkewed), and tries again", async () => {
    const hourAhead = new Date(Date.now() + 3600_000)
    const { emu, fetcher, requests, badSignatures } = await setup(firstS3(1, xmlError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', { date: hourAhead.toUTCString() })))
    await emu.putObject(KEY, BODY)
    expect((await opened(fetcher, emu.bucket)).equals(BODY)).toBe(true)
    expect(requests).toHaveLength(2)
    const stamp = String(requests[1].headers['x-amz-date'])
    const signedAt = Date.parse(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`)
    expect(Math.abs(signedAt - hourAhead.getTime())).toBeLessThan(60_000)
    expect(await badSignatures()).toEqual([])
  })
})

describe("S3ObjectClient: S3's error document", () => {
  it('reads code, message and status; a redirect that names no region is not followed, and says to set bucket_region', async () => {
    const redirect = xmlError(301, 'PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint &amp; &lt;more&gt;.')
    const { emu, proxy, client, requests } = await setup(s3Only(redirect))
    await emu.putObject(KEY, BODY)
    const err = (await rejection(client.get(emu.bucket, KEY, options()))) as S3Error
    expect(err).toBeInstanceOf(S3Error)
    expect(err).toMatchObject({ status: 301, code: 'PermanentRedirect', bucketRegion: undefined, redirect: true, redirectRegion: undefined })
    expect(err.message).toBe('The bucket you are attempting to access must be addressed using the specified endpoint & <more>.')
    expect(requests).toHaveLength(1)
    const fetcher = new Fetcher(new S3Client({ endpoint: proxy.url, region: 'us-east-1', credentials, forcePathStyle: true }), silentLogger(), { endpoint: proxy.url })
    const failure = (await rejection(fetcher.open({ bucket: emu.bucket, key: KEY }))) as Error & { code: string; permanent: boolean }
    expect(failure.code).toBe('ERR_S3_TRANSIENT')
    expect(failure.permanent).toBe(false)
    expect(failure.message).toContain('PermanentRedirect, HTTP 301')
    expect(failure.message).toContain("without naming the bucket's region")
    expect(failure.message).toContain(`bucket_region = ${emu.bucket}=REGION`)
  })

  it("takes no code from a page that is not S3's error document, whatever it contains", async () => {
    const page = '<html><body><p>Proxy says: <Code>NoSuchKey</Code></p></body></html>'
    const { emu, proxy, client } = await setup(s3Only({ kind: 'answer', status: 404, headers: { 'content-type': 'text/html' }, body: page }))
    const err = (await rejection(client.get(emu.bucket, KEY, options()))) as S3Error
    expect(err).toMatchObject({ status: 404, code: undefined })
    const fetcher = new Fetcher(new S3Client({ endpoint: proxy.url, region: 'us-east-1', credentials, forcePathStyle: true }), silentLogger(), { endpoint: proxy.url })
    expect(await rejection(fetcher.open({ bucket: emu.bucket, key: KEY }))).toMatchObject({ code: 'ERR_S3_TRANSIENT', permanent: false })
  })
})

describe('S3ObjectClient: timeouts', () => {
  it('fails a body that stalls, and not one that is slow but moving', async () => {
    const big = randomBytes(40_000)
    const stalled = await setup(s3Only({ kind: 'stall', after: 1000 }), {}, { answerTimeoutMs: 400 })
    await stalled.emu.putObject(KEY, big)
    const started = Date.now()
    const o = options()
    const err = await rejection(stalled.client.get(stalled.emu.bucket, KEY, o))
    expect(err.code).toBe('UND_ERR_BODY_TIMEOUT')
    expect(Date.now() - started).toBeLessThan(5000)
    expect(o.bytes()).toBe(1000)
    expect(stalled.requests).toHaveLength(1)

    // 2,000 bytes every 150 ms: 3 s in all, each piece well within the 400 ms.
    const slow = await setup(s3Only({ kind: 'trickle', bytes: 2000, ms: 150 }), {}, { answerTimeoutMs: 400 })
    await slow.emu.putObject(KEY, big)
    expect((await read(await slow.client.get(slow.emu.bucket, KEY, options()))).equals(big)).toBe(true)
  }, 20_000)

  it('gives up on a connection that does not come up (a TLS handshake never answered), after the S3 policy\'s attempts', async () => {
    // A server that accepts the TCP connection and says nothing: the TLS handshake of https waits.
    const silent = createServer(() => {})
    silent.listen(0, '127.0.0.1')
    await once(silent, 'listening')
    cleanup(async () => {
      silent.close()
    })
    const accepted: Socket[] = []
    silent.on('connection', (socket) => accepted.push(socket))
    cleanup(async () => accepted.forEach((s) => s.destroy()))
    const s3 = new S3Client({ endpoint: `https://127.0.0.1:${(silent.address() as AddressInfo).port}`, region: 'us-east-1', credentials, forcePathStyle: true })
    cleanup(async () => s3.destroy())
    const dispatcher = s3Agent(2, { connectTimeoutMs: 300 })
    cleanup(() => dispatcher.destroy())
    const client = new S3ObjectClient(s3, { dispatcher })
    expect((await rejection(client.get('cloudtrail-logs', KEY, options()))).code).toBe('UND_ERR_CONNECT_TIMEOUT')
    expect(accepted).toHaveLength(1)
    const fetcher = new Fetcher(s3, silentLogger(), { dispatcher })
    const started = Date.now()
    const err = await rejection(fetcher.open({ bucket: 'cloudtrail-logs', key: KEY }))
    expect(err.code).toBe('ERR_S3_TRANSIENT')
    expect(err.message).toContain('UND_ERR_CONNECT_TIMEOUT')
    expect(accepted).toHaveLength(1 + S3_OBJECT.attempts)
    // Each attempt cut at 300 ms, with the waits between them (100–200, 200–400, 400–800 ms).
    expect(Date.now() - started).toBeGreaterThanOrEqual(S3_OBJECT.attempts * 300 + 700)
    expect(Date.now() - started).toBeLessThan(9000)
  })

  it('gives up on an answer that does not come, in one request', async () => {
    const { emu, client, requests } = await setup(s3Only({ kind: 'delay', ms: 3000 }), {}, { answerTimeoutMs: 300 })
    await emu.putObject(KEY, BODY)
    const err = await rejection(client.get(emu.bucket, KEY, options()))
    expect(err.code).toBe('UND_ERR_HEADERS_TIMEOUT')
    expect(requests).toHaveLength(1)
  })
})

describe('S3ObjectClient: the keep-alive pool', () => {
  it('reuses its connections for GET after GET, and holds no more open than it is sized for', async () => {
    const { emu, proxy, client } = await setup(pass, {}, { dispatcher: s3Agent(3) })
    await emu.putObject(KEY, BODY)
    for (let i = 0; i < 20; i++) await read(await client.get(emu.bucket, KEY, options()))
    // undici checks an idle socket in the next turn before reusing it: the GET right after may take a second one.
    expect(proxy.connections).toBeLessThanOrEqual(2)
    await Promise.all(Array.from({ length: 12 }, async () => read(await client.get(emu.bucket, KEY, options()))))
    expect(proxy.maxOpenConnections).toBe(3)
    const one = await setup(pass, {}, { dispatcher: s3Agent(1) })
    await one.emu.putObject(KEY, BODY)
    await Promise.all(Array.from({ length: 6 }, async () => read(await one.client.get(one.emu.bucket, KEY, options()))))
    expect(one.proxy.connections).toBe(1)
  })
})

describe('S3ObjectClient: a body streamed in pieces', () => {
  const large = randomBytes((3 << 20) + 1000)

  it('hands over pieces of chunkBytes (the last shorter), reading on only as they are taken', async () => {
    const { emu, client } = await setup()
    await emu.putObject(KEY, large)
    const o = options()
    const object = await client.get(emu.bucket, KEY, o)
    expect('chunks' in object && object.size).toBe(large.length)
    if (!('chunks' in object)) return
    const iterator = object.chunks[Symbol.asyncIterator]()
    const first = await iterator.next()
    await new Promise((r) => setTimeout(r, 300))
    // While the reader waits: the piece it has, one more waiting for it, and what the socket read that
    // completed it (64 KiB at most) are all that was read; the whole 3 MiB otherwise.
    expect(o.bytes()).toBeLessThanOrEqual(2 * (256 << 10) + (64 << 10))
    const parts = [first.value as Uint8Array]
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) parts.push(next.value)
    expect(parts.slice(0, -1).every((p) => p.length === 256 << 10)).toBe(true)
    expect(parts.at(-1)!.length).toBe(large.length % (256 << 10))
    expect(parts.every((p) => p.byteOffset === 0 && p.byteLength === p.buffer.byteLength)).toBe(true)
    expect(Buffer.concat(parts).equals(large)).toBe(true)
    expect(o.bytes()).toBe(large.length)
  })

  it('stops reading when the reader stops: the request is aborted, its connection not reused', async () => {
    const { emu, proxy, client } = await setup()
    await emu.putObject(KEY, large)
    await emu.putObject('AWSLogs/small.json.gz', BODY)
    const o = options()
    const object = await client.get(emu.bucket, KEY, o)
    if (!('chunks' in object)) throw new Error('expected a stream')
    for await (const chunk of object.chunks) {
      expect(chunk.length).toBe(256 << 10)
      break
    }
    expect(o.bytes()).toBeLessThan(large.length)
    const connections = proxy.connections
    expect((await read(await client.get(emu.bucket, 'AWSLogs/small.json.gz', options()))).equals(BODY)).toBe(true)
    expect(proxy.connections).toBe(connections + 1)
  })

  it('fails the reader when the body is cut, with what was read counted', async () => {
    const { emu, client } = await setup(s3Only({ kind: 'cut', after: 600_000 }))
    await emu.putObject(KEY, large)
    const o = options()
    await expect(read(await client.get(emu.bucket, KEY, o))).rejects.toThrow()
    expect(o.bytes()).toBe(600_000)
  })
})

describe('S3ObjectClient: abort (shutdown)', () => {
  it('stops a GET waiting for its answer at once, and does not try it again', async () => {
    const { emu, client, requests } = await setup(s3Only({ kind: 'delay', ms: 3000 }))
    await emu.putObject(KEY, BODY)
    const abort = new AbortController()
    setTimeout(() => abort.abort(), 100)
    const started = Date.now()
    const err = await rejection(client.get(emu.bucket, KEY, options({ signal: abort.signal })))
    expect(err.name).toBe('AbortError')
    expect(Date.now() - started).toBeLessThan(1000)
    expect(requests).toHaveLength(1)
  })

  it('stops a GET still waiting for a connection, and a body being read', async () => {
    const { emu, client } = await setup(s3Only({ kind: 'delay', ms: 1500 }), {}, { dispatcher: s3Agent(1) })
    await emu.putObject(KEY, BODY)
    const busy = client.get(emu.bucket, KEY, options())
    const abort = new AbortController()
    setTimeout(() => abort.abort(), 100)
    const started = Date.now()
    expect((await rejection(client.get(emu.bucket, KEY, options({ signal: abort.signal })))).name).toBe('AbortError')
    expect(Date.now() - started).toBeLessThan(1000)
    await read(await busy)

    const streaming = await setup(s3Only({ kind: 'trickle', bytes: 64 << 10, ms: 100 }))
    const large = randomBytes(2 << 20)
    await streaming.emu.putObject(KEY, large)
    const stop = new AbortController()
    const object = await streaming.client.get(streaming.emu.bucket, KEY, options({ signal: stop.signal }))
    setTimeout(() => stop.abort(), 300)
    await expect(read(object)).rejects.toThrow(/abort/i)
  })
})

describe('S3ObjectClient: a bucket in another region (S3 redirects; the stand-in answers as S3 does)', () => {
  const ELSEWHERE = 'eu-west-1'
  const OTHER = 'cloudtrail-archive-ap'
  const keys = [KEY, KEY.replace('abcdefghijklmnop', 'bbbbbbbbbbbbbbbb'), KEY.replace('abcdefghijklmnop', 'cccccccccccccccc')]

  interface RegionSetup {
    emu: Emulator
    stand: RegionStandIn
    client: S3ObjectClient
    /** Over the same SDK client and pool, logging into `lines`. */
    fetcher: Fetcher
    redirects: RegionRedirect[]
    /** What the fetcher counted (onRegionRedirect). */
    counted: () => number
    lines: Record<string, unknown>[]
  }

  /** The emulator's bucket in eu-west-1, OTHER in ap-southeast-2; the client's region us-east-1, its endpoint the stand-in's. */
  async function regionSetup(answer: Answer = 'redirect', options: S3ClientOptions = {}, sdk: Partial<S3ClientConfig> = {}): Promise<RegionSetup> {
    const emu = await emulator({ buckets: [OTHER] })
    const regions = new Map([[emu.bucket, ELSEWHERE], [OTHER, 'ap-southeast-2']])
    const stand = await regionStandIn(emu.endpoint, (bucket) => regions.get(bucket) ?? ELSEWHERE, answer)
    cleanup(() => stand.stop())
    const s3 = new S3Client({ endpoint: stand.url, region: 'us-east-1', credentials, forcePathStyle: true, ...sdk })
    cleanup(async () => s3.destroy())
    const dispatcher = options.dispatcher ?? s3Agent(4)
    cleanup(() => dispatcher.destroy())
    const redirects: RegionRedirect[] = []
    const client = new S3ObjectClient(s3, { ...options, dispatcher, onRegionRedirect: (r) => redirects.push(r) })
    const { log, lines } = capture()
    let counted = 0
    const fetcher = new Fetcher(s3, log, { endpoint: stand.url, dispatcher, regions: options.bucketRegions, onRegionRedirect: () => counted++ })
    for (const key of keys) await emu.putObject(key, BODY)
    await emu.putObject(KEY, BODY, OTHER)
    return { emu, stand, client, fetcher, redirects, counted: () => counted, lines }
  }

  const route = (stand: RegionStandIn) => stand.requests.map((r) => `${r.method} ${r.signedFor} ${r.answered}`)

  it('follows the 301 to the bucket\'s region within the call, reads the object whole, and sends the later GETs of the bucket straight there', async () => {
    const { emu, stand, client, redirects } = await regionSetup()
    for (const key of keys) {
      const o = options()
      expect((await read(await client.get(emu.bucket, key, o))).equals(BODY), key).toBe(true)
      expect(o.bytes()).toBe(BODY.length)
    }
    expect(route(stand)).toEqual(['GET us-east-1 301', `GET ${ELSEWHERE} forwarded`, `GET ${ELSEWHERE} forwarded`, `GET ${ELSEWHERE} forwarded`])
    // s3_endpoint: the host stays, only the signing region changes.
    expect(new Set(stand.requests.map((r) => r.host)).size).toBe(1)
    expect(redirects).toEqual([{ bucket: emu.bucket, from: 'us-east-1', to: ELSEWHERE }])
    // A HEAD's redirect has no body, and is followed the same way; another bucket is redirected on its own.
    await client.head(OTHER, KEY)
    await client.head(OTHER, KEY)
    expect(route(stand).slice(4)).toEqual(['HEAD us-east-1 301', 'HEAD ap-southeast-2 forwarded', 'HEAD ap-southeast-2 forwarded'])
    expect(redirects).toHaveLength(2)
  })

  it("without s3_endpoint: the bucket's endpoint in its region by the SDK's rules, FIPS and dual-stack as configured", async () => {
    const emu = await emulator()
    await emu.putObject(KEY, BODY)
    const stand = await regionStandIn(emu.endpoint, () => ELSEWHERE)
    cleanup(() => stand.stop())
    const b = emu.bucket
    const cases: [Partial<S3ClientConfig>, string, string][] = [
      [{}, `https://${b}.s3.us-east-1.amazonaws.com`, `https://${b}.s3.eu-west-1.amazonaws.com`],
      [{ useFipsEndpoint: true }, `https://${b}.s3-fips.us-east-1.amazonaws.com`, `https://${b}.s3-fips.eu-west-1.amazonaws.com`],
      [{ useDualstackEndpoint: true }, `https://${b}.s3.dualstack.us-east-1.amazonaws.com`, `https://${b}.s3.dualstack.eu-west-1.amazonaws.com`],
    ]
    for (const [sdk, first, then] of cases) {
      // S3's own host names, each request routed to the stand-in (as DNS would send it to S3's endpoint there).
      const origins: string[] = []
      const agent = new Agent()
      cleanup(() => agent.destroy())
      const dispatcher = agent.compose((dispatch) => (opts, handler) => {
        origins.push(String(opts.origin))
        return dispatch({ ...opts, origin: stand.url }, handler)
      })
      const s3 = new S3Client({ region: 'us-east-1', credentials, ...sdk })
      cleanup(async () => s3.destroy())
      const client = new S3ObjectClient(s3, { dispatcher })
      for (let i = 0; i < 2; i++) expect((await read(await client.get(b, KEY, options()))).equals(BODY)).toBe(true)
      expect(origins, JSON.stringify(sdk)).toEqual([first, then, then])
      const hosts = stand.requests.splice(0).map((r) => `${r.host} ${r.signedFor} ${r.answered}`)
      expect(hosts).toEqual([`${new URL(first).host} us-east-1 301`, `${new URL(then).host} ${ELSEWHERE} forwarded`, `${new URL(then).host} ${ELSEWHERE} forwarded`])
    }
  })

  it('objects of one bucket fetched at once: each GET follows its own redirect, the region is learned, logged and counted once', async () => {
    const { emu, stand, fetcher, counted, lines } = await regionSetup()
    const opened = await Promise.all(keys.map((key) => fetcher.open({ bucket: emu.bucket, key })))
    for (const { input } of opened) expect(Buffer.from('whole' in input ? input.whole : []).equals(BODY)).toBe(true)
    expect(stand.requests.filter((r) => r.answered === 301)).toHaveLength(keys.length)
    expect(stand.requests.filter((r) => r.answered === 'forwarded')).toHaveLength(keys.length)
    expect(counted()).toBe(1)
    const logged = lines.filter((l) => l.to !== undefined)
    expect(logged).toEqual([expect.objectContaining({ level: 30, stage: 's3', bucket: emu.bucket, from: 'us-east-1', to: ELSEWHERE })])
    // Not attempts of the S3 policy: nothing was retried.
    expect(lines.filter((l) => l.msg === 'S3 GET failed; retrying')).toEqual([])
  })

  it.each<[string, Answer]>([
    ['with x-amz-bucket-region', 'malformed'],
    ['naming the region only in its message', 'malformed-message'],
  ])('follows a 400 AuthorizationHeaderMalformed %s', async (_name, answer) => {
    const { emu, stand, client, redirects } = await regionSetup(answer)
    for (const key of keys.slice(0, 2)) expect((await read(await client.get(emu.bucket, key, options()))).equals(BODY)).toBe(true)
    expect(route(stand)).toEqual(['GET us-east-1 400', `GET ${ELSEWHERE} forwarded`, `GET ${ELSEWHERE} forwarded`])
    expect(redirects).toEqual([{ bucket: emu.bucket, from: 'us-east-1', to: ELSEWHERE }])
  })

  it('bucket_region: the first request goes to the bucket\'s region, with no redirect at all', async () => {
    const { emu, stand, client, fetcher, redirects, counted } = await regionSetup('redirect', { bucketRegions: new Map([[OTHER, 'ap-southeast-2']]) })
    expect((await read(await client.get(OTHER, KEY, options()))).equals(BODY)).toBe(true)
    await client.head(OTHER, KEY)
    expect((await opened(fetcher, OTHER)).equals(BODY)).toBe(true)
    expect(route(stand)).toEqual(['GET ap-southeast-2 forwarded', 'HEAD ap-southeast-2 forwarded', 'GET ap-southeast-2 forwarded'])
    expect(redirects).toEqual([])
    expect(counted()).toBe(0)
    // The buckets it does not name are still learned.
    await read(await client.get(emu.bucket, KEY, options()))
    expect(redirects).toEqual([{ bucket: emu.bucket, from: 'us-east-1', to: ELSEWHERE }])
  })

  it('a redirect loop: followed once, then transient, saying where it was sent and to set bucket_region', async () => {
    const { emu, stand, client, fetcher, redirects } = await regionSetup('loop')
    const err = (await rejection(client.get(emu.bucket, KEY, options()))) as S3Error
    expect(err).toMatchObject({ status: 301, code: 'PermanentRedirect', followed: ELSEWHERE, redirectRegion: ELSEWHERE })
    expect(route(stand)).toEqual(['GET us-east-1 301', `GET ${ELSEWHERE} 301`])
    expect(redirects).toHaveLength(1)
    const failure = (await rejection(fetcher.open({ bucket: emu.bucket, key: KEY }))) as Error & { code: string; permanent: boolean }
    expect(failure.code).toBe('ERR_S3_TRANSIENT')
    expect(failure.permanent).toBe(false)
    expect(failure.message).toContain('S3 redirected the GET to eu-west-1 after it was sent to eu-west-1 (PermanentRedirect, HTTP 301), a loop')
    expect(failure.message).toContain(`bucket_region = ${emu.bucket}=REGION`)
    // Its own client: the policy's attempts, each at most one follow (after the first, the region is known and not followed again).
    expect(stand.requests.length - 2).toBe(S3_OBJECT.attempts + 1)
  })

  it('a redirect naming no region: not followed, transient, saying to set bucket_region', async () => {
    const { emu, stand, fetcher, counted } = await regionSetup('no-region')
    const failure = (await rejection(fetcher.open({ bucket: emu.bucket, key: KEY }))) as Error & { code: string }
    expect(failure.code).toBe('ERR_S3_TRANSIENT')
    expect(failure.message).toContain("without naming the bucket's region")
    expect(failure.message).toContain('bucket_region')
    expect(stand.requests).toHaveLength(S3_OBJECT.attempts)
    expect(counted()).toBe(0)
  })

  it(`remembers the regions of at most ${MAX_TARGETS} buckets: beyond that a bucket is redirected again`, async () => {
    const { emu, stand, client, redirects } = await regionSetup()
    const buckets = Array.from({ length: MAX_TARGETS }, (_, i) => (i === 0 ? emu.bucket : `cloudtrail-gone-${i}`))
    // Buckets fauxqs does not have answer 404 once in their region: what counts here is where the HEAD went.
    const head = (bucket: string) => client.head(bucket, KEY).catch((err: unknown) => expect(err).toMatchObject({ status: 404 }))
    for (const bucket of buckets) await head(bucket)
    expect(redirects).toHaveLength(MAX_TARGETS)
    await head(emu.bucket)
    expect(redirects).toHaveLength(MAX_TARGETS)
    expect(stand.requests.at(-1)).toMatchObject({ signedFor: ELSEWHERE, answered: 'forwarded' })
    // One bucket more: the memory starts again, and the first bucket is redirected once more.
    await head('cloudtrail-one-more')
    await head(emu.bucket)
    expect(redirects).toHaveLength(MAX_TARGETS + 2)
    expect(redirects.at(-1)).toEqual({ bucket: emu.bucket, from: 'us-east-1', to: ELSEWHERE })
    expect((await read(await client.get(emu.bucket, KEY, options()))).equals(BODY)).toBe(true)
    expect(redirects).toHaveLength(MAX_TARGETS + 2)
  })
})

describe('the lean client resolves endpoints as the S3Client is configured: partitions, FIPS, dual-stack (no network)', () => {
  /** A dispatcher that records where each request would go and fails it. */
  function recorder(): { dispatcher: S3ClientOptions['dispatcher']; seen: { origin: string; path: string; host: string }[] } {
    const seen: { origin: string; path: string; host: string }[] = []
    const dispatcher = {
      dispatch(opts: { origin?: string | URL; path: string; headers?: unknown }, handler: { onResponseError?: (c: null, e: Error) => void }) {
        seen.push({ origin: String(opts.origin), path: opts.path, host: (opts.headers as Record<string, string>).host })
        queueMicrotask(() => handler.onResponseError?.(null, new Error('recorded')))
        return true
      },
      close: async () => {},
      destroy: async () => {},
    }
    return { dispatcher: dispatcher as unknown as S3ClientOptions['dispatcher'], seen }
  }

  it('each region and setting to the host S3 serves it on, signed for that region', async () => {
    const cases: [S3ClientConfig, string][] = [
      [{ region: 'us-east-1' }, 'https://trail-logs.s3.us-east-1.amazonaws.com'],
      [{ region: 'cn-north-1' }, 'https://trail-logs.s3.cn-north-1.amazonaws.com.cn'],
      [{ region: 'cn-northwest-1', forcePathStyle: true }, 'https://s3.cn-northwest-1.amazonaws.com.cn'],
      [{ region: 'us-gov-west-1' }, 'https://trail-logs.s3.us-gov-west-1.amazonaws.com'],
      [{ region: 'us-gov-west-1', useFipsEndpoint: true }, 'https://trail-logs.s3-fips.us-gov-west-1.amazonaws.com'],
      [{ region: 'us-east-1', useFipsEndpoint: true }, 'https://trail-logs.s3-fips.us-east-1.amazonaws.com'],
      [{ region: 'us-east-1', useDualstackEndpoint: true }, 'https://trail-logs.s3.dualstack.us-east-1.amazonaws.com'],
      [{ region: 'us-east-1', useFipsEndpoint: true, useDualstackEndpoint: true }, 'https://trail-logs.s3-fips.dualstack.us-east-1.amazonaws.com'],
      [{ region: 'cn-north-1', useDualstackEndpoint: true }, 'https://trail-logs.s3.dualstack.cn-north-1.amazonaws.com.cn'],
    ]
    for (const [config, origin] of cases) {
      const { dispatcher, seen } = recorder()
      const sdk = new S3Client({ ...config, credentials })
      const client = new S3ObjectClient(sdk, { dispatcher })
      await expect(client.get('trail-logs', KEY, { wholeBytes: 1 << 20, chunkBytes: 1 << 16, onBytes: () => {} })).rejects.toThrow('recorded')
      sdk.destroy()
      expect({ config, origin: seen[0]?.origin }).toEqual({ config, origin })
      expect(seen[0].host).toBe(new URL(origin).host)
      expect(seen[0].path).toBe(config.forcePathStyle ? `/trail-logs/${KEY}` : `/${KEY}`)
    }
  })

  it('a FIPS endpoint where the partition has none fails as the SDK does', async () => {
    const { dispatcher, seen } = recorder()
    const sdk = new S3Client({ region: 'cn-north-1', useFipsEndpoint: true, credentials })
    await expect(new S3ObjectClient(sdk, { dispatcher }).get('trail-logs', KEY, { wholeBytes: 1, chunkBytes: 1, onBytes: () => {} })).rejects.toThrow(/does not support FIPS/)
    sdk.destroy()
    expect(seen).toEqual([])
  })
})
