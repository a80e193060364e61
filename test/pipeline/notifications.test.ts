import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CollectorError, type ErrorCode } from '../../src/errors.ts'
import { MAX_OBJECT_REFS, parseNotification, type Notification, type ObjectRef, type RefusedRef } from '../../src/pipeline/notifications.ts'
import { MAX_KEY_BYTES } from '../../src/pipeline/object-keys.ts'

const fixtures = new URL('../fixtures/', import.meta.url)
const readFixture = (name: string) => readFileSync(new URL(name, fixtures), 'utf8')

/**
 * The SQS message bodies a fixture holds. Lambda SQS events (`Records[].body`) and boto3 receive_message
 * responses (`Messages[].Body`) wrap them; the sekoia file lists them under `messages`; anything else is
 * itself a body, kept as the exact text (pretty-printing and all).
 */
function sqsBodies(text: string): string[] {
  const doc = JSON.parse(text)
  if (Array.isArray(doc.Messages)) return doc.Messages.map((m: { Body: string }) => m.Body)
  if (Array.isArray(doc.messages)) return doc.messages
  if (doc.Records?.[0]?.eventSource === 'aws:sqs') return doc.Records.map((r: { body: string }) => r.body)
  return [text]
}

function parseError(body: string, maxBodyBytes?: number): CollectorError {
  try {
    parseNotification(body, maxBodyBytes)
  } catch (err) {
    expect(err).toBeInstanceOf(CollectorError)
    return err as CollectorError
  }
  throw new Error('parseNotification did not throw')
}

/** What a notification names; `topicArn` the topic an SNS envelope says it came from. */
const objects = (style: Extract<Notification, { kind: 'objects' }>['style'], refs: ObjectRef[], topicArn?: string): Notification => ({
  kind: 'objects',
  style,
  objects: refs,
  refused: [],
  duplicates: 0,
  ...(topicArn !== undefined ? { topicArn } : {}),
})

/** The topic of the sns() envelope below. */
const MY_TOPIC = 'arn:aws:sns:us-west-2:123456789012:MyTopic'

type Expected = Notification | ErrorCode

const ctKey = (date: string, time: string, id: string) =>
  `AWSLogs/123456789012/CloudTrail/us-east-2/2016/08/11/123456789012_CloudTrail_us-east-2_${date}T${time}Z_${id}.json.gz`

