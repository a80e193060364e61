// Several collectors on one queue (a fleet): three `run` processes with the same settings drain one
// queue, each into a file of its own; one is killed with SIGKILL mid-way and started again on its file.
// SQS hands each message to one collector at a time, so every collector writes a share; the killed
// collector's messages come back once their visibility timeout has run out and another collector (or
// the restarted one) writes them; every record is written at least once across the files, whole lines
// only, and the duplicates stay within what the README promises for a kill -9. Reports the shares and
// the duplicates.

import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parsePrometheusText, sampleValue } from '../../bench/lib/prometheus-text.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { runArgs, runEnv, startCli, type CliProcess, type Emulator } from '../helpers/fauxqs.ts'
import { freePort } from '../helpers/process.ts'
import { eventIdOf, seedObjects, tmpFile } from '../helpers/seed.ts'
import { waitUntil } from '../helpers/wait.ts'

useCleanup()

const OBJECTS = 300
const PER_OBJECT = 200
const PREFIX = 'Fleet'
const RING = 8
const IN_FLIGHT = 4
/** Seconds: short, so that the killed collector's messages come back within the test. */
const VISIBILITY = 5
/**
 * Messages one collector holds at most, each of one object here (README, *Delivery guarantees*: at most
 * ring_size + 5 x max_objects_in_flight, objects fetched and parsed and up to 4 per slot waiting for the
 * sink's confirmation), plus one receive batch, as test/integration/crash.test.ts counts them.
 */
const HELD = RING + 5 * IN_FLIGHT + 10

/** The object a record came from: seq `${object}-${record}`. */
const objectOfSeq = (seq: string) => Number(seq.split('-')[0])
/** The object an SQS message names: its key ends in PREFIX and the object's number, 16 characters. */
const objectOfBody = (body: string) => Number(new RegExp(`${PREFIX}(\\d{${16 - PREFIX.length}})`).exec(body)?.[1] ?? NaN)

interface Output {
  path: string
  /** eventID and seq of every line, in order. */
  records: { eventID: string; seq: string }[]
}

/** Every line of a collector's file: it must end with a newline, and every line be a whole record. */
function readOutput(path: string): Output {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : ''
  expect(text === '' || text.endsWith('\n'), `${path} ends with a whole line`).toBe(true)
  const records = text
    .split('\n')
    .slice(0, -1)
    .map((line) => {
      const r = JSON.parse(line) as { eventID: unknown; seq: unknown } // throws on a torn line
      expect(typeof r.eventID === 'string' && typeof r.seq === 'string', line.slice(0, 200)).toBe(true)
      return { eventID: r.eventID as string, seq: r.seq as string }
    })
  return { path, records }
}

const newlines = (path: string) => {
  if (!existsSync(path)) return 0
  const b = readFileSync(path)
  let n = 0
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++
  return n
}

async function metric(port: number, name: string): Promise<number | undefined> {
  try {
    return sampleValue(parsePrometheusText(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()), name)
  } catch {
    return undefined // not listening (yet, or any more)
  }
}

/**
 * The receipts of messages SQS counted in flight at one moment (the kill), and, polled every 50 ms, when
 * each of them was received again: under a new receipt handle, which only a new receive gives (a
 * visibility extension keeps the handle). A message deleted with its handle is never seen again.
 */
class ReceiptWatch {
  readonly held = new Map<string, { handle: string; deadline: number; object: number }>()
  /** Message id -> when it was received again (at the latest). */
  readonly again = new Map<string, number>()
  private readonly timer: NodeJS.Timeout

  constructor(private readonly emu: Emulator) {
    for (const e of emu.server.inspectQueue(emu.queueName)?.messages.inflight ?? [])
      this.held.set(e.message.messageId, { handle: e.receiptHandle, deadline: e.visibilityDeadline, object: objectOfBody(e.message.body) })
    this.timer = setInterval(() => this.poll(), 50)
  }

  private poll(): void {
    const now = Date.now()
    for (const e of this.emu.server.inspectQueue(this.emu.queueName)?.messages.inflight ?? []) {
      const was = this.held.get(e.message.messageId)
      if (!was || e.receiptHandle === was.handle || this.again.has(e.message.messageId)) continue
      // The new receipt's deadline is its receive time plus the visibility timeout asked for, until a
      // heartbeat moves it (half a timeout later): the receive was at the earlier of the two.
      this.again.set(e.message.messageId, Math.min(now, e.visibilityDeadline - VISIBILITY * 1000))
    }
  }

  stop(): void {
    this.poll()
    clearInterval(this.timer)
  }
}

