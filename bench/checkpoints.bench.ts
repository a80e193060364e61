// src/pipeline/checkpoints.ts: what the checkpoints cost the main thread per object, in the collector's
// pattern: each object's output confirmed in one chunk (a typical CloudTrail file), its checkpoint made
// complete, its message deleted a moment later (the entry removed), confirmations arriving a few objects
// at a time (one fsync's or one POST's). Compared with what the main thread spends per object anyway
// (bench/eps.ts --mode drain: about 1 ms of main thread per 1000-record object). Then the file sink's
// journal: one batch of `perBatch` chunks of 1 MiB noted (a CRC-32 each, one transaction). Run after a build:
//   npx tsc -p tsconfig.json && node dist/bench/checkpoints.bench.js [objects per batch, default 4]

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { silentLogger } from '../src/log.ts'
import { checkpointId, Checkpoints } from '../src/pipeline/checkpoints.ts'

const OBJECTS = 20_000
const perBatch = Number(process.argv[2] ?? 4)
const key = (i: number) => `AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/27/111122223333_CloudTrail_us-east-1_20261127T1200Z_${String(i).padStart(16, '0')}.json.gz`

async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ct-ckpt-bench-'))
  const store = await Checkpoints.open(dir, silentLogger())
  const turn = () => new Promise((r) => setImmediate(r))
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < OBJECTS; i += perBatch) {
    // One sink confirmation event: these objects' chunks confirmed, each object complete.
    for (let j = i; j < i + perBatch; j++) {
      store.advance('cloudtrail-logs', key(j), `"${j.toString(16).padStart(32, '0')}"`, 1000)
      store.advance('cloudtrail-logs', key(j), `"${j.toString(16).padStart(32, '0')}"`, 1000, true)
    }
    await turn()
    // Their messages deleted (SQS answered) a few batches later.
    if (i >= 4 * perBatch) store.remove(Array.from({ length: perBatch }, (_, k) => checkpointId('cloudtrail-logs', key(i - 4 * perBatch + k), `"${(i - 4 * perBatch + k).toString(16).padStart(32, '0')}"`)))
    // Commits are at most one per FLUSH_MS: wait for it as the pipeline would (the commit runs in a later turn).
    await new Promise((r) => setTimeout(r, 1))
  }
  store.flush()
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const { commits, rows, ms } = store.stats
  store.close()
  rmSync(dir, { recursive: true, force: true })
  const perObjectUs = (ms * 1000) / OBJECTS
  console.log(
    `${OBJECTS} objects, ${perBatch} per confirmation: ${commits} commits, ${rows} rows, ${ms.toFixed(0)} ms committing ` +
      `(${((ms * 1000) / commits).toFixed(0)} µs per commit, ${perObjectUs.toFixed(1)} µs per object); ` +
      `process CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms over ${wall.toFixed(0)} ms`,
  )
}

async function journal(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ct-journal-bench-'))
  const store = await Checkpoints.open(dir, silentLogger())
  const chunk = randomBytes(1 << 20)
  const BATCHES = 500
  let crcMs = 0
  let noteMs = 0
  for (let b = 0; b < BATCHES; b++) {
    const t0 = performance.now()
    const chunks = Array.from({ length: perBatch }, (_, k) => ({ start: (b * perBatch + k) << 20, end: (b * perBatch + k + 1) << 20, crc: crc32(chunk), tag: { bucket: 'cloudtrail-logs', key: key(b * perBatch + k), etag: '"e"', through: 1000 } }))
    const t1 = performance.now()
    store.journal.writing('/var/log/cloudtrail.ndjson', { dev: 1, ino: 2, chunks })
    crcMs += t1 - t0
    noteMs += performance.now() - t1
  }
  store.close()
  rmSync(dir, { recursive: true, force: true })
  console.log(
    `journal: ${BATCHES} batches of ${perBatch} chunks of 1 MiB: CRC-32 ${((crcMs * 1000) / (BATCHES * perBatch)).toFixed(0)} µs per MiB, ` +
      `the note ${((noteMs * 1000) / BATCHES).toFixed(0)} µs per batch`,
  )
}

await run()
await journal()