// One entry per file in fixtures/notifications/, one expectation per SQS body in it.
const expectations: Record<string, Expected[]> = {
  'awsdocs-cloudtrail-ug-sns-notification-message-0.json': [
    objects('cloudtrail-raw', [
      {
        bucket: 'your-bucket-name',
        key: 'AWSLogs/123456789012/CloudTrail/us-east-2/2013/12/13/123456789012_CloudTrail_us-west-2_20131213T1920Z_LnPgDQnpkSKEsppV.json.gz',
      },
    ]),
  ],
  'awsdocs-cloudtrail-ug-sns-notification-message-1.json': [
    objects('cloudtrail-raw', [
      { bucket: 'your-bucket-name', key: ctKey('20160811', '2215', 'kpaMYavMQA9Ahp7L') },
      { bucket: 'your-bucket-name', key: ctKey('20160811', '2210', 'zqDkyQv3TK8ZdLr0') },
      { bucket: 'your-bucket-name', key: ctKey('20160811', '2205', 'jaMVRa6JfdLCJYHP') },
    ]),
  ],
  // Documentation templates: eventName is the placeholder "event-type", not ObjectCreated:*.
  'awsdocs-s3-dg-notification-content-structure-0.json': [objects('s3-event', [])],
  'awsdocs-s3-dg-notification-content-structure-1.json': [objects('s3-event', [])],
  // SNS's own example: Message is the plain text "Hello world!".
  'awsdocs-sns-dg-sqs-subscriber-notification-0.json': ['ERR_NOTIFICATION_UNKNOWN'],
  'datadog-forwarder-sqs_s3.json': [objects('s3-event', [{ bucket: 'my-bucket', key: 'my-key.log' }])],
  'datadog-forwarder-sqs_sns_s3.json': [objects('s3-event-sns', [{ bucket: 'my-bucket', key: 'my-key.log' }], 'arn:aws:sns:us-east-1:123456789012:my-topic')],
  'drumadrian-sns-s3-event-orgtrail-cloudtrail-key.json': [
    objects('s3-event-sns', [
      {
        bucket: 's3-to-elasticsearch-cloudtrailbucket651b1cf1-1sxwk9yev080b',
        key: 'AWSLogs/o-2xh1murzat/696965430582/CloudTrail/us-west-2/2020/11/01/696965430582_CloudTrail_us-west-2_20201101T2250Z_V84r5ej0Vt9EciUg.json.gz',
      },
    ], 'arn:aws:sns:us-west-2:696965430582:s3-to-elasticsearch-cloudtrailtopicB7B8FCF0-1GS0NFTZALHZE'),
  ],
  'drumadrian-sqs-receive-message-sns-s3-event-accesslog.json': [
    objects('s3-event-sns', [
      { bucket: 's3-to-elasticsearch-acces-accesslogbucket5c1457b7-151mo29j9uf83', key: '2020-11-27-23-16-48-08AB4BC89388039F' },
    ], 'arn:aws:sns:us-west-2:696965430582:s3-to-elasticsearch-access-logs-accesslogtopic6A6F66D7-1CVZECE32AT4M'),
  ],
  'powertools-python-s3Event.json': [
    objects('s3-event', [{ bucket: 'lambda-artifacts-deafc19498e3f2df', key: 'b21b84d653bb07b05b1e6b33684dc11b' }]),
  ],
  'powertools-python-s3EventBridgeNotificationObjectCreatedEvent.json': [
    objects('eventbridge', [{ bucket: 'example-bucket', key: 'IMG_m7fzo3.jpg' }]),
  ],
  // "Happy%20Face.jpg" decodes; Powertools' own urlDecodedKey field is ignored.
  'powertools-python-s3EventDecodedKey.json': [objects('s3-event', [{ bucket: 'sourcebucket', key: 'Happy Face.jpg' }])],
  'powertools-python-s3SqsEvent.json': [objects('s3-event', [{ bucket: 'xxx', key: 'test.pdf' }])],
  // An application's own JSON published to SNS.
  'powertools-python-snsSqsEvent.json': ['ERR_NOTIFICATION_UNKNOWN'],
  'sekoia-aws-test_s3_flowlogs-sqs-message-bodies.json': [
    objects('s3-event', [
      {
        bucket: 'aws-vpcflowlogs-111111111111-3abc4c4f',
        key: 'AWSLogs/111111111111/vpcflowlogs/eu-west-2/2022/02/21/111111111111_vpcflowlogs_eu-west-2_fl-0dcbf7c4c2483c6b6_20220221T1955Z_7fe2e5f7.log.gz',
      },
    ]),
    { kind: 'test-event', style: 's3-test-event' },
    objects('s3-event', [
      {
        bucket: 'aws-vpcflowlogs-111111111111-3abc4c4f',
        key: 'AWSLogs/111111111111/vpcflowlogs/eu-west-2/2022/02/21/111111111111_vpcflowlogs_eu-west-2_fl-0dcbf7c4c2483c6b6_20220221T2025Z_55a7d2af.log.gz',
      },
    ]),
  ],
}

// Copied verbatim from seed/fortisiem-cloudtrail.md: what FortiSIEM receives from CloudTrail via SNS.
const SEED_ENVELOPE = String.raw`{ "Type" : "Notification", "MessageId" : "658da72b-684e-5965-bc3a-f123456005a", "TopicArn" : "arn:aws:sns:us-east-1:111111:testCloudTrail", "Message" : "{\"s3Bucket\":\"testS3Bucket\",\"s3ObjectKey\":[\"AWSLogs/111111/CloudTrail/us-west-2/2022/05/27/111111_CloudTrail_us-west-2_20220527T1540Z_ILkwe2zAtDS.json.gz\"]}", "Timestamp" : "2022-05-27T16:35:35.746Z", "SignatureVersion" : "1", "Signature" : "hS79T2w30bfMRBIUt3qJ8D0v4fAq912345I7IHzTulkme+iEjg+mWgiQV3cikFXSAwzfYVUMGwpXx+Qr7m16uW5SRIkMRb05L/5ioNrhm+DcRwjsmAEUm3ZzIFrFMaFeSy0hGD/vJEcPmvcs3ExVbz1NL1ZQcBU3LHMkrnwKKi6xFubkJWAj8nPZPUPFio7iqEHWUGHdvjqDVPkX+M7Kpwshze5q2cF6W7oPeXsUjTaV+iqFxlxi7P7TZRXsRw502wVSUYl8uVSsMKB3JdEkAJaEm3Ro/wcwxl8gbuWGwrFYwrXQoipJqv4xtrAp1ebIk/wcfMJur3mfJQ8A==", "SigningCertURL" : "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-7ff5318522adbaddaa2a969abfda.pem", "UnsubscribeURL" : "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:dwfewefa12323:testCloudTrail:2947799d-3c02-4863-8cd6-36123523fd1" }`

