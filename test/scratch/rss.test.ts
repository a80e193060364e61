import { gzipSync } from 'node:zlib'
import { it } from 'vitest'
import { cloudTrailKey, runArgs, runEnv, startCli, startEmulator } from '../helpers/fauxqs.ts'
import { fixtureRecords } from '../helpers/fixtures.ts'
import * as hostile from '../helpers/hostile.ts'
import { freePort, peakRss } from '../helpers/process.ts'
import { tmpFile } from '../helpers/seed.ts'
import { waitUntil } from '../helpers/wait.ts'
const GiB = 1024 ** 3
it('rss', async () => {
  const emu = await startEmulator({})
  const good = fixtureRecords().slice(0, 60).map((r, i) => ({ ...r.record, seq: `good-${i}` }))
  const key = (name: string) => cloudTrailKey('111122223333', 'us-east-1', '20261126T1200Z', name.padEnd(16, '0').slice(0, 16))
  const put = async (name: string, body: Uint8Array) => { await emu.putObject(key(name), body); return key(name) }
  const which = (process.env.OBJS ?? 'bomb,huge').split(',')
  if (which.includes('bomb')) await emu.publish(JSON.stringify({ s3Bucket: emu.bucket, s3ObjectKey: [await put('bomb', hostile.gzipBomb(2.25 * GiB))] }))
  if (which.includes('huge')) await emu.publish(JSON.stringify({ s3Bucket: emu.bucket, s3ObjectKey: [await put('hugeString', hostile.hugeStringDocument(50 << 20, [good[44], good[45]]))] }))
  if (which.includes('deep')) await emu.publish(JSON.stringify({ s3Bucket: emu.bucket, s3ObjectKey: [await put('deep', hostile.deepDocument(5000, [good[42], good[43]]))] }))
  const out = tmpFile('ct-rss-')
  const args = runArgs(emu, ['--format', 'json', '--output', `file:${out}`], { drain: false, metricsPort: await freePort() })
  const run = startCli(args, runEnv)
  let rss = 0; const t0 = Date.now(); const trace: string[] = []
  const s = setInterval(() => { const r = peakRss(run.child.pid!); if (r > rss) { rss = r; trace.push(`${Date.now() - t0}ms ${(r / 2 ** 20).toFixed(0)}`) } }, 50)
  await waitUntil(() => emu.remaining() === 0, 'done', 120_000)
  clearInterval(s); run.child.kill('SIGTERM'); const res = await run.result
  const logged = Number(res.logs.find((l) => l.msg === 'collector stopped')?.maxRssBytes)
  console.log(`OBJS=${which} peak ${(Math.max(rss, logged) / 2 ** 20).toFixed(0)} MiB; ${trace.join(' | ')}`)
  await emu.stop()
}, 180_000)
