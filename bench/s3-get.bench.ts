// What one S3 GET costs the main thread: the SDK's GetObject (what src/fetcher.ts sends, over a keep-alive
// pool as in src/aws.ts) against a bare SigV4-signed GET over an undici Pool, the floor a lean client
// could reach. fauxqs runs in a child process, so only the client's CPU is counted. Small CloudTrail-like
// objects, 8 GETs in flight. Run after a build:
//   npx tsc -p tsconfig.json && node dist/bench/s3-get.bench.js

import { fork } from 'node:child_process'
import { once } from 'node:events'
import { Agent } from 'node:http'
import { createHash, createHmac } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { SignatureV4 } from '@smithy/signature-v4'
import { Pool } from 'undici'

const OBJECTS = 8
const GETS = 3000
const IN_FLIGHT = 8
const ROUNDS = 2

if (process.argv[2] === 'server') {
  const { startLoopbackFauxqs } = await import('../src/loopback-fauxqs.ts')
  const server = await startLoopbackFauxqs()
  server.createBucket('bench')
  process.send!(server.address)
} else {
  const child = fork(new URL(import.meta.url), ['server'], { stdio: 'inherit' })
  const [endpoint] = (await once(child, 'message')) as [string]
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' }
  const s3 = new S3Client({
    endpoint,
    region: 'us-east-1',
    credentials,
    forcePathStyle: true,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: IN_FLIGHT }) }),
  })
  const body = gzipSync(JSON.stringify({ Records: Array.from({ length: 100 }, (_, i) => ({ eventID: String(i), requestParameters: { x: 'y'.repeat(500) } })) }))
  for (let i = 0; i < OBJECTS; i++) await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: `k${i}`, Body: body }))

  const drain = async (stream: AsyncIterable<Uint8Array>) => {
    let n = 0
    for await (const chunk of stream) n += chunk.length
    if (n !== body.length) throw new Error(`read ${n} of ${body.length} bytes`)
  }
  const sdkGet = async (i: number) => {
    const out = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: `k${i % OBJECTS}` }))
    await drain(out.Body as AsyncIterable<Uint8Array>)
  }

  const url = new URL(endpoint)
  const pool = new Pool(url.origin, { connections: IN_FLIGHT })
  // node:crypto behind the hash interface the signer takes.
  type Data = string | ArrayBuffer | ArrayBufferView
  const bytes = (data: Data) => (typeof data === 'string' ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data))
  class Sha256 {
    private readonly hash
    constructor(secret?: Data) {
      this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret))
    }
    update(data: Data): void {
      this.hash.update(bytes(data))
    }
    async digest(): Promise<Uint8Array> {
      return new Uint8Array(this.hash.digest())
    }
  }
  const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false })
  const bareGet = async (i: number) => {
    const path = `/bench/k${i % OBJECTS}`
    const request = { method: 'GET', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path, query: {}, headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }
    const signed = await signer.sign(request)
    const res = await pool.request({ method: 'GET', path, headers: signed.headers })
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`)
    await drain(res.body)
  }

  /** CPU of this process per GET, and GETs per second, with IN_FLIGHT at once. */
  const measure = async (get: (i: number) => Promise<void>) => {
    for (let i = 0; i < 200; i++) await get(i) // warm-up
    const cpu = process.cpuUsage()
    const start = performance.now()
    let next = 0
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (next < GETS) await get(next++)
    }))
    const used = process.cpuUsage(cpu)
    return { cpuMicros: (used.user + used.system) / GETS, perSecond: GETS / ((performance.now() - start) / 1000) }
  }

  console.log(`S3 GET of a ${body.length}-byte object, ${IN_FLIGHT} in flight, ${GETS} GETs per round; fauxqs in a child process`)
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, get] of [['SDK GetObject', sdkGet], ['signed undici GET', bareGet]] as const) {
      const { cpuMicros, perSecond } = await measure(get)
      console.log(`round ${round}  ${name.padEnd(18)} ${cpuMicros.toFixed(0).padStart(5)} µs CPU per GET  ${perSecond.toFixed(0).padStart(6)} GET/s`)
    }
  }
  child.kill()
  await pool.close()
  s3.destroy()
}
