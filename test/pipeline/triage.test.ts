// What a message body asks of the processor, without SQS: one row per kind of body, and per verdict on
// an object (fetch, bucket not configured, digest, another key), with the message's order kept.

import { describe, expect, it } from 'vitest'
import { compileKeyPattern, DEFAULT_KEY_PATTERN } from '../../src/pipeline/object-keys.ts'
import { triage, type Triage, type TriageOptions } from '../../src/pipeline/triage.ts'

const keyPattern = compileKeyPattern(DEFAULT_KEY_PATTERN)
const allowed: TriageOptions = { buckets: ['logs'], keyPattern }
const anyBucket: TriageOptions = { buckets: null, keyPattern }

const log = (id: string) => `AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/02/123456789012_CloudTrail_us-east-1_20260102T0000Z_${id}.json.gz`
const digest = 'AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/02/123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20260102T000000Z.json.gz'
const other = 'AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/02/flow.log.gz'

/** CloudTrail's own notification, raw delivery. */
const cloudTrail = (bucket: string, keys: string[]) => JSON.stringify({ s3Bucket: bucket, s3ObjectKey: keys })

/** The same inside an SNS envelope. */
const inSns = (message: string, type = 'Notification') =>
  JSON.stringify({ Type: type, MessageId: 'm-1', TopicArn: 'arn:aws:sns:us-east-1:123456789012:trail', Message: message, Timestamp: '2026-01-02T00:00:00.000Z', SignatureVersion: '1' })

const testEvent = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-01-02T00:00:00.000Z', Bucket: 'logs' })

/** What a triage says, with an invalid body's error reduced to its code. */
function summary(t: Triage): unknown {
  return t.kind === 'invalid' ? { kind: 'invalid', code: t.error.code } : t
}

const rows: Array<[string, string, TriageOptions, unknown]> = [
  ['a body that is not JSON', 'not json', allowed, { kind: 'invalid', code: 'ERR_NOTIFICATION_NOT_JSON' }],
  ['an empty body', '', allowed, { kind: 'invalid', code: 'ERR_NOTIFICATION_NOT_JSON' }],
  ['JSON of no known shape', JSON.stringify({ hello: 'world' }), allowed, { kind: 'invalid', code: 'ERR_NOTIFICATION_UNKNOWN' }],
  ['a CloudTrail notification whose s3ObjectKey is no list', JSON.stringify({ s3Bucket: 'logs', s3ObjectKey: 7 }), allowed, { kind: 'invalid', code: 'ERR_NOTIFICATION_INVALID' }],
  ['an s3:TestEvent', testEvent, allowed, { kind: 'test-event' }],
  ['an s3:TestEvent in SNS', inSns(testEvent), allowed, { kind: 'test-event' }],
  [
    'an SNS subscription to confirm',
    inSns('You have chosen to subscribe to the topic.', 'SubscriptionConfirmation'),
    allowed,
    { kind: 'subscription-confirmation', topicArn: 'arn:aws:sns:us-east-1:123456789012:trail' },
  ],
  [
    'a log in a configured bucket',
    cloudTrail('logs', [log('a')]),
    allowed,
    { kind: 'objects', objects: [{ verdict: 'fetch', ref: { bucket: 'logs', key: log('a') } }], refused: [], duplicates: 0 },
  ],
  [
    'a log in a bucket that is not configured',
    inSns(cloudTrail('elsewhere', [log('a')])),
    allowed,
    { kind: 'objects', objects: [{ verdict: 'bucket-not-allowed', ref: { bucket: 'elsewhere', key: log('a') } }], refused: [], duplicates: 0 },
  ],
  [
    'a log in any bucket when none is configured',
    cloudTrail('elsewhere', [log('a')]),
    anyBucket,
    { kind: 'objects', objects: [{ verdict: 'fetch', ref: { bucket: 'elsewhere', key: log('a') } }], refused: [], duplicates: 0 },
  ],
  [
    'a digest and another key, in the order named, with a repeat dropped',
    cloudTrail('logs', [digest, log('b'), other, log('b')]),
    allowed,
    {
      kind: 'objects',
      objects: [
        { verdict: 'not-a-log', ref: { bucket: 'logs', key: digest }, kind: 'digest' },
        { verdict: 'fetch', ref: { bucket: 'logs', key: log('b') } },
        { verdict: 'not-a-log', ref: { bucket: 'logs', key: other }, kind: 'other' },
      ],
      refused: [],
      duplicates: 1,
    },
  ],
  [
    'a digest in a bucket that is not configured: the bucket decides first',
    cloudTrail('elsewhere', [digest]),
    allowed,
    { kind: 'objects', objects: [{ verdict: 'bucket-not-allowed', ref: { bucket: 'elsewhere', key: digest } }], refused: [], duplicates: 0 },
  ],
]

describe('triage', () => {
  it.each(rows)('%s', (_name, body, options, expected) => {
    expect(summary(triage(body, options))).toEqual(expected)
  })

  it('refuses a key no S3 object can have and keeps the message\'s other keys', () => {
    const tooLong = `AWSLogs/${'x'.repeat(1100)}.json.gz`
    const t = triage(cloudTrail('logs', [tooLong, log('c')]), allowed)
    if (t.kind !== 'objects') throw new Error(`expected objects, got ${t.kind}`)
    expect(t.refused.map((r) => [r.bucket, r.code])).toEqual([['logs', 'ERR_KEY_TOO_LONG']])
    expect(t.objects).toEqual([{ verdict: 'fetch', ref: { bucket: 'logs', key: log('c') } }])
  })

  it('takes the key pattern from the options', () => {
    const gzOnly: TriageOptions = { buckets: null, keyPattern: compileKeyPattern(String.raw`\.gz$`) }
    const t = triage(cloudTrail('logs', [other, digest]), gzOnly)
    if (t.kind !== 'objects') throw new Error(`expected objects, got ${t.kind}`)
    // Digests are never logs, whatever the pattern says.
    expect(t.objects.map((o) => o.verdict)).toEqual(['fetch', 'not-a-log'])
  })
})

describe('triage with topic_arn', () => {
  const trail = 'arn:aws:sns:us-east-1:123456789012:trail'
  const onlyTrail: TriageOptions = { ...allowed, topics: [trail] }
  const fromTopic = (topic: string, message: string) => JSON.stringify({ ...JSON.parse(inSns(message)), TopicArn: topic })

  it('takes envelopes of the topics named, refuses the others, and takes messages without an envelope', () => {
    expect(summary(triage(fromTopic(trail, cloudTrail('logs', [log('a')])), onlyTrail))).toMatchObject({ kind: 'objects', objects: [{ verdict: 'fetch' }] })
    expect(summary(triage(fromTopic('arn:aws:sns:us-east-1:999999999999:other', cloudTrail('logs', [log('a')])), onlyTrail))).toEqual({ kind: 'invalid', code: 'ERR_NOTIFICATION_TOPIC' })
    expect(summary(triage(fromTopic('arn:aws:sns:us-east-1:999999999999:other', testEvent), onlyTrail))).toEqual({ kind: 'invalid', code: 'ERR_NOTIFICATION_TOPIC' })
    expect(summary(triage(cloudTrail('logs', [log('a')]), onlyTrail))).toMatchObject({ kind: 'objects' })
    // Without topic_arn, any topic.
    expect(summary(triage(fromTopic('arn:aws:sns:us-east-1:999999999999:other', cloudTrail('logs', [log('a')])), allowed))).toMatchObject({ kind: 'objects' })
  })
})
