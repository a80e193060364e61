// make soak: the demo's generator at a steady EPS into fauxqs, the collector (a child process) behind a
// fault-injecting proxy, random faults on a share of S3 and SQS calls, and one kill -9 per minute.
// At the end the collector drains the queue and the harness prints a ledger: records sent, written,
// duplicated, lost (must be 0), peak RSS. Exit status 1 if anything was lost.
//
//   node dist/bench/soak.js [--duration 300] [--eps 2000] [--fault-rate 0.05] [--kill-every 60]

import { spawn, type ChildProcess } from 'node:child_process'
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { S3Client } from '@aws-sdk/client-s3'
import { SNSClient } from '@aws-sdk/client-sns'
import { startFauxqs } from 'fauxqs'
import { Traffic } from '../src/synthetic/traffic.ts'
import { FaultProxy, type Fault } from './lib/fault-proxy.ts'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '300' },
    eps: { type: 'string', default: '2000' },
    'fault-rate': { type: 'string', default: '0.05' },
    'kill-every': { type: 'string', default: '60' },
  },
})
const duration = Number(values.duration)
const eps = Number(values.eps)
const faultRate = Number(values['fault-rate'])
const killEvery = Number(values['kill-every'])
const repo = fileURLToPath(new URL('../..', import.meta.url))
const cli = join(repo, 'dist', 'src', 'cli.js')
const dir = mkdtempSync(join(tmpdir(), 'ct-soak-'))
const out = join(dir, 'out.ndjson')

const emulator = await startFauxqs({ port: 0, logger: false })
const { queueUrl } = emulator.createQueue('soak', { attributes: { VisibilityTimeout: '30' } })
const { topicArn } = emulator.createTopic('soak')
emulator.subscribe({ topic: 'soak', queue: 'soak' })
emulator.createBucket('soak-trail')
const proxy = await FaultProxy.start(emulator.address)
const faults: Fault[] = [
  { kind: 'error', status: 500, code: 'InternalError' },
  { kind: 'error', status: 503, code: 'SlowDown' },
  { kind: 'reset' },
  { kind: 'delay', ms: 2000 },
]
proxy.rule = (r) => {
  if (r.action === 'GetQueueAttributes' || Math.random() >= faultRate) return { kind: 'pass' }
  return faults[Math.floor(Math.random() * faults.length)]
}

// The producer talks to fauxqs directly: faults are for the collector.
const clientOptions = { endpoint: emulator.address, region: 'us-east-1', credentials: { accessKeyId: 'soak', secretAccessKey: 'soak' } }
const s3 = new S3Client({ ...clientOptions, forcePathStyle: true })
const sns = new SNSClient(clientOptions)
const sent = new Set<string>()
const traffic = new Traffic({
  eps,
  bucket: 'soak-trail',
  topicArn,
  s3,
  sns,
  seed: Date.now() % 1e9,
  onFile: (file) => {
    for (const r of (JSON.parse(file.json) as { Records: { eventID: string }[] }).Records) sent.add(r.eventID)
  },
})

let peakRss = 0
let kills = 0
function collector(drain: boolean): ChildProcess {
  const args = ['run', '--queue-url', queueUrl, '--endpoint', proxy.url, '--bucket', 'soak-trail', '--access-key-id', 'soak', '--format', 'json', '--output', `file:${out}`, '--metrics-port', '0', '--pull-interval', '1', '--wait-time', '1', '--visibility-timeout', '10', '--log-level', 'warn']
  const child = spawn(process.execPath, [cli, ...args, ...(drain ? ['--drain'] : [])], {
    env: { ...process.env, CLOUDTRAIL_INGEST_SECRET_KEY: 'soak' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  child.stderr?.on('data', (d: Buffer) => {
    const m = /"maxRssBytes":(\d+)/.exec(d.toString())
    if (m) peakRss = Math.max(peakRss, Number(m[1]))
  })
  const sampler = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
      if (m && readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes('cli.js')) peakRss = Math.max(peakRss, Number(m[1]) * 1024)
    } catch {
      // gone
    }
  }, 500)
  child.once('exit', () => clearInterval(sampler))
  return child
}
const exited = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))))

const started = Date.now()
traffic.start()
let current = collector(false)
// A progress line: rewritten in place on a terminal, a line every 10 s otherwise.
let ticks = 0
const progress = setInterval(() => {
  const elapsed = Math.round((Date.now() - started) / 1000)
  const line = `soak ${elapsed}/${duration} s | sent ${sent.size} | kills ${kills} | faults ${[...proxy.injected.values()].reduce((a, b) => a + b, 0)}`
  if (process.stderr.isTTY) process.stderr.write(`\r${line}   `)
  else if (++ticks % 10 === 0) process.stderr.write(`${line}\n`)
}, 1000)
while (Date.now() - started < duration * 1000) {
  const left = duration * 1000 - (Date.now() - started)
  await new Promise((r) => setTimeout(r, Math.min(killEvery * 1000, left)))
  if (Date.now() - started >= duration * 1000) break
  current.kill('SIGKILL')
  await exited(current)
  kills++
  current = collector(false)
}
await traffic.stop()
current.kill('SIGTERM')
await exited(current)
// Drain what is left (messages of the last kill come back after their visibility timeout).
await new Promise((r) => setTimeout(r, 11_000))
const last = collector(true)
const code = await exited(last)
clearInterval(progress)
if (process.stderr.isTTY) process.stderr.write('\n')

const written = new Map<string, number>()
let lines = 0
for await (const line of createInterface({ input: createReadStream(out) })) {
  lines++
  const id = (JSON.parse(line) as { eventID: string }).eventID
  written.set(id, (written.get(id) ?? 0) + 1)
}
let lost = 0
for (const id of sent) if (!written.has(id)) lost++
const foreign = [...written.keys()].filter((id) => !sent.has(id)).length
const ledger = {
  date: new Date().toISOString(),
  durationSeconds: duration,
  eps,
  faultRate,
  kills,
  faultsInjected: [...proxy.injected.values()].reduce((a, b) => a + b, 0),
  callsProxied: proxy.log.length,
  sent: sent.size,
  written: lines,
  unique: written.size,
  duplicated: lines - written.size,
  lost,
  foreign,
  peakRssMiB: Math.round(peakRss / 2 ** 20),
  drainExit: code,
}
console.table(ledger)
const results = join(repo, 'bench', 'results')
mkdirSync(results, { recursive: true })
writeFileSync(join(results, 'soak.json'), JSON.stringify(ledger, null, 2) + '\n')
s3.destroy()
sns.destroy()
await proxy.stop()
await emulator.stop()
process.exit(lost === 0 && foreign === 0 && code === 0 ? 0 : 1)
