// The syslog sink against a real receiver (rsyslogd), over TCP and TLS, through an outage: the receiver
// stops mid-stream (connections refused) and comes back. No record is lost; receiving pauses meanwhile.
// And over TCP, two crashes of a receiver that had stopped reading, one right after the other.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runArgs, runEnv, startCli, startEmulator, type Emulator } from '../helpers/fauxqs.ts'
import { Rsyslog } from '../helpers/rsyslog.ts'
import { seedObjects } from '../helpers/seed.ts'
import { makeTestCerts, type TestCerts } from '../helpers/tls-cert.ts'
import { waitUntil } from '../helpers/wait.ts'

const OBJECTS = 40
const PER_OBJECT = 100

describe.each(['tcp', 'tls'] as const)('syslog over %s to rsyslogd', (scheme) => {
  let emu: Emulator
  let certs: TestCerts | undefined
  let rsyslog: Rsyslog
  const expected: string[] = []

  beforeAll(async () => {
    certs = scheme === 'tls' ? await makeTestCerts() : undefined
    rsyslog = await Rsyslog.start(certs)
    emu = await startEmulator()
    expected.push(...(await seedObjects(emu, OBJECTS, { per: PER_OBJECT, prefix: 'Sys' })))
  })

  afterAll(async () => {
    await rsyslog?.stop()
    await emu?.stop()
    await certs?.cleanup()
  })

  it('delivers every record through a receiver outage', async () => {
    const args = runArgs(emu, [
      '--format', 'json',
      '--output', `${scheme}://127.0.0.1:${rsyslog.port}`,
      '--max-objects-in-flight', '2',
      '--ring-size', '4',
      ...(certs ? ['--tls-ca-file', certs.caFile] : []),
    ])
    const run = startCli(args, runEnv)
    try {
      await waitUntil(() => rsyslog.lines().length >= 1000, 'the first records at rsyslogd', 30_000)
      await rsyslog.stop()
      const atStop = rsyslog.lines().length
      await new Promise((r) => setTimeout(r, 3000))
      // While the receiver is down, nothing more is deleted than was confirmed before, and receiving pauses.
      expect(emu.remaining()).toBeGreaterThan(0)
      const heldDuringOutage = emu.server.inspectQueue(emu.queueName)?.messages.inflight.length ?? 0
      expect(heldDuringOutage).toBeLessThanOrEqual(4 + 2 * 5 + 10) // ring + 5 per slot + one receive
      await rsyslog.launch()
      const res = await run.result
      expect(res.code, res.stderr.slice(-2000)).toBe(0)
      expect(res.stderr).toMatch(/syslog connection failed; reconnecting/)
      const seqs = rsyslog.seqs()
      expect(new Set(seqs)).toEqual(new Set(expected))
      console.log(`${scheme}: ${expected.length} records, ${atStop} received before the outage, ${seqs.length - expected.length} duplicates after reconnecting`)
      expect(emu.remaining()).toBe(0)
    } finally {
      run.child.kill('SIGKILL')
    }
  }, 120_000)
})

// Two crashes (kill -9) of a receiver that had stopped reading: what the kernel held for it is lost each
// time, including, the second time, what the sink had written again after the first. TCP only: a frozen
// rsyslogd never completes a TLS handshake, so the second connection would carry nothing.
describe('syslog over tcp to an rsyslogd that crashes twice with records it had not read', () => {
  let emu: Emulator
  let rsyslog: Rsyslog
  const expected: string[] = []

  beforeAll(async () => {
    rsyslog = await Rsyslog.start()
    emu = await startEmulator()
    expected.push(...(await seedObjects(emu, OBJECTS, { per: PER_OBJECT, prefix: 'Twice' })))
  })

  afterAll(async () => {
    await rsyslog?.stop()
    await emu?.stop()
  })

  it('delivers every record', async () => {
    const args = runArgs(emu, ['--format', 'json', '--output', `tcp://127.0.0.1:${rsyslog.port}`, '--max-objects-in-flight', '2', '--ring-size', '4'], { drain: false })
    const run = startCli(args, runEnv)
    try {
      await waitUntil(() => rsyslog.lines().length >= 1000, 'the first records at rsyslogd', 30_000)
      for (let crash = 1; crash <= 2; crash++) {
        // Frozen, it reads nothing: the sink's writes pile up in the kernel, confirmed and unread.
        rsyslog.freeze()
        await waitUntil(() => rsyslog.unreadBytes() > 0, `records rsyslogd has not read (crash ${crash})`, 30_000)
        await new Promise((r) => setTimeout(r, 500))
        await rsyslog.crash()
        await rsyslog.launch()
        if (crash === 1) rsyslog.freeze() // before the sink reconnects: what it writes again stays unread too
      }
      await waitUntil(() => new Set(rsyslog.seqs()).size >= expected.length, 'every record at rsyslogd', 60_000).catch(() => {})
      const seqs = rsyslog.seqs()
      const received = new Set(seqs)
      expect(expected.filter((s) => !received.has(s))).toEqual([])
      console.log(`tcp, two crashes: ${expected.length} records, ${seqs.length - expected.length} duplicates`)
      await waitUntil(() => emu.remaining() === 0, 'every message deleted', 30_000)
      expect(run.stderr()).toMatch(/wrote recently confirmed records again after a broken connection/)
    } finally {
      run.child.kill('SIGKILL')
    }
  }, 180_000)
})
