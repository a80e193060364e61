// What one S3 GET costs the main thread: the SDK's GetObject (what src/pipeline/fetcher.ts sent before issue 10,
// over a keep-alive pool as aws.ts built it) against the lean client the fetcher uses now
// (src/aws/s3-client.ts: one signed request over an undici pool, the body copied as it arrives), on files of
// 1,000 real CloudTrail records (about 150 KB gzipped), 8 GETs in flight; fauxqs runs in a child process,
// so only the client's CPU is counted: the main thread's (process.threadCpuUsage) and the whole process's
// (with V8's GC and compiler threads). Then signing alone: @smithy/signature-v4 (the SDK's signer) against
// src/aws/sigv4.ts. Rounds alternate the subjects. Run after a build:
//   npx tsc -p tsconfig.json && node dist/bench/s3-get.bench.js [--rounds 2] [--gets 1500]

import { fork } from 'node:child_process'
import { once } from 'node:events'
import { Agent } from 'node:http'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { SignatureV4 } from '@smithy/signature-v4'
import { dataFiles } from './lib/dataset.ts'
import { s3Agent, S3ObjectClient } from '../src/aws/s3-client.ts'
import { EMPTY_SHA256, SigV4Signer } from '../src/aws/sigv4.ts'
import { Sha256 } from './lib/smithy-sha256.ts'

const OBJECTS = 8
const IN_FLIGHT = 8

if (process.argv[2] === 'server') {
  const { startLoopbackFauxqs } = await import('../src/emulator/loopback-fauxqs.ts')
  const server = await startLoopbackFauxqs()
  server.createBucket('bench')
  process.send!(server.address)
} else {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2' }, gets: { type: 'string', default: '1500' } } })
  const rounds = Number(values.rounds)
  const gets = Number(values.gets)
  const child = fork(new URL(import.meta.url), ['server'], { stdio: 'inherit' })
  const [endpoint] = (await once(child, 'message')) as [string]
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' }
  const config = { endpoint, region: 'us-east-1', credentials, forcePathStyle: true }
  const sdk = new S3Client({ ...config, requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: IN_FLIGHT }) }) })
  const bodies = (await dataFiles('corpus', OBJECTS)).files.map((f) => readFileSync(f))
  const key = (i: number) => `AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/26/111122223333_CloudTrail_us-east-1_20261126T${String(i).padStart(4, '0')}Z_abcdefghijklmnop.json.gz`
  for (let i = 0; i < OBJECTS; i++) await sdk.send(new PutObjectCommand({ Bucket: 'bench', Key: key(i), Body: bodies[i] }))
  const bytes = bodies.reduce((n, b) => n + b.length, 0) / OBJECTS

  const check = (i: number, n: number) => {
    if (n !== bodies[i % OBJECTS].length) throw new Error(`read ${n} of ${bodies[i % OBJECTS].length} bytes`)
  }
  const sdkGet = async (i: number) => {
    const out = await sdk.send(new GetObjectCommand({ Bucket: 'bench', Key: key(i % OBJECTS) }))
    let n = 0
    for await (const chunk of out.Body as AsyncIterable<Uint8Array>) n += chunk.length
    check(i, n)
  }
  const lean = new S3ObjectClient(new S3Client(config), { dispatcher: s3Agent(IN_FLIGHT) })
  const options = { wholeBytes: 4 << 20, chunkBytes: 256 << 10, onBytes: () => {} }
  const leanGet = async (i: number) => {
    const object = await lean.get('bench', key(i % OBJECTS), options)
    check(i, 'whole' in object ? object.whole.length : 0)
  }

  /** CPU per GET (main thread, whole process) and GETs per second, IN_FLIGHT at once. */
  const measure = async (get: (i: number) => Promise<void>) => {
    for (let i = 0; i < 200; i++) await get(i) // warm-up
    const cpu = process.cpuUsage()
    const main = process.threadCpuUsage()
    const start = performance.now()
    let next = 0
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < gets) await get(next++)
      }),
    )
    const all = process.cpuUsage(cpu)
    const thread = process.threadCpuUsage(main)
    return { main: (thread.user + thread.system) / gets, all: (all.user + all.system) / gets, perSecond: gets / ((performance.now() - start) / 1000) }
  }

  // Signing alone, as each client signs a GET of one of these keys.
  const host = 'cloudtrail-logs.s3.us-east-1.amazonaws.com'
  const smithy = new SignatureV4({ credentials, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false })
  const ours = new SigV4Signer()
  const signers: [string, () => Promise<unknown> | void][] = [
    ['@smithy/signature-v4', () => smithy.sign({ method: 'GET', protocol: 'https:', hostname: host, path: `/${key(1)}`, query: {}, headers: { host, 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-expected-bucket-owner': '111122223333' } })],
    ['src/aws/sigv4.ts', () => ours.sign('GET', `/${key(1)}`, { host, 'x-amz-expected-bucket-owner': '111122223333' }, credentials, 'us-east-1', 's3', new Date())],
  ]
  const signCost = async (sign: () => Promise<unknown> | void) => {
    for (let i = 0; i < 2000; i++) await sign()
    const main = process.threadCpuUsage()
    const n = 20_000
    for (let i = 0; i < n; i++) await sign()
    const used = process.threadCpuUsage(main)
    return (used.user + used.system) / n
  }

  console.log(`S3 GET of a CloudTrail file (${OBJECTS} files of 1,000 real records, ${Math.round(bytes / 1024)} KiB gzipped on average), ${IN_FLIGHT} in flight, ${gets} GETs per round; fauxqs in a child process; Node ${process.version}`)
  const subjects: [string, (i: number) => Promise<void>][] = [
    ['SDK GetObject', sdkGet],
    ['lean client (s3-client.ts)', leanGet],
  ]
  for (let round = 1; round <= rounds; round++) {
    for (const [name, get] of round % 2 ? subjects : [...subjects].reverse()) {
      const { main, all, perSecond } = await measure(get)
      console.log(`round ${round}  ${name.padEnd(28)} main thread ${main.toFixed(0).padStart(5)} µs per GET   process ${all.toFixed(0).padStart(5)} µs   ${perSecond.toFixed(0).padStart(5)} GET/s`)
    }
    for (const [name, sign] of round % 2 ? signers : [...signers].reverse()) {
      console.log(`round ${round}  sign: ${name.padEnd(22)} ${(await signCost(sign)).toFixed(1).padStart(6)} µs per GET`)
    }
  }
  child.kill()
  await lean.close()
  sdk.destroy()
}