describe('a fleet: several collectors on one queue', () => {
  it('three collectors share one queue; one killed with SIGKILL mid-way and started again: every record at least once, whole lines, duplicates bounded', async () => {
    const started = Date.now()
    const emu = await emulator({ visibilityTimeout: VISIBILITY })
    const seqs = await seedObjects(emu, OBJECTS, { per: PER_OBJECT, prefix: PREFIX, eventIds: true })
    const seeded = Date.now()
    const expected = new Set(seqs.map(eventIdOf))
    expect(expected.size).toBe(OBJECTS * PER_OBJECT)

    // The same settings for every collector of the fleet; only the output and the metrics port differ.
    const flags = [
      '--format', 'json',
      '--visibility-timeout', String(VISIBILITY),
      '--ring-size', String(RING),
      '--max-objects-in-flight', String(IN_FLIGHT),
      '--parse-threads', '1',
      '--pull-interval', '1',
    ]
    const outs = [0, 1, 2].map((i) => tmpFile('ct-fleet-', `collector-${i}.ndjson`))
    const running: CliProcess[] = []
    const start = async (i: number) => {
      const port = await freePort()
      const run = startCli(runArgs(emu, [...flags, '--output', `file:${outs[i]}`], { drain: false, metricsPort: port }), runEnv)
      running.push(run)
      return { run, port }
    }
    cleanup(async () => {
      for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL')
      await Promise.all(running.map((r) => r.result))
    })
    const fleet = [await start(0), await start(1), await start(2)]

    // Collector 0 is killed mid-way, once a quarter of the messages are deleted and it has written two
    // objects' worth of records, as soon as it writes again: what it wrote last is likely not confirmed
    // yet, its message not deleted.
    await waitUntil(() => emu.remaining() <= OBJECTS * 0.75, 'a quarter of the messages to be deleted', 60_000)
    const before = Math.max(newlines(outs[0]), 2 * PER_OBJECT - 1)
    await waitUntil(() => newlines(outs[0]) > before, 'collector 0 to write', 60_000)
    fleet[0].run.child.kill('SIGKILL')
    const killed = await fleet[0].run.result
    expect(killed.signal).toBe('SIGKILL')
    const killedAt = Date.now()
    // What SQS counts in flight now is the killed collector's messages and what the others hold.
    const watch = new ReceiptWatch(emu)
    cleanup(async () => watch.stop())
    const atKill = { written: outs.map(newlines), depth: emu.depth() }
    fleet[0] = await start(0) // the same collector again, on its file

    await waitUntil(() => emu.remaining() === 0, 'the fleet to drain the queue', 120_000)
    const drained = Date.now()
    watch.stop()
    const deleted = await Promise.all(fleet.map((f) => metric(f.port, 'cloudtrail_sqs_messages_deleted_total')))
    for (const f of fleet) f.run.child.kill('SIGTERM')
    for (const f of fleet) {
      const res = await f.run.result
      expect(res.code, res.stderr.slice(-2000)).toBe(0)
    }

    // Every record at least once across the files, whole lines only, nothing else.
    const outputs = outs.map(readOutput)
    const count = new Map<string, number>()
    const seqOf = new Map<string, string>()
    for (const o of outputs)
      for (const r of o.records) {
        count.set(r.eventID, (count.get(r.eventID) ?? 0) + 1)
        seqOf.set(r.eventID, r.seq)
      }
    const missing = [...expected].filter((id) => !count.has(id))
    expect(missing.length, `records never written, e.g. ${missing.slice(0, 3).join(', ')}`).toBe(0)
    expect([...count.keys()].filter((id) => !expected.has(id))).toEqual([])
    for (const [id, seq] of seqOf) expect(eventIdOf(seq), seq).toBe(id)

    // The queue was shared: each collector wrote a share, the killed one before it was killed.
    const shares = outputs.map((o) => o.records.length)
    expect(atKill.written[0]).toBeGreaterThanOrEqual(2 * PER_OBJECT)
    for (const i of [1, 2]) expect(shares[i], `collector ${i}'s share`).toBeGreaterThanOrEqual(PER_OBJECT)
    for (const i of [1, 2]) expect(deleted[i], `collector ${i}'s deletes`).toBeGreaterThan(0)

    // The killed collector's messages came back: received again under a new receipt, never before the
    // visibility deadline SQS held them to at the kill. No more than one collector holds.
    const back = [...watch.again.entries()].map(([id, at]) => ({ id, at, ...watch.held.get(id)! }))
    expect(back.length, 'messages the killed collector held, received again').toBeGreaterThan(0)
    expect(back.length).toBeLessThanOrEqual(HELD)
    for (const m of back) expect(m.at, `message ${m.id} received again before its visibility deadline`).toBeGreaterThanOrEqual(m.deadline - 50)

    // Duplicates: only records of objects whose messages came back, and within the README's bound for
    // one kill -9 (every object of the messages in flight, HELD messages of PER_OBJECT records).
    const duplicates = [...count.values()].reduce((a, n) => a + n - 1, 0)
    const backObjects = new Set(back.map((m) => m.object))
    const dupObjects = new Set([...count].filter(([, n]) => n > 1).map(([id]) => objectOfSeq(seqOf.get(id)!)))
    expect([...dupObjects].filter((o) => !backObjects.has(o)), 'duplicated objects whose messages did not come back').toEqual([])
    const bound = HELD * PER_OBJECT
    expect(duplicates).toBeLessThanOrEqual(bound)
    expect(duplicates).toBeLessThanOrEqual(back.length * PER_OBJECT)
    expect(emu.remaining()).toBe(0)

    const s = (ms: number) => (ms / 1000).toFixed(1)
    const delays = back.map((m) => m.at - killedAt).sort((a, b) => a - b)
    console.log(
      `fleet: ${OBJECTS * PER_OBJECT} records in ${OBJECTS} objects; seeded in ${s(seeded - started)} s, drained ${s(drained - seeded)} s after; ` +
        `shares ${shares.join(' / ')} records (deleted ${deleted.join(' / ')} messages since start; collector 0 restarted); ` +
        `at the kill collector 0 had written ${atKill.written[0]}, the fleet ${atKill.written.reduce((a, b) => a + b, 0)}, queue ${atKill.depth.ready} visible ${atKill.depth.inflight} in flight; ` +
        `${back.length} of its messages came back ${s(delays[0])}–${s(delays[delays.length - 1])} s after the kill; ` +
        `${duplicates} duplicates (bound ${bound}: ${HELD} messages x ${PER_OBJECT} records)`,
    )
  }, 180_000)
})
