// What an operator sees without Prometheus: on a terminal, the live status line of `demo` and `run`
// (checked under a real pseudo-terminal, util-linux's `script`); otherwise the same figures in the log
// every stats_log_interval.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { statsFields, statusLine } from '../../src/observe/status.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { cli, cloudTrailKey, runArgs, runEnv, startCli } from '../helpers/fauxqs.ts'
import { fixtureRecords } from '../helpers/fixtures.ts'
import { tmpFile } from '../helpers/seed.ts'
import { waitFor } from '../helpers/wait.ts'

useCleanup()

const statusPattern = /^events\/s [\d,]+ \| messages\/s [\d,.]+ \| backlog (?:[\d,]+ \(\+[\d,]+ in flight\)|–) \| message lag (?:[\d,.]+ s|–) \| capacity ratio (?:[\d,.]+|–) \| errors [\d,]+$/

describe('status', () => {
  it('formats the status line and the stats log fields, unknowns as such', () => {
    const known = { eventsPerSecond: 12345.6, messagesPerSecond: 3.25, backlog: 1200, inflight: 30, messageLag: 4.04, capacityRatio: 0.456, errors: 2 }
    expect(statusLine(known)).toBe('events/s 12,346 | messages/s 3.3 | backlog 1,200 (+30 in flight) | message lag 4.0 s | capacity ratio 0.46 | errors 2')
    expect(statsFields(known)).toEqual({ eventsPerSecond: 12345.6, messagesPerSecond: 3.3, backlog: 1200, inflight: 30, messageLagSeconds: 4, capacityRatio: 0.46, errors: 2 })
    const unknown = { ...known, backlog: null, inflight: null, messageLag: null, capacityRatio: null }
    expect(statusLine(unknown)).toBe('events/s 12,346 | messages/s 3.3 | backlog – | message lag – | capacity ratio – | errors 2')
    expect(statsFields(unknown)).toMatchObject({ backlog: null, inflight: null, messageLagSeconds: null, capacityRatio: null })
  })

  it('shows the live status line on a terminal when stdout is not the sink, and no stats in the log', async () => {
    const out = tmpFile('ct-status-', 'demo.log')
    const command = [process.execPath, cli, 'demo', '--duration', '5', '--eps', '500', '--output', `file:${out}`, '--metrics-port', '0', '--status-interval', '1', '--stats-log-interval', '1']
    // `script` runs the demo on a pseudo-terminal and copies what it shows (stdout and stderr) to its stdout.
    const child = spawn('script', ['-qfec', command.map((a) => `'${a}'`).join(' '), '/dev/null'], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let shown = ''
    child.stdout.on('data', (d: Buffer) => (shown += d.toString('utf8')))
    const [code] = (await once(child, 'close')) as [number | null]
    expect(code, shown.slice(-2000)).toBe(0)
    // A line every status_interval (1 s here) over the 5 s of traffic, with records flowing.
    const lines = shown.split(/\r?\n/).filter((l) => statusPattern.test(l))
    expect(lines.length, shown.slice(-2000)).toBeGreaterThanOrEqual(3)
    expect(lines.some((l) => /^events\/s [1-9]/.test(l)), lines.join('\n')).toBe(true)
    expect(shown).not.toContain('"msg":"stats"')
  }, 60_000)

  it('logs the same figures every stats_log_interval when stdout is not a terminal', async () => {
    const emu = await emulator()
    const records = fixtureRecords().map((r) => r.record)
    const out = tmpFile('ct-status-', 'out.log')
    const run = startCli(runArgs(emu, ['--output', `file:${out}`, '--stats-log-interval', '1'], { drain: false }), runEnv)
    cleanup(async () => {
      run.child.kill('SIGKILL')
      await run.result
    })
    // A steady trickle of objects, so that the rates are above 0 when a stats line is logged.
    let i = 0
    const trickle = setInterval(() => {
      const key = cloudTrailKey('111122223333', 'us-east-1', '20261126T1200Z', `Stats${String(i++).padStart(11, '0')}`)
      emu
        .putLog(key, records.slice(0, 20))
        .then(() => emu.notify([key]))
        .catch(() => {}) // the emulator stopping under the last one
    }, 200)
    cleanup(async () => clearInterval(trickle))
    const stats = () =>
      run
        .stderr()
        .split('\n')
        .filter((l) => l.includes('"msg":"stats"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    const busy = await waitFor(async () => stats().find((s) => (s.eventsPerSecond as number) > 0), 'a stats line with records flowing', 20_000, 100)
    expect(busy).toMatchObject({ level: 30, errors: 0 })
    expect(Object.keys(busy)).toEqual(expect.arrayContaining(['eventsPerSecond', 'messagesPerSecond', 'backlog', 'inflight', 'messageLagSeconds', 'capacityRatio']))
    const before = stats().length
    await new Promise((r) => setTimeout(r, 2500))
    expect(stats().length - before).toBeGreaterThanOrEqual(2) // every second
    run.child.kill('SIGTERM')
    expect((await run.result).code).toBe(0)
  }, 60_000)
})
