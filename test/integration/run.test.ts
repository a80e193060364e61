// `run --drain` against a real fauxqs server seeded with real CloudTrail records in every notification
// style, plus test events, digests, other logs, broken messages and objects, and a foreign bucket.

import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { flattenRecord } from '../../workers/fortisiem/reference.ts'
import { cloudTrailKey, credentials, runArgs, runCli, runEnv, startEmulator, type Emulator } from '../helpers/fauxqs.ts'
import { fixtureRecords } from '../helpers/fixtures.ts'

const records = fixtureRecords().map((r) => r.record)
const FOREIGN = 'someone-elses-bucket'

/** Splits the fixture records into n objects. */
function split<T>(items: T[], n: number): T[][] {
  const out: T[][] = Array.from({ length: n }, () => [])
  items.forEach((item, i) => out[i % n].push(item))
  return out
}

describe('run --drain against fauxqs', () => {
  let emu: Emulator
  let expected: Record<string, unknown>[]
  const foreignRecord = { eventVersion: '1.08', eventName: 'MustNeverBeRead', eventSource: 'secret.amazonaws.com' }

  beforeAll(async () => {
    emu = await startEmulator({ buckets: [FOREIGN] })
    const parts = split(records, 8)
    const keys = parts.map((_, i) => cloudTrailKey('111122223333', 'us-east-1', `2026112${i}T1200Z`, `Part${i}abcdefghijk`))
    for (let i = 0; i < parts.length; i++) await emu.putLog(keys[i], parts[i])
    // An org-trail key with a space and unicode (URL-encoded in S3 events).
    const orgKey = 'AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/11/26/111122223333_CloudTrail_eu-west-1_20261126T1205Z_Ünï code+x y.json.gz'
    const orgRecords = [{ eventVersion: '1.09', eventSource: 'kms.amazonaws.com', eventName: 'Decrypt', note: 'org trail' }]
    await emu.putLog(orgKey, orgRecords)
    expected = [...parts.flat(), ...orgRecords]

    // 1. CloudTrail's notification through SNS, several keys in one message.
    await emu.notify(keys.slice(0, 3))
    // 2. The same payload raw (SNS raw message delivery).
    await emu.send(JSON.stringify({ s3Bucket: emu.bucket, s3ObjectKey: [keys[3]] }))
    // 3. S3 Event Notifications, direct and through SNS; keys URL-encoded with + for space.
    const s3Event = (key: string) =>
      JSON.stringify({
        Records: [{ eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: emu.bucket }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+'), size: 1 } } }],
      })
    await emu.send(s3Event(keys[4]))
    await emu.publish(s3Event(keys[5]))
    await emu.send(s3Event(orgKey))
    // 4. EventBridge "Object Created" (keys not encoded).
    const eventBridge = (key: string) =>
      JSON.stringify({ version: '0', 'detail-type': 'Object Created', source: 'aws.s3', detail: { bucket: { name: emu.bucket }, object: { key } } })
    await emu.send(eventBridge(keys[6]))
    await emu.publish(eventBridge(keys[7]))
    // 5. s3:TestEvent, direct and through SNS.
    const testEvent = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-11-26T15:00:00.000Z', Bucket: emu.bucket })
    await emu.send(testEvent)
    await emu.publish(testEvent)
    // Digest files and other logs: skipped, not errors.
    const digest = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/26/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20261126T120000Z.json.gz'
    await emu.putObject(digest, gzipSync('{"awsAccountId":"111122223333"}'))
    await emu.notify([digest])
    await emu.send(s3Event('AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/11/26/flow.log.gz'))
    // Broken messages.
    await emu.send('this is not json')
    await emu.send('{"hello":"world"}')
    await emu.send(JSON.stringify({ s3Bucket: emu.bucket, s3ObjectKey: 'not-an-array.json.gz' }))
    // Broken objects.
    const notGzip = cloudTrailKey('111122223333', 'us-east-1', '20261126T1210Z', 'NotGzipNotGzip00')
    await emu.putObject(notGzip, JSON.stringify({ Records: [{ eventName: 'PlainJson' }] }))
    const corrupt = cloudTrailKey('111122223333', 'us-east-1', '20261126T1215Z', 'CorruptCorrupt00')
    const good = gzipSync(JSON.stringify({ Records: records.slice(0, 50) }))
    await emu.putObject(corrupt, Buffer.concat([good.subarray(0, 20), Buffer.alloc(200, 0x41), good.subarray(220)]))
    const noRecords = cloudTrailKey('111122223333', 'us-east-1', '20261126T1220Z', 'NoRecordsNoRecor')
    await emu.putObject(noRecords, gzipSync('{"something":"else"}'))
    const missing = cloudTrailKey('111122223333', 'us-east-1', '20261126T1225Z', 'MissingMissing00')
    for (const key of [notGzip, corrupt, noRecords, missing]) await emu.notify([key])
    // A notification naming a bucket the collector was not configured for.
    const foreignKey = cloudTrailKey('999999999999', 'us-east-1', '20261126T1230Z', 'ForeignForeign00')
    await emu.putLog(foreignKey, [foreignRecord], FOREIGN)
    await emu.notify([foreignKey], FOREIGN)
  })

  afterAll(async () => {
    await emu?.stop()
  })

  it('writes every record in the json format, refuses the foreign bucket, and empties the queue', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ct-run-'))
    const out = join(dir, 'out.ndjson')
    const res = await runCli(runArgs(emu, ['--format', 'json', '--output', `file:${out}`, '--parse-threads', '2']), runEnv)
    expect(res.code, res.stderr).toBe(0)
    const lines = readFileSync(out, 'utf8').split('\n').slice(0, -1)
    const written = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    // Each good object's records, each exactly once, exactly as written (the corrupt object may salvage a prefix).
    const key = (r: unknown) => JSON.stringify(r)
    const counts = new Map<string, number>()
    for (const r of written) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1)
    for (const r of expected) expect(counts.get(key(r)) ?? 0, key(r).slice(0, 120)).toBeGreaterThanOrEqual(1)
    expect(written.some((r) => r.eventName === 'MustNeverBeRead')).toBe(false)
    expect(written.some((r) => r.eventName === 'PlainJson')).toBe(false)
    expect(emu.remaining()).toBe(0)

    // Every failure was logged with its reason, bucket and key; the secret never was.
    const errors = res.logs.filter((l) => l.level === 50)
    const reasons = errors.map((l) => String(l.code))
    for (const code of ['ERR_NOTIFICATION_NOT_JSON', 'ERR_NOTIFICATION_UNKNOWN', 'ERR_NOTIFICATION_INVALID', 'ERR_OBJECT_NOT_GZIP', 'ERR_OBJECT_NO_RECORDS', 'ERR_S3_NO_SUCH_KEY', 'ERR_BUCKET_NOT_ALLOWED']) {
      expect(reasons, code).toContain(code)
    }
    expect(reasons.some((c) => c === 'ERR_OBJECT_CORRUPT_GZIP' || c === 'ERR_OBJECT_NOT_JSON' || c === 'ERR_OBJECT_TRUNCATED')).toBe(true)
    for (const e of errors.filter((l) => String(l.code).startsWith('ERR_OBJECT') || l.code === 'ERR_S3_NO_SUCH_KEY')) {
      expect(e.bucket).toBe(emu.bucket)
      expect(String(e.key)).toMatch(/CloudTrail/)
    }
    expect(res.stderr).not.toContain(credentials.secretAccessKey)
  })
})

describe('run --drain, fortisiem format', () => {
  let emu: Emulator
  beforeAll(async () => {
    emu = await startEmulator()
    const key = cloudTrailKey('111122223333', 'us-east-1', '20261126T1300Z', 'FortiFortiForti0')
    await emu.putLog(key, records)
    await emu.notify([key])
  })
  afterAll(async () => {
    await emu?.stop()
  })

  it('writes one FortiSIEM line per record to stdout, as the reference flattener says (and drains with several receive loops)', async () => {
    const res = await runCli(runArgs(emu, ['--pull-threads', '4']), runEnv)
    expect(res.code, res.stderr).toBe(0)
    const lines = res.stdout.split('\n').slice(0, -1)
    expect(lines).toHaveLength(records.length)
    const header = /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \d{4} FortiSIEM-CloudTrail /
    lines.forEach((line, i) => {
      expect(line).toMatch(header)
      expect(line.replace(header, '')).toBe(flattenRecord(JSON.stringify(records[i])))
    })
    expect(emu.remaining()).toBe(0)
  })
})