/** Wraps a payload the way SNS delivers it to SQS without raw message delivery. */
function sns(message: string): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: '63a3f6b6-d533-4a47-aef9-fcf5cf758c76',
    TopicArn: 'arn:aws:sns:us-west-2:123456789012:MyTopic',
    Message: message,
    Timestamp: '2012-03-29T05:12:16.901Z',
    SignatureVersion: '1',
  })
}

function s3Event(key: string, eventName = 'ObjectCreated:Put', bucket = 'b'): string {
  return JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName, s3: { bucket: { name: bucket }, object: { key, size: 7 } } }] })
}

function eventBridge(key: string, detailType = 'Object Created'): string {
  return JSON.stringify({ version: '0', 'detail-type': detailType, source: 'aws.s3', detail: { bucket: { name: 'b' }, object: { key } } })
}

const testEvent = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2022-06-27T16:14:56.447Z', Bucket: 'b' })

describe('parseNotification on the real fixtures', () => {
  it('has an expectation for every fixture file', () => {
    expect(readdirSync(new URL('notifications/', fixtures)).sort()).toEqual(Object.keys(expectations).sort())
  })

  for (const [file, expected] of Object.entries(expectations)) {
    it(file, () => {
      const bodies = sqsBodies(readFixture(`notifications/${file}`))
      expect(bodies).toHaveLength(expected.length)
      bodies.forEach((body, i) => {
        const want = expected[i]
        if (typeof want === 'string') expect(parseError(body).code).toBe(want)
        else expect(parseNotification(body)).toEqual(want)
      })
    })
  }

  it('reads the seed (FortiSIEM) envelope', () => {
    expect(parseNotification(SEED_ENVELOPE)).toEqual(
      objects('cloudtrail-sns', [
        {
          bucket: 'testS3Bucket',
          key: 'AWSLogs/111111/CloudTrail/us-west-2/2022/05/27/111111_CloudTrail_us-west-2_20220527T1540Z_ILkwe2zAtDS.json.gz',
        },
      ], 'arn:aws:sns:us-east-1:111111:testCloudTrail'),
    )
  })

  it('returns every key of a multi-key CloudTrail notification in an SNS envelope', () => {
    const message = readFixture('notifications/awsdocs-cloudtrail-ug-sns-notification-message-1.json')
    const result = parseNotification(sns(message))
    expect(result.kind === 'objects' && result.style).toBe('cloudtrail-sns')
    expect(result.kind === 'objects' && result.objects.map((o) => o.key)).toEqual([
      ctKey('20160811', '2215', 'kpaMYavMQA9Ahp7L'),
      ctKey('20160811', '2210', 'zqDkyQv3TK8ZdLr0'),
      ctKey('20160811', '2205', 'jaMVRa6JfdLCJYHP'),
    ])
  })

  it('does not URL-decode CloudTrail notification keys', () => {
    const body = JSON.stringify({ s3Bucket: 'b', s3ObjectKey: ['a+b%2Fc.json.gz'] })
    expect(parseNotification(body)).toEqual(objects('cloudtrail-raw', [{ bucket: 'b', key: 'a+b%2Fc.json.gz' }]))
  })
})

