// The checkpoint store (state_dir): what is advanced survives a reopen (as after kill -9), deletes and the
// bounds remove entries, one collector per directory, and commits are coalesced.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/log.ts'
import { checkpointId, Checkpoints } from '../../src/pipeline/checkpoints.ts'

const dir = () => mkdtempSync(join(tmpdir(), 'ct-ckpt-'))
const log = silentLogger()

describe('Checkpoints', () => {
  it('keeps the largest count and completeness per bucket, key and ETag across a reopen', async () => {
    const d = dir()
    const a = await Checkpoints.open(d, log)
    a.advance('b', 'k/1', '"e1"', 10)
    a.advance('b', 'k/1', '"e1"', 4) // an older confirmation never moves it back
    a.advance('b', 'k/2', '"e2"', 7, true)
    a.advance('b', 'k/1', '"other"', 3) // another content under the same key
    expect(a.get(checkpointId('b', 'k/1', '"e1"'))).toEqual(expect.objectContaining({ records: 10, complete: false }))
    a.flush()
    a.close()
    const b = await Checkpoints.open(d, log)
    expect(b.size).toBe(3)
    expect(b.get(checkpointId('b', 'k/1', '"e1"'))).toEqual(expect.objectContaining({ records: 10, complete: false }))
    expect(b.get(checkpointId('b', 'k/2', '"e2"'))).toEqual(expect.objectContaining({ records: 7, complete: true }))
    expect(b.get(checkpointId('b', 'k/1', '"other"'))?.records).toBe(3)
    b.close()
  })

  it('commits right after the turn that advanced, coalesced in one transaction', async () => {
    const d = dir()
    const a = await Checkpoints.open(d, log)
    for (let i = 0; i < 50; i++) a.advance('b', `k/${i}`, '"e"', i + 1)
    expect(a.stats.commits).toBe(0)
    await new Promise((r) => setImmediate(r))
    expect(a.stats.commits).toBe(1)
    expect(a.stats.rows).toBe(50)
    // Within FLUSH_MS of that commit, the next waits for the rest of it.
    a.advance('b', 'k/0', '"e"', 100)
    await new Promise((r) => setTimeout(r, 20))
    expect(a.stats.commits).toBe(2)
    a.close()
  })

  it('removes the entries of a deleted message, in memory and in the file', async () => {
    const d = dir()
    const a = await Checkpoints.open(d, log)
    a.advance('b', 'k/1', '"e"', 5)
    a.advance('b', 'k/2', '"e"', 5)
    a.flush()
    a.remove([checkpointId('b', 'k/1', '"e"'), checkpointId('b', 'never', '"e"')])
    expect(a.get(checkpointId('b', 'k/1', '"e"'))).toBeUndefined()
    a.close()
    const b = await Checkpoints.open(d, log)
    expect(b.size).toBe(1)
    expect(b.get(checkpointId('b', 'k/2', '"e"'))?.records).toBe(5)
    b.close()
  })

  it('is bounded: the oldest entries go beyond maxEntries, and entries older than maxAgeMs', async () => {
    const d = dir()
    let now = 1_000_000
    const clock = () => now
    const a = await Checkpoints.open(d, log, { maxEntries: 3, maxAgeMs: 10_000, clock })
    for (let i = 0; i < 5; i++) {
      a.advance('b', `k/${i}`, '"e"', 1)
      now += 1000
    }
    expect(a.size).toBe(3)
    expect(a.get(checkpointId('b', 'k/0', '"e"'))).toBeUndefined()
    a.advance('b', 'k/2', '"e"', 2) // an update makes it the youngest
    a.advance('b', 'k/5', '"e"', 1)
    expect(a.get(checkpointId('b', 'k/2', '"e"'))).toBeDefined()
    expect(a.get(checkpointId('b', 'k/3', '"e"'))).toBeUndefined()
    a.close()
    now += 20_000
    const b = await Checkpoints.open(d, log, { maxEntries: 3, maxAgeMs: 10_000, clock })
    expect(b.size).toBe(0)
    b.close()
  })

  it('refuses a second collector on the same state_dir (ERR_STATE), and a directory it cannot create', async () => {
    const d = dir()
    const a = await Checkpoints.open(d, log)
    await expect(Checkpoints.open(d, log)).rejects.toMatchObject({ code: 'ERR_STATE', message: expect.stringMatching(/in use by another collector/) })
    a.close()
    const b = await Checkpoints.open(d, log)
    b.close()
    writeFileSync(join(d, 'a-file'), '')
    await expect(Checkpoints.open(join(d, 'a-file', 'sub'), log)).rejects.toMatchObject({ code: 'ERR_STATE', message: expect.stringMatching(/ENOTDIR/) })
  })

  it('keys with any character (NUL and newlines included) round-trip', async () => {
    const d = dir()
    const a = await Checkpoints.open(d, log)
    const key = 'AWSLogs/1/Cloud\u0000Trail/\nx y/é.json.gz'
    a.advance('b', key, '"e"', 9)
    a.close()
    const b = await Checkpoints.open(d, log)
    expect(b.get(checkpointId('b', key, '"e"'))?.records).toBe(9)
    b.remove([checkpointId('b', key, '"e"')])
    b.close()
    const c = await Checkpoints.open(d, log)
    expect(c.size).toBe(0)
    c.close()
  })
})
