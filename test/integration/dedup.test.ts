// dedup_window against the built collector: CloudTrail delivering events twice, in two log files. With one
// parse thread every repeated eventID is dropped (and only those); without the setting every copy is written.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cloudTrailKey, runArgs, runCli, runEnv, startEmulator, type Emulator } from '../helpers/fauxqs.ts'
import { eventIdOf, seqsOf, tmpFile } from '../helpers/seed.ts'
import { fixtureRecords } from '../helpers/fixtures.ts'

const base = fixtureRecords().map((r) => r.record)
const PER = 100
/** Object 1 repeats this many of object 0's events (their eventIDs), with records of its own beside them. */
const REPEATED = 40

describe('dedup_window', () => {
  let emu: Emulator

  beforeAll(async () => {
    emu = await startEmulator({ visibilityTimeout: 30 })
  })

  afterAll(async () => {
    await emu?.stop()
  })

  const seed = async (tag: string) => {
    const keys: string[] = []
    for (let i = 0; i < 2; i++) {
      const records = Array.from({ length: PER }, (_, j) => {
        const seq = `${tag}${i}-${j}`
        // Object 1's first REPEATED records are object 0's events again: the same eventID.
        const eventID = i === 1 && j < REPEATED ? eventIdOf(`${tag}0-${j}`) : eventIdOf(seq)
        return { ...base[j % base.length], eventID, seq }
      })
      const key = cloudTrailKey('111122223333', 'us-east-1', `20261127T12${i}0Z`, `Dedup${tag}${String(i).padStart(8, '0')}`)
      await emu.putLog(key, records)
      keys.push(key)
    }
    for (const key of keys) await emu.notify([key])
  }

  it('drops the records whose eventID the parse thread wrote from another object, and only those', async () => {
    await seed('a')
    const out = tmpFile('ct-dedup-')
    const res = await runCli(runArgs(emu, ['--format', 'json', '--output', `file:${out}`, '--parse-threads', '1', '--dedup-window', '1000']), runEnv)
    expect(res.code, res.stderr.slice(-2000)).toBe(0)
    const seqs = seqsOf(readFileSync(out, 'utf8').split('\n'))
    expect(seqs).toHaveLength(2 * PER - REPEATED)
    expect(new Set(seqs).size).toBe(seqs.length)
    // Whichever object came first keeps its copy of each repeated event.
    const repeatedKept = seqs.filter((s) => Number(s.split('-')[1]) < REPEATED)
    expect(repeatedKept).toHaveLength(REPEATED)
  })

  it('writes every copy without it', async () => {
    await seed('b')
    const out = tmpFile('ct-dedup-')
    const res = await runCli(runArgs(emu, ['--format', 'json', '--output', `file:${out}`, '--parse-threads', '1']), runEnv)
    expect(res.code, res.stderr.slice(-2000)).toBe(0)
    expect(seqsOf(readFileSync(out, 'utf8').split('\n'))).toHaveLength(2 * PER)
  })
})