describe('S3 event keys', () => {
  const keyOf = (body: string) => {
    const result = parseNotification(body)
    return result.kind === 'objects' ? result.objects.map((o) => o.key) : []
  }

  it.each([
    ['AWSLogs/a+b.json.gz', 'AWSLogs/a b.json.gz'],
    ['prefix%2FAWSLogs/x.json.gz', 'prefix/AWSLogs/x.json.gz'],
    ['caf%C3%A9.json.gz', 'café.json.gz'],
    ['100%25+done', '100% done'],
    ['a%2Bb', 'a+b'],
  ])('decodes %s', (raw, decoded) => {
    expect(keyOf(s3Event(raw))).toEqual([decoded])
    expect(keyOf(sns(s3Event(raw)))).toEqual([decoded])
  })

  it('does not decode EventBridge keys', () => {
    expect(keyOf(eventBridge('a+b'))).toEqual(['a+b'])
    expect(keyOf(eventBridge('a%20b'))).toEqual(['a%20b'])
    expect(parseNotification(sns(eventBridge('a+b')))).toEqual(objects('eventbridge', [{ bucket: 'b', key: 'a+b' }], MY_TOPIC))
  })

  it('ignores records other than ObjectCreated:*', () => {
    expect(parseNotification(s3Event('k', 'ObjectRemoved:Delete'))).toEqual(objects('s3-event', []))
    const mixed = JSON.stringify({
      Records: [
        { eventSource: 'aws:s3', eventName: 'ObjectRemoved:Delete', s3: { bucket: { name: 'b' }, object: { key: 'gone' } } },
        { eventSource: 'aws:s3', eventName: 'ObjectCreated:CompleteMultipartUpload', s3: { bucket: { name: 'b' }, object: { key: 'new' } } },
        { eventSource: 'aws:s3', eventName: 'ObjectRestore:Completed', s3: { bucket: { name: 'b' } } },
      ],
    })
    expect(parseNotification(mixed)).toEqual(objects('s3-event', [{ bucket: 'b', key: 'new' }]))
  })

  it('ignores EventBridge detail types other than Object Created', () => {
    expect(parseNotification(eventBridge('k', 'Object Deleted'))).toEqual(objects('eventbridge', []))
  })
})

describe('test events', () => {
  it('recognises s3:TestEvent direct and in SNS', () => {
    expect(parseNotification(testEvent)).toEqual({ kind: 'test-event', style: 's3-test-event' })
    expect(parseNotification(sns(testEvent))).toEqual({ kind: 'test-event', style: 's3-test-event-sns', topicArn: MY_TOPIC })
  })
})

