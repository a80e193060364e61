// kill -9 mid-flight: a collector killed with SIGKILL while draining a queue, then started again,
// delivers every record at least once; the file sink never leaves a torn line. Reports the duplicates.

import { existsSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runArgs, runCli, runEnv, startCli, startEmulator, type Emulator } from '../helpers/fauxqs.ts'
import { seedObjects, tmpFile } from '../helpers/seed.ts'
import { waitUntil } from '../helpers/wait.ts'

const OBJECTS = 60
const PER_OBJECT = 150
const RING = 8
const IN_FLIGHT = 4

describe('kill -9 mid-flight', () => {
  let emu: Emulator

  beforeAll(async () => {
    emu = await startEmulator({ visibilityTimeout: 3 })
    await seedObjects(emu, OBJECTS, { per: PER_OBJECT, prefix: 'Crash' })
  })

  afterAll(async () => {
    await emu?.stop()
  })

  it('delivers every record at least once across two kills, with whole lines only', async () => {
    const out = tmpFile('ct-crash-')
    const flags = [
      '--format', 'json',
      '--output', `file:${out}`,
      '--visibility-timeout', '3',
      '--ring-size', String(RING),
      '--max-objects-in-flight', String(IN_FLIGHT),
      '--parse-threads', '2',
    ]
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 1 : 0)
    const total = OBJECTS * PER_OBJECT
    const kills: number[] = []
    for (const fraction of [0.25, 0.6]) {
      const run = startCli(runArgs(emu, flags, { drain: false }), runEnv)
      await waitUntil(() => lines() >= total * fraction, `${fraction * 100}% of the records`, 60_000)
      run.child.kill('SIGKILL')
      const res = await run.result
      expect(res.signal).toBe('SIGKILL')
      kills.push(lines())
      await new Promise((r) => setTimeout(r, 3500)) // the killed collector's messages become visible again
    }
    const last = await runCli(runArgs(emu, flags), runEnv)
    expect(last.code, last.stderr.slice(-2000)).toBe(0)

    const text = readFileSync(out, 'utf8')
    expect(text.endsWith('\n')).toBe(true)
    const seen = new Map<string, number>()
    for (const line of text.split('\n').slice(0, -1)) {
      const seq = (JSON.parse(line) as { seq: string }).seq // throws on a torn line
      seen.set(seq, (seen.get(seq) ?? 0) + 1)
    }
    for (let i = 0; i < OBJECTS; i++) for (let j = 0; j < PER_OBJECT; j++) expect(seen.has(`${i}-${j}`), `${i}-${j}`).toBe(true)
    const duplicates = [...seen.values()].reduce((a, n) => a + n - 1, 0)
    // Bounded by what was in flight at each kill: at most the ring, the objects being fetched and parsed
    // and those waiting for the sink's confirmation (5 per slot), and one receive batch of messages, each
    // of one object.
    const bound = kills.length * (RING + IN_FLIGHT * 5 + 10) * PER_OBJECT
    console.log(`kill -9: ${total} records, ${kills.length} kills, ${duplicates} duplicates (${(duplicates / kills.length).toFixed(0)} per kill; bound ${bound / kills.length} per kill)`)
    expect(duplicates).toBeLessThanOrEqual(bound)
    expect(emu.remaining()).toBe(0)
  }, 180_000)
})
