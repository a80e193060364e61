import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { parseNotification } from '../../src/pipeline/notifications.ts'
import { classifyKey, compileKeyPattern, DEFAULT_KEY_PATTERN } from '../../src/pipeline/object-keys.ts'
import { Random } from '../../src/synthetic/random.ts'
import { buildLogFile, cloudTrailNotification, logFileChunks, logFileKey, type LogFileOptions } from '../../src/synthetic/log-file.ts'
import { RecordGenerator } from '../../src/synthetic/records.ts'

const TIME = new Date('2026-11-26T15:07:42.123Z')
const KEY = /^AWSLogs\/(\d{12})\/CloudTrail\/([a-z0-9-]+)\/(\d{4})\/(\d\d)\/(\d\d)\/\1_CloudTrail_\2_\3\4\5T(\d\d)(\d\d)Z_[0-9A-Za-z]{16}\.json\.gz$/
const ORG_KEY = /^trails\/prod\/AWSLogs\/(o-[a-z0-9]{10,32})\/(\d{12})\/CloudTrail\/([a-z0-9-]+)\/\d{4}\/\d\d\/\d\d\/\2_CloudTrail_\3_\d{8}T\d{4}Z_[0-9A-Za-z]{16}\.json\.gz$/

const options = (records: number): LogFileOptions => ({ records, account: '111122223333', region: 'eu-west-1', time: TIME })

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = []
  for await (const c of chunks) out.push(c)
  return out
}

describe('logFileKey', () => {
  it('follows the CloudTrail layout, stamped with the five-minute boundary', () => {
    const key = logFileKey({ account: '111122223333', region: 'eu-west-1', time: TIME, random: new Random(1).float })
    const m = KEY.exec(key)
    expect(m, key).not.toBeNull()
    expect(m!.slice(1, 8)).toEqual(['111122223333', 'eu-west-1', '2026', '11', '26', '15', '05'])
    expect(classifyKey(key, compileKeyPattern(DEFAULT_KEY_PATTERN))).toBe('log')
  })

  it('has the organization-trail form with a prefix', () => {
    const key = logFileKey({ account: '111122223333', region: 'us-east-1', time: TIME, organizationId: 'o-a1b2c3d4e5', prefix: 'trails/prod', random: new Random(1).float })
    expect(key).toMatch(ORG_KEY)
    expect(key).toContain('/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/us-east-1/2026/11/26/')
    expect(classifyKey(key, compileKeyPattern(DEFAULT_KEY_PATTERN))).toBe('log')
  })

  it('draws its suffix from the random function it is given', () => {
    const o = { account: '111122223333', region: 'us-east-1', time: TIME }
    const a = logFileKey({ ...o, random: new Random(9).float })
    expect(logFileKey({ ...o, random: new Random(9).float })).toBe(a)
    expect(logFileKey({ ...o, random: new Random(10).float })).not.toBe(a)
  })

  it('rejects malformed parts', () => {
    const random = Math.random
    expect(() => logFileKey({ account: '1234', region: 'us-east-1', time: TIME, random })).toThrow(/account/)
    expect(() => logFileKey({ account: '111122223333', region: 'US East', time: TIME, random })).toThrow(/region/)
    expect(() => logFileKey({ account: '111122223333', region: 'us-east-1', time: new Date(Number.NaN), random })).toThrow(/time/)
    expect(() => logFileKey({ account: '111122223333', region: 'us-east-1', time: TIME, organizationId: 'org', random })).toThrow(/organizationId/)
    expect(() => logFileKey({ account: '111122223333', region: 'us-east-1', time: TIME, prefix: 'a/', random })).toThrow(/prefix/)
  })
})