describe('errors', () => {
  const deep = 10_000
  const cloudTrailLog = readFixture('records/awsdocs-cloudtrail-ug-log-file-examples-2.json')
  const manyKeys = JSON.stringify({ s3Bucket: 'b', s3ObjectKey: Array.from({ length: MAX_OBJECT_REFS + 1 }, (_, i) => `k${i}`) })

  const cases: Array<[string, string, ErrorCode]> = [
    ['empty body', '', 'ERR_NOTIFICATION_NOT_JSON'],
    ['plain text', 'Hello world!', 'ERR_NOTIFICATION_NOT_JSON'],
    ['truncated JSON', '{"s3Bucket":"b","s3ObjectKey":["k"', 'ERR_NOTIFICATION_NOT_JSON'],
    [`${deep}-deep unterminated nesting`, '['.repeat(deep), 'ERR_NOTIFICATION_NOT_JSON'],
    ['SNS Message that opens like JSON but is broken', sns('{"s3Bucket":"b",'), 'ERR_NOTIFICATION_NOT_JSON'],
    ['null', 'null', 'ERR_NOTIFICATION_UNKNOWN'],
    ['a number', '42', 'ERR_NOTIFICATION_UNKNOWN'],
    ['an array', '[{"s3Bucket":"b","s3ObjectKey":["k"]}]', 'ERR_NOTIFICATION_UNKNOWN'],
    ['an empty object', '{}', 'ERR_NOTIFICATION_UNKNOWN'],
    // V8's JSON.parse is not recursive, so deep nesting parses and is then of no known shape.
    [`${deep}-deep arrays`, '['.repeat(deep) + ']'.repeat(deep), 'ERR_NOTIFICATION_UNKNOWN'],
    [`${deep}-deep objects`, '{"a":'.repeat(deep) + '1' + '}'.repeat(deep), 'ERR_NOTIFICATION_UNKNOWN'],
    ['SNS Message of JSON of no known shape', sns('{"message":"hello"}'), 'ERR_NOTIFICATION_UNKNOWN'],
    ['SNS Message that is a JSON number', sns('42'), 'ERR_NOTIFICATION_UNKNOWN'],
    ['EventBridge event from another service', JSON.stringify({ source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', detail: {} }), 'ERR_NOTIFICATION_UNKNOWN'],
    ['prototype keys only', '{"__proto__":{"s3Bucket":"b","s3ObjectKey":["k"]},"constructor":{"prototype":{"x":1}}}', 'ERR_NOTIFICATION_UNKNOWN'],
    ['SNS Message that is a number', JSON.stringify({ Type: 'Notification', Message: 42 }), 'ERR_NOTIFICATION_INVALID'],
    ['SNS Message that is an object', JSON.stringify({ Type: 'Notification', Message: { s3Bucket: 'b', s3ObjectKey: ['k'] } }), 'ERR_NOTIFICATION_INVALID'],
    ['s3ObjectKey a string', '{"s3Bucket":"b","s3ObjectKey":"AWSLogs/k.json.gz"}', 'ERR_NOTIFICATION_INVALID'],
    ['s3ObjectKey empty', '{"s3Bucket":"b","s3ObjectKey":[]}', 'ERR_NOTIFICATION_INVALID'],
    ['an empty key', '{"s3Bucket":"b","s3ObjectKey":["k",""]}', 'ERR_NOTIFICATION_INVALID'],
    ['a key that is a number', '{"s3Bucket":"b","s3ObjectKey":[7]}', 'ERR_NOTIFICATION_INVALID'],
    [`a key ${deep} arrays deep`, `{"s3Bucket":"b","s3ObjectKey":${'['.repeat(deep)}${']'.repeat(deep)}}`, 'ERR_NOTIFICATION_INVALID'],
    ['bucket missing', '{"s3ObjectKey":["k"]}', 'ERR_NOTIFICATION_INVALID'],
    ['bucket empty', '{"s3Bucket":"","s3ObjectKey":["k"]}', 'ERR_NOTIFICATION_INVALID'],
    ['bucket an object with its own toString', '{"s3Bucket":{"toString":1,"valueOf":1},"s3ObjectKey":["k"]}', 'ERR_NOTIFICATION_INVALID'],
    [`more than ${MAX_OBJECT_REFS} keys`, manyKeys, 'ERR_NOTIFICATION_INVALID'],
    ['Records not an array', '{"Records":{"length":1,"0":{}}}', 'ERR_NOTIFICATION_INVALID'],
    ['Records empty', '{"Records":[]}', 'ERR_NOTIFICATION_INVALID'],
    ['a record that is not an object', '{"Records":["x"]}', 'ERR_NOTIFICATION_INVALID'],
    ['a CloudTrail log file sent as a notification', cloudTrailLog, 'ERR_NOTIFICATION_INVALID'],
    ['a record without eventName', JSON.stringify({ Records: [{ eventSource: 'aws:s3', s3: {} }] }), 'ERR_NOTIFICATION_INVALID'],
    ['a record missing s3.object.key', JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: {} } }] }), 'ERR_NOTIFICATION_INVALID'],
    ['a record missing s3.bucket.name', JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { object: { key: 'k' } } }] }), 'ERR_NOTIFICATION_INVALID'],
    ['a record whose bucket is only in __proto__', '{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"__proto__":{"bucket":{"name":"evil"}},"object":{"key":"k"}}}]}', 'ERR_NOTIFICATION_INVALID'],
    ['malformed percent-encoding', s3Event('AWSLogs/100%.json.gz'), 'ERR_NOTIFICATION_INVALID'],
    ['truncated UTF-8 percent-encoding', sns(s3Event('caf%C3')), 'ERR_NOTIFICATION_INVALID'],
    ['EventBridge Object Created without a key', JSON.stringify({ source: 'aws.s3', 'detail-type': 'Object Created', detail: { bucket: { name: 'b' } } }), 'ERR_NOTIFICATION_INVALID'],
    ['EventBridge detail-type not a string', JSON.stringify({ source: 'aws.s3', 'detail-type': 1 }), 'ERR_NOTIFICATION_INVALID'],
    ['a body over 1 MiB', JSON.stringify({ s3Bucket: 'b', s3ObjectKey: ['k'], pad: 'x'.repeat(1024 * 1024) }), 'ERR_NOTIFICATION_TOO_LARGE'],
    // 600 000 characters, but 1 200 000 bytes of UTF-8.
    ['a body over 1 MiB only in UTF-8 bytes', JSON.stringify({ s3Bucket: 'b', s3ObjectKey: ['k'], pad: 'é'.repeat(600_000) }), 'ERR_NOTIFICATION_TOO_LARGE'],
  ]

  it.each(cases)('%s', (_name, body, code) => {
    const err = parseError(body)
    expect(err.code).toBe(code)
    expect(err.message.length).toBeLessThan(400)
  })

  it('covers every ERR_NOTIFICATION_* code', () => {
    expect(new Set(cases.map(([, , code]) => code))).toEqual(
      new Set(['ERR_NOTIFICATION_NOT_JSON', 'ERR_NOTIFICATION_UNKNOWN', 'ERR_NOTIFICATION_INVALID', 'ERR_NOTIFICATION_TOO_LARGE']),
    )
  })

  it('does not pollute Object.prototype', () => {
    expect(parseError('{"__proto__":{"polluted":1}}').code).toBe('ERR_NOTIFICATION_UNKNOWN')
    expect(parseError(sns('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}')).code).toBe('ERR_NOTIFICATION_UNKNOWN')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('accepts a body of exactly the limit and honours a smaller one', () => {
    const body = JSON.stringify({ s3Bucket: 'b', s3ObjectKey: ['k'], pad: '' })
    const exact = body.replace('"pad":""', `"pad":"${'é'.repeat(100)}"`)
    const bytes = Buffer.byteLength(exact)
    expect(parseNotification(exact, bytes).kind).toBe('objects')
    expect(parseError(exact, bytes - 1).code).toBe('ERR_NOTIFICATION_TOO_LARGE')
  })

  it('survives the deepest nesting that fits in 1 MiB', () => {
    const n = 500_000
    expect(parseError('['.repeat(n) + ']'.repeat(n)).code).toBe('ERR_NOTIFICATION_UNKNOWN')
  })

  it('quotes no more than a snippet of the body', () => {
    const err = parseError('x'.repeat(500_000))
    expect(err.code).toBe('ERR_NOTIFICATION_NOT_JSON')
    expect(err.message.length).toBeLessThan(300)
  })

  it('names the bucket and raw key of a key it cannot decode', () => {
    const err = parseError(s3Event('bad%zz', 'ObjectCreated:Put', 'logs-bucket'))
    expect(err.code).toBe('ERR_NOTIFICATION_INVALID')
    expect(err.bucket).toBe('logs-bucket')
    expect(err.key).toBe('bad%zz')
  })
})

