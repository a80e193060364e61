// The syslog sink against a real receiver (rsyslogd), over TCP and TLS, through an outage: the receiver
// stops mid-stream (connections refused) and comes back. No record is lost; receiving pauses meanwhile.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runArgs, runEnv, startCli, startEmulator, type Emulator } from '../helpers/fauxqs.ts'
import { Rsyslog } from '../helpers/rsyslog.ts'
import { seedObjects, seqsOf } from '../helpers/seed.ts'
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
      const seqs = seqsOf(rsyslog.lines())
      expect(new Set(seqs)).toEqual(new Set(expected))
      console.log(`${scheme}: ${expected.length} records, ${atStop} received before the outage, ${seqs.length - expected.length} duplicates after reconnecting`)
      expect(emu.remaining()).toBe(0)
    } finally {
      run.child.kill('SIGKILL')
    }
  }, 120_000)
})
