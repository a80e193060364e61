// Numbered CloudTrail records for the integration suites: objects of real fixture records, each tagged
// with a `seq` ("object-record") and announced through SNS; and the seqs read back out of what the
// collector wrote (a file, the bodies a test SIEM accepted, rsyslogd's lines).

import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cloudTrailKey, type Emulator } from './fauxqs.ts'
import { fixtureRecords } from './fixtures.ts'
import type { TestHttpServer } from './servers.ts'

const base = fixtureRecords().map((r) => r.record)
/** Objects put at once while seeding. */
const PUT_LANES = 8

export interface SeedOptions {
  /** Records per object. */
  per: number
  /** Object keys per notification; the last notification may hold fewer. 1 by default. */
  keysPerMessage?: number
  /** Start of the 16-character suffix of each object's key, which the object's number fills up. */
  prefix: string
  /** Put before each seq, so that two seedings of one queue never share a seq. None by default. */
  tag?: string
  /**
   * Give each record an eventID of its own, eventIdOf(its seq), instead of its fixture record's: the
   * fixtures' records repeat across objects, and 456 of them have 154 eventIDs between them. Off by default.
   */
  eventIds?: boolean
}

/** A UUID, the form of CloudTrail's eventID, made from `seq`: the same seq gives the same eventID. */
export function eventIdOf(seq: string): string {
  const h = createHash('sha256').update(seq).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/**
 * `objects` CloudTrail logs in the emulator's bucket, record j of object i a fixture record with seq
 * `${tag}${i}-${j}` (and with `eventIds`, eventID eventIdOf(that seq)), announced by CloudTrail notifications
 * of `keysPerMessage` keys each. Returns every seq.
 */
export async function seedObjects(emu: Emulator, objects: number, { per, keysPerMessage = 1, prefix, tag = '', eventIds = false }: SeedOptions): Promise<string[]> {
  const seqs: string[] = []
  const keys: string[] = []
  const puts: (() => Promise<void>)[] = []
  for (let i = 0; i < objects; i++) {
    const records = Array.from({ length: per }, (_, j) => {
      const seq = `${tag}${i}-${j}`
      return { ...base[(i * per + j) % base.length], ...(eventIds ? { eventID: eventIdOf(seq) } : {}), seq }
    })
    seqs.push(...records.map((r) => r.seq))
    const stamp = `202611${String(10 + (i % 18)).padStart(2, '0')}T1200Z`
    const key = cloudTrailKey('111122223333', 'us-east-1', stamp, `${prefix}${String(i).padStart(16 - prefix.length, '0')}`)
    keys.push(key)
    puts.push(() => emu.putLog(key, records))
  }
  // Every object first, PUT_LANES at a time (one at a time, the round trips added up to seconds in the
  // suites that seed a hundred objects); then the notifications, one after another in the objects' order.
  let next = 0
  const lane = async () => {
    while (next < puts.length) await puts[next++]()
  }
  await Promise.all(Array.from({ length: Math.min(PUT_LANES, puts.length) }, lane))
  for (let i = 0; i < keys.length; i += keysPerMessage) await emu.notify(keys.slice(i, i + keysPerMessage))
  return seqs
}

/** A path in a new temp dir (named after `prefix`), for the collector's output. */
export function tmpFile(prefix: string, name = 'out.ndjson'): string {
  return join(mkdtempSync(join(tmpdir(), prefix)), name)
}

/** The seq of each NDJSON line; empty lines skipped. */
export function seqsOf(lines: string[]): string[] {
  return lines.filter(Boolean).map((l) => String((JSON.parse(l) as { seq: string }).seq))
}

/** The seqs in an NDJSON file, in order; none while the file does not exist. */
export function seqsInFile(path: string): string[] {
  if (!existsSync(path)) return []
  // Only whole lines: a collector still writing may have left the last one half written.
  const text = readFileSync(path, 'utf8')
  return seqsOf(text.slice(0, text.lastIndexOf('\n') + 1).split('\n'))
}

/** The seqs in the NDJSON bodies a test SIEM accepted (2xx), in order. */
export function acceptedSeqs(siem: Pick<TestHttpServer, 'accepted'>): string[] {
  return seqsOf(siem.accepted().flatMap((b) => b.toString('utf8').split('\n')))
}