describe('SNS subscription confirmations', () => {
  it('are recognised, not treated as unknown data', () => {
    const body = JSON.stringify({
      Type: 'SubscriptionConfirmation',
      MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
      Token: '2336412f37f',
      TopicArn: 'arn:aws:sns:us-west-2:123456789012:MyTopic',
      Message: 'You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\nTo confirm the subscription, visit the SubscribeURL included in this message.',
      SubscribeURL: 'https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37f',
      Timestamp: '2012-04-26T20:45:04.751Z',
      SignatureVersion: '1',
    })
    expect(parseNotification(body)).toEqual({ kind: 'subscription-confirmation', topicArn: 'arn:aws:sns:us-west-2:123456789012:MyTopic' })
  })
})

describe('keys refused when the notification is parsed, the others kept', () => {
  const ct = (keys: string[], bucket = 'b') => JSON.stringify({ s3Bucket: bucket, s3ObjectKey: keys })
  const parsed = (body: string) => {
    const n = parseNotification(body)
    if (n.kind !== 'objects') throw new Error(`not objects: ${n.kind}`)
    return n
  }
  const good = 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/26/111122223333_CloudTrail_us-east-1_20261126T1200Z_abcdefghijklmnop.json.gz'
  const codes = (refused: RefusedRef[]) => refused.map((r) => r.code)

  it("refuses keys longer than S3's 1,024 bytes of UTF-8 (the log cuts them: log.ts)", () => {
    expect(MAX_KEY_BYTES).toBe(1024)
    const ascii = (n: number) => `AWSLogs/CloudTrail/${'x'.repeat(n - 'AWSLogs/CloudTrail/.json.gz'.length)}.json.gz`
    expect(Buffer.byteLength(ascii(1024))).toBe(1024)
    // 342 characters of 3 bytes each: 1026 bytes in fewer than 1024 characters.
    const euros = '€'.repeat(342)
    const huge = ascii(480 * 1024)
    const n = parsed(ct([ascii(1024), ascii(1025), euros, '€'.repeat(341), huge, good]))
    expect(n.objects.map((o) => o.key)).toEqual([ascii(1024), '€'.repeat(341), good])
    expect(codes(n.refused)).toEqual(['ERR_KEY_TOO_LONG', 'ERR_KEY_TOO_LONG', 'ERR_KEY_TOO_LONG'])
    expect(n.refused.map((r) => r.key)).toEqual([ascii(1025), euros, huge])
    for (const r of n.refused) {
      expect(r.bucket).toBe('b')
      expect(r.message).toMatch(/1024 bytes/)
    }
  })

  it('refuses a 480 KB key at once, in every shape', () => {
    const huge = `AWSLogs/${'/CloudTrail/'.repeat(40_000)}x.json`
    const started = performance.now()
    for (const body of [ct([huge]), sns(ct([huge])), s3Event(huge, 'ObjectCreated:Put', 'b'), eventBridge(huge)]) {
      const n = parsed(body)
      expect(n.objects).toEqual([])
      expect(codes(n.refused)).toEqual(['ERR_KEY_TOO_LONG'])
    }
    expect(performance.now() - started).toBeLessThan(500)
  })

  it.each([
    ['../other-bucket/AWSLogs/x.json.gz'],
    ['./AWSLogs/x.json.gz'],
    ['AWSLogs/111122223333/CloudTrail/../../x.json.gz'],
    ['AWSLogs/./CloudTrail/x.json.gz'],
    ['AWSLogs/CloudTrail/x.json.gz/..'],
    ['AWSLogs/CloudTrail/.'],
    ['..'],
    ['.'],
    ['/AWSLogs/111122223333/CloudTrail/x.json.gz'],
    ['/'],
  ])('refuses %j (a dot segment or a leading slash)', (key) => {
    const n = parsed(ct([key, good]))
    expect(n.objects.map((o) => o.key)).toEqual([good])
    expect(codes(n.refused)).toEqual(['ERR_KEY_UNSAFE'])
    expect(n.refused[0].key).toBe(key)
  })

  it.each([['AWSLogs/.hidden/x.json.gz'], ['AWSLogs/..x/x.json.gz'], ['AWSLogs/.../x.json.gz'], ['a..b'], ['x.json.gz.'], ['AWSLogs//CloudTrail/x.json.gz']])(
    'keeps %j (dots inside a segment)',
    (key) => {
      expect(parsed(ct([key])).objects).toEqual([{ bucket: 'b', key }])
    },
  )

  it('checks S3 event keys after decoding them', () => {
    for (const raw of ['%2E%2E/other/x.json.gz', 'AWSLogs/%2e/x.json.gz', '%2FAWSLogs/x.json.gz']) {
      const n = parsed(s3Event(raw))
      expect(n.objects, raw).toEqual([])
      expect(codes(n.refused)).toEqual(['ERR_KEY_UNSAFE'])
    }
  })

  it('fetches a key named twice in one message once, and counts the repeat', () => {
    const other = good.replace('abcdefghijklmnop', 'qrstuvwxyz012345')
    const n = parsed(ct([good, other, good, good]))
    expect(n.objects.map((o) => o.key)).toEqual([good, other])
    expect(n.duplicates).toBe(2)
    const record = (bucket: string, key: string) => ({ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key } } })
    const event = parsed(JSON.stringify({ Records: [record('b1', 'k'), record('b2', 'k'), record('b1', 'k')] }))
    expect(event.objects).toEqual([{ bucket: 'b1', key: 'k' }, { bucket: 'b2', key: 'k' }])
    expect(event.duplicates).toBe(1)
  })

  it.each([['../other'], ['a/b'], ['x'.repeat(256)], ['.'], ['..'], ['bucket.'], ['-bucket'], ['bucket name'], ['bücket']])('refuses the bucket name %j', (bucket) => {
    for (const body of [ct([good], bucket), s3Event(good, 'ObjectCreated:Put', bucket)]) {
      const err = parseError(body)
      expect(err.code).toBe('ERR_NOTIFICATION_INVALID')
      expect(err.message.length).toBeLessThan(400)
    }
  })

  it.each([['testS3Bucket'], ['Legacy_Bucket_Name'], ['my.dotted.bucket'], ['x'.repeat(255)], ['b']])('accepts the bucket name %j', (bucket) => {
    expect(parsed(ct([good], bucket)).objects).toEqual([{ bucket, key: good }])
  })
})