describe('buildLogFile', () => {
  it('gzips a compact {"Records":[…]} document with the requested records', () => {
    const file = buildLogFile(new RecordGenerator({ seed: 4 }), options(250))
    expect(file.records).toBe(250)
    expect(file.key).toMatch(KEY)
    expect(file.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
    expect(file.body[8]).toBe(0) // gzip XFL: 0 for levels 2-8 (2 would be level 9, 4 level 1)
    expect(gunzipSync(file.body).toString('utf8')).toBe(file.json)
    expect(file.json.startsWith('{"Records":[{"eventVersion":"1.')).toBe(true)
    const doc = JSON.parse(file.json)
    expect(Object.keys(doc)).toEqual(['Records'])
    expect(doc.Records).toHaveLength(250)
    expect(JSON.stringify(doc)).toBe(file.json)
  })

  it('fills the file with records of its account and region, from the five minutes before delivery', () => {
    const file = buildLogFile(new RecordGenerator({ seed: 4 }), options(100))
    for (const r of JSON.parse(file.json).Records) {
      expect(r.recipientAccountId).toBe('111122223333')
      expect(r.awsRegion).toBe('eu-west-1')
      const t = Date.parse(r.eventTime)
      expect(t).toBeGreaterThanOrEqual(TIME.getTime() - 5 * 60_000 - 1000)
      expect(t).toBeLessThanOrEqual(TIME.getTime())
    }
  })

  it('is deterministic from the seed, key included', () => {
    const a = buildLogFile(new RecordGenerator({ seed: 11 }), options(20))
    const b = buildLogFile(new RecordGenerator({ seed: 11 }), options(20))
    const c = buildLogFile(new RecordGenerator({ seed: 12 }), options(20))
    expect(b.key).toBe(a.key)
    expect(b.json).toBe(a.json)
    expect(c.key).not.toBe(a.key)
    expect(c.json).not.toBe(a.json)
  })

  it('writes an empty file as {"Records":[]} and rejects a bad record count', () => {
    expect(buildLogFile(new RecordGenerator(), options(0)).json).toBe('{"Records":[]}')
    expect(() => buildLogFile(new RecordGenerator(), options(-1))).toThrow(/records/)
    expect(() => buildLogFile(new RecordGenerator(), options(1.5))).toThrow(/records/)
  })
})

describe('logFileChunks', () => {
  it('yields pieces that join into the same document buildLogFile builds', async () => {
    const chunks = await collect(logFileChunks(new RecordGenerator({ seed: 21 }), options(400)))
    expect(chunks.length).toBeGreaterThan(3)
    for (const c of chunks.slice(0, -1)) expect(c.length).toBeLessThan(256 * 1024)
    const text = Buffer.concat(chunks).toString('utf8')
    expect(text.startsWith('{"Records":[')).toBe(true)
    expect(text.endsWith(']}')).toBe(true)
    expect(JSON.parse(text).Records).toHaveLength(400)
    expect(text).toBe(buildLogFile(new RecordGenerator({ seed: 21 }), options(400)).json)
  })

  it('handles an empty file', async () => {
    const chunks = await collect(logFileChunks(new RecordGenerator(), options(0)))
    expect(Buffer.concat(chunks).toString()).toBe('{"Records":[]}')
  })
})

describe('cloudTrailNotification', () => {
  it('is the message CloudTrail publishes, and the collector reads it back', () => {
    const keys = [logFileKey({ account: '111122223333', region: 'us-east-1', time: TIME, random: new Random(2).float }), 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/26/x y+é.json.gz']
    const body = cloudTrailNotification('my-trail-bucket', keys)
    expect(JSON.parse(body)).toEqual({ s3Bucket: 'my-trail-bucket', s3ObjectKey: keys })
    expect(parseNotification(body)).toEqual({ kind: 'objects', style: 'cloudtrail-raw', objects: keys.map((key) => ({ bucket: 'my-trail-bucket', key })), refused: [], duplicates: 0 })
  })

  it('rejects an empty bucket or key list', () => {
    expect(() => cloudTrailNotification('', ['k'])).toThrow(/bucket/)
    expect(() => cloudTrailNotification('b', [])).toThrow(/keys/)
  })
})
