// make soak: the demo's generator at a steady EPS into fauxqs, the collector (a child process) behind a
// fault-injecting proxy, random faults on a share of S3 and SQS calls, and one kill -9 per minute.
// At the end the collector drains the queue and the harness prints a ledger: records sent, written,
// duplicated, lost (must be 0), peak RSS. Exit status 1 if anything was lost.
//
//   node dist/bench/soak.js [--duration 300] [--eps 2000] [--fault-rate 0.05] [--kill-every 60]

import { spawn, type ChildProcess } from 'node:child_process'
import { createReadStream, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { Traffic } from '../src/synthetic/traffic.ts'
import { CloudTrailEmulator } from '../src/emulator/cloudtrail-emulator.ts'
import { runArgs, runEnv } from '../src/emulator/collector-cli.ts'
import { FaultProxy, faultShare, transientFaults } from '../src/emulator/fault-proxy.ts'
import { peakRss } from '../src/emulator/peak-rss.ts'
import { dist } from './lib/paths.ts'
import { Progress } from './lib/progress.ts'
import { saveResults } from './lib/results.ts'

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
const cli = dist('src/cli.js')
const dir = mkdtempSync(join(tmpdir(), 'ct-soak-'))
const out = join(dir, 'out.ndjson')

const emu = await CloudTrailEmulator.start()
const w = emu.wire('soak', { visibilityTimeout: 30 })
const proxy = await FaultProxy.start(emu.endpoint)
proxy.rule = faultShare(faultRate, transientFaults({ delayMs: 2000, cutAfter: false }))
const faultsInjected = () => [...proxy.injected.values()].reduce((a, b) => a + b, 0)

// The producer talks to fauxqs directly (the emulator's own clients): faults are for the collector.
const sent = new Set<string>()
const traffic = new Traffic({
  eps,
  bucket: w.bucket,
  topicArn: w.topicArn,
  s3: emu.s3,
  sns: emu.sns,
  seed: Date.now() % 1e9,
  onFile: (file) => {
    for (const r of (JSON.parse(file.json) as { Records: { eventID: string }[] }).Records) sent.add(r.eventID)
  },
})

let maxRss = 0
let kills = 0
function collector(drain: boolean): ChildProcess {
  const args = [...runArgs(proxy.url, w), '--format', 'json', '--output', `file:${out}`, '--metrics-port', '0', '--pull-interval', '1', '--wait-time', '1', '--visibility-timeout', '10', '--log-level', 'warn']
  // Nothing reads the collector's output: the ledger comes from the file it writes and from /proc.
  const child = spawn(process.execPath, [cli, ...args, ...(drain ? ['--drain'] : [])], { env: { ...process.env, ...runEnv() }, stdio: 'ignore' })
  const sampler = setInterval(() => {
    if (child.pid !== undefined) maxRss = Math.max(maxRss, peakRss(child.pid))
  }, 500)
  child.once('exit', () => clearInterval(sampler))
  return child
}
const exited = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))))

const started = Date.now()
traffic.start()
let current = collector(false)
const progress = new Progress(() => `soak ${Math.round((Date.now() - started) / 1000)}/${duration} s | sent ${sent.size} | kills ${kills} | faults ${faultsInjected()}`).start()
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
progress.stop()

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
  faultsInjected: faultsInjected(),
  callsProxied: proxy.log.length,
  sent: sent.size,
  written: lines,
  unique: written.size,
  duplicated: lines - written.size,
  lost,
  foreign,
  peakRssMiB: Math.round(maxRss / 2 ** 20),
  drainExit: code,
}
console.table(ledger)
saveResults('soak', ledger)
await proxy.stop()
await emu.stop()
process.exit(lost === 0 && foreign === 0 && code === 0 ? 0 : 1)
