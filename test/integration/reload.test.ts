// SIGHUP rereads the config file of a running `run` (the built CLI, a real signal, a real fauxqs with two
// CloudTrail wirings): an added source starts, a removed one stops receiving and leaves its queue's
// messages there, a changed one restarts, a file that does not load leaves the running configuration as
// it was and says why; nothing is lost and nothing written twice.

import { writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { logLines } from '../../src/emulator/collector-cli.ts'
import { credentials, runEnv, startCli, anotherWiring } from '../helpers/fauxqs.ts'
import { seedObjects, seqsInFile, tmpFile } from '../helpers/seed.ts'
import { waitUntil } from '../helpers/wait.ts'

useCleanup()

describe('SIGHUP', () => {
  it('starts added sources, stops removed ones, restarts changed ones, and keeps the running configuration when the file is bad', async () => {
    const emu = await emulator()
    const emuB = anotherWiring(emu, 'reload-b')
    const out = tmpFile('ct-reload-')
    const path = tmpFile('ct-reload-', 'collector.json')
    const a = { name: 'a', queue_url: emu.queueUrl, bucket: [emu.bucket] }
    const b = { name: 'b', queue_url: emuB.queueUrl, bucket: [emuB.bucket] }
    const write = (sources: unknown[]) =>
      writeFileSync(
        path,
        JSON.stringify({ endpoint: emu.endpoint, region: 'us-east-1', access_key_id: credentials.accessKeyId, wait_time: 1, cloudtrail_msg_pull_interval: 0, metrics_port: 0, format: 'json', output: `file:${out}`, sources }),
      )
    write([a])
    const run = startCli(['run', '--config', path], runEnv)
    cleanup(async () => {
      run.child.kill('SIGKILL')
      await run.result
    })
    const logs = () => logLines(run.stderr())
    const hup = async (what: string, applied: (l: Record<string, unknown>) => boolean) => {
      const before = logs().filter(applied).length
      run.child.kill('SIGHUP')
      await waitUntil(() => logs().filter(applied).length > before, what, 30_000)
    }
    const has = (seqs: string[]) => {
      const written = new Set(seqsInFile(out))
      return seqs.every((s) => written.has(s))
    }

    const first = await seedObjects(emu, 3, { per: 10, prefix: 'A1', tag: 'a1-' })
    await waitUntil(() => has(first), "source a's first records", 30_000)

    // Added: b starts, a goes on untouched.
    write([a, b])
    await hup('the reload adding b', (l) => l.msg === 'reload applied')
    const ofB = await seedObjects(emuB, 3, { per: 10, prefix: 'B1', tag: 'b1-' })
    await waitUntil(() => has(ofB), "source b's records", 30_000)
    expect(logs().filter((l) => String(l.msg).startsWith('reload: stopping the source'))).toEqual([])

    // A file that does not parse: refused, said why, both go on.
    writeFileSync(path, '{ "sources": [')
    await hup('the refused reload', (l) => l.msg === 'reload refused: the configuration does not load; the running one is kept')
    const second = await seedObjects(emu, 2, { per: 10, prefix: 'A2', tag: 'a2-' })
    await waitUntil(() => has(second), 'a to go on after a refused reload', 30_000)

    // Removed: a stops; what arrives on its queue stays there.
    write([b])
    await hup('the reload removing a', (l) => l.msg === 'reload applied')
    expect(logs().some((l) => String(l.msg).startsWith('reload: stopping the source') && l.source === 'a')).toBe(true)
    const waiting = await seedObjects(emu, 2, { per: 10, prefix: 'A3', tag: 'a3-' })
    await new Promise((resolve) => setTimeout(resolve, 3000))
    expect(seqsInFile(out).filter((s) => s.startsWith('a3-'))).toEqual([])
    expect(emu.depth()).toMatchObject({ ready: 2, inflight: 0 })

    // Added again, and b changed (two receivers): a takes what waited, b restarts and goes on.
    write([a, { ...b, cloudtrail_msg_pull_thread_num: 2 }])
    await hup('the reload adding a and changing b', (l) => l.msg === 'reload applied' && l.started === 2)
    expect(logs().some((l) => String(l.msg).startsWith('reload: stopping the source') && l.source === 'b')).toBe(true)
    const more = await seedObjects(emuB, 2, { per: 10, prefix: 'B2', tag: 'b2-' })
    await waitUntil(() => has(waiting) && has(more), 'what waited on a, and b after its restart', 30_000)

    run.child.kill('SIGTERM')
    const res = await run.result
    expect(res.code, res.stderr).toBe(0)
    // Everything once: nothing lost, nothing written twice across the stops and starts.
    const written = seqsInFile(out)
    const all = [...first, ...ofB, ...second, ...waiting, ...more]
    expect(written.length).toBe(all.length)
    expect(new Set(written)).toEqual(new Set(all))
    expect(emu.remaining()).toBe(0)
    expect(emuB.remaining()).toBe(0)
  }, 180_000)
})
