// Bounded memory on any object: a valid 1 GB (uncompressed) CloudTrail file, generated at test time,
// goes through the real collector as a stream: peak RSS stays well under 300 MB at default settings.

import { createReadStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createGzip } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { logFileChunks } from '../../src/synthetic/log-file.ts'
import { RecordGenerator } from '../../src/synthetic/records.ts'
import { cloudTrailKey, runArgs, runEnv, startCli, startEmulator, type Emulator } from '../helpers/fauxqs.ts'
import { peakRss } from '../helpers/process.ts'

const TARGET = 1_000_000_000 // bytes of JSON, uncompressed

/** Gzips the generator's document as it is produced; returns the compressed bytes and the counts. */
async function generate(): Promise<{ gz: Buffer; records: number; bytes: number }> {
  const gen = new RecordGenerator({ seed: 7, startTime: new Date('2026-11-26T00:00:00Z') })
  // Mean synthetic record ~1.44 KB: ask for enough records to pass 1 GB, and count exactly.
  const records = Math.ceil(TARGET / 1400)
  const gzip = createGzip({ level: 1 })
  const parts: Buffer[] = []
  gzip.on('data', (d: Buffer) => parts.push(d))
  const done = new Promise((resolve, reject) => {
    gzip.on('end', resolve)
    gzip.on('error', reject)
  })
  let bytes = 0
  for await (const chunk of logFileChunks(gen, { records, account: '111122223333', region: 'us-east-1', time: new Date('2026-11-26T12:00:00Z') })) {
    bytes += chunk.length
    if (!gzip.write(chunk)) await new Promise((r) => gzip.once('drain', r))
  }
  gzip.end()
  await done
  return { gz: Buffer.concat(parts), records, bytes }
}

describe('a 1 GB object', () => {
  let emu: Emulator
  let file: { gz: Buffer; records: number; bytes: number }
  const dir = mkdtempSync(join(tmpdir(), 'ct-large-'))

  beforeAll(async () => {
    emu = await startEmulator()
    file = await generate()
    const key = cloudTrailKey('111122223333', 'us-east-1', '20261126T1200Z', 'LargeLargeLarge0')
    await emu.putObject(key, file.gz) // multipart: fauxqs takes 11 MiB per request at most
    await emu.publish(JSON.stringify({ s3Bucket: emu.bucket, s3ObjectKey: [key] }))
  }, 240_000)

  afterAll(async () => {
    await emu?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('is parsed as a stream, written in chunks, with peak RSS under 300 MB', async () => {
    expect(file.bytes).toBeGreaterThan(TARGET)
    const out = join(dir, 'out.ndjson')
    const run = startCli(runArgs(emu, ['--format', 'json', '--output', `file:${out}`]), runEnv)
    let sampled = 0
    const sampler = setInterval(() => (sampled = Math.max(sampled, peakRss(run.child.pid!))), 100)
    const res = await run.result
    clearInterval(sampler)
    expect(res.code, res.stderr.slice(-2000)).toBe(0)
    const logged = Number(res.logs.find((l) => l.msg === 'collector stopped')?.maxRssBytes)
    const peak = Math.max(sampled, logged)
    console.log(
      `1 GB object: ${file.records} records, ${(file.bytes / 1e9).toFixed(2)} GB JSON, ${(file.gz.length / 1e6).toFixed(0)} MB gzipped; peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`,
    )
    expect(peak).toBeLessThan(300 * 1024 * 1024)

    // Every record, each on its own line, in order.
    let lines = 0
    let last = ''
    for await (const line of createInterface({ input: createReadStream(out) })) {
      lines++
      last = line
    }
    expect(lines).toBe(file.records)
    expect(JSON.parse(last)).toHaveProperty('eventVersion')
    expect(emu.remaining()).toBe(0)
  }, 240_000)
})
