// Bounded memory on any object: a valid 1 GB (uncompressed) CloudTrail file, generated at test time,
// goes through the real collector as a stream: peak RSS stays well under 300 MB at default settings.
//
// Generating and gzipping the file costs about 28 s of CPU, more than the collector takes to read it: the
// gzipped file is kept in the temp directory under a name derived from the generator's sources and its
// parameters, so a later run with the same generator reads the same bytes back instead of making them again.

import { createHash } from 'node:crypto'
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createGzip } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { logFileChunks } from '../../src/synthetic/log-file.ts'
import { RecordGenerator } from '../../src/synthetic/records.ts'
import { cloudTrailKey, runArgs, runEnv, startCli, startEmulator, type Emulator } from '../helpers/fauxqs.ts'
import { peakRss } from '../helpers/process.ts'

const TARGET = 1_000_000_000 // bytes of JSON, uncompressed
// Mean synthetic record ~1.44 KB: ask for enough records to pass 1 GB, and count exactly.
const RECORDS = Math.ceil(TARGET / 1400)

interface LargeFile {
  gz: Buffer
  records: number
  bytes: number
}

/** Gzips the generator's document as it is produced; returns the compressed bytes and the counts. */
async function generate(): Promise<LargeFile> {
  const gen = new RecordGenerator({ seed: 7, startTime: new Date('2026-11-26T00:00:00Z') })
  const records = RECORDS
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

/**
 * The generated file, from the temp directory when a run with the same generator made it before. Its name
 * holds a hash of src/synthetic's sources and of the generator's parameters, and the uncompressed size: a
 * change to the generator makes a new file.
 */
async function largeFile(): Promise<LargeFile> {
  const synthetic = fileURLToPath(new URL('../../src/synthetic/', import.meta.url))
  const hash = createHash('sha256').update(`${RECORDS} seed 7 level 1\n`)
  for (const name of readdirSync(synthetic).sort()) hash.update(name).update(readFileSync(join(synthetic, name)))
  const prefix = 'ct-large-object-'
  const name = `${prefix}${hash.digest('hex').slice(0, 16)}`
  // Another checkout's generator may differ: its file is left alone unless a day has passed since it was made.
  for (const old of readdirSync(tmpdir())) {
    if (!old.startsWith(prefix) || old.startsWith(name)) continue
    const path = join(tmpdir(), old)
    const made = statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now() // gone meanwhile: nothing to do
    if (Date.now() - made > 86_400_000) rmSync(path, { force: true })
  }
  const cached = readdirSync(tmpdir()).find((f) => f.startsWith(`${name}-`) && f.endsWith('.json.gz'))
  if (cached) {
    const bytes = Number(cached.slice(name.length + 1, -'.json.gz'.length))
    return { gz: readFileSync(join(tmpdir(), cached)), records: RECORDS, bytes }
  }
  const file = await generate()
  // Written under another name, then renamed: a run alongside never reads half a file.
  const path = join(tmpdir(), `${name}-${file.bytes}.json.gz`)
  const partial = `${path}.${process.pid}.partial`
  writeFileSync(partial, file.gz)
  if (!existsSync(path)) renameSync(partial, path)
  else rmSync(partial, { force: true })
  return file
}

describe('a 1 GB object', () => {
  let emu: Emulator
  let file: LargeFile
  const dir = mkdtempSync(join(tmpdir(), 'ct-large-'))

  beforeAll(async () => {
    emu = await startEmulator()
    file = await largeFile()
    const key = cloudTrailKey('111122223333', 'us-east-1', '20261126T1200Z', 'LargeLargeLarge0')
    await emu.putObject(key, file.gz) // multipart: fauxqs takes 11 MiB per request at most
    await emu.notify([key])
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
