// SQS message body -> the S3 objects it announces. One parser for every shape an S3 "object written" can
// reach the queue in: CloudTrail's own notification (SNS envelope or raw delivery), S3 Event Notifications
// (direct or via SNS), EventBridge "Object Created" (direct or via SNS), and S3's s3:TestEvent.
//
// Bodies come from anyone who can publish to the topic or queue, so every field is read as an own
// property and type-checked, nothing parsed is ever stringified or String()-ed (a hostile value may be
// 100 000 levels deep or carry its own `toString`), and error messages quote at most SNIPPET_CHARS of text.
// A key no S3 object can have, or one a proxy would rewrite, is refused here (keyProblem) and the
// message's other keys go on; a key named twice in one message is fetched once.

import { CollectorError, type ErrorContext } from '../errors.ts'
import { keyProblem, type KeyProblem } from './object-keys.ts'

export interface ObjectRef {
  bucket: string
  key: string
}

export type ObjectsStyle = 'cloudtrail-sns' | 'cloudtrail-raw' | 's3-event' | 's3-event-sns' | 'eventbridge'
export type TestEventStyle = 's3-test-event' | 's3-test-event-sns'

/** A key the message names that is not fetched, and why. */
export interface RefusedRef extends KeyProblem {
  bucket: string
  /** At most SNIPPET_CHARS of the key, for logs. */
  key: string
}

export type Notification =
  /** `refused`: keys not fetched (counted and logged by the caller); `duplicates`: repeats dropped. */
  | { kind: 'objects'; style: ObjectsStyle; objects: ObjectRef[]; refused: RefusedRef[]; duplicates: number; topicArn?: string }
  | { kind: 'test-event'; style: TestEventStyle; topicArn?: string }
  /** SNS asks for a subscription to be confirmed (a cross-account subscription): not data. */
  | { kind: 'subscription-confirmation'; topicArn: string }

/** SQS's own limit on a message body. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024
/** More keys or records than this in one message is not something AWS sends: INVALID, not a long loop. */
export const MAX_OBJECT_REFS = 1000
const SNIPPET_CHARS = 200

type JsonObject = Record<string, unknown>

/** Throws CollectorError with an ERR_NOTIFICATION_* code when the body names no objects it can trust. */
export function parseNotification(body: string, maxBodyBytes: number = DEFAULT_MAX_BODY_BYTES): Notification {
  if (typeof body !== 'string') throw new CollectorError('ERR_NOTIFICATION_NOT_JSON', `body is ${describe(body)}, expected a string`)
  checkSize(body, maxBodyBytes)

  let outer: unknown
  try {
    outer = JSON.parse(body)
  } catch (cause) {
    // SyntaxError, or RangeError from engines whose JSON.parse recurses on deep nesting.
    const what = body.length === 0 ? 'body is empty' : `body is not JSON: ${snippet(body)}`
    throw new CollectorError('ERR_NOTIFICATION_NOT_JSON', what, { cause })
  }
  if (!isObject(outer)) throw unknown('body', body)
  if (field(outer, 'Type') === 'Notification' && Object.hasOwn(outer, 'Message')) return fromSns(outer)
  if (field(outer, 'Type') === 'SubscriptionConfirmation') {
    const topicArn = field(outer, 'TopicArn')
    return { kind: 'subscription-confirmation', topicArn: typeof topicArn === 'string' ? topicArn.slice(0, 256) : '' }
  }
  return fromPayload(outer, false, 'body', body)
}

function checkSize(body: string, max: number): void {
  // UTF-8 takes 1 to 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units), so the exact
  // count is needed only between length and length * 3.
  if (body.length * 3 <= max) return
  if (body.length > max || Buffer.byteLength(body, 'utf8') > max) {
    throw new CollectorError('ERR_NOTIFICATION_TOO_LARGE', `body is larger than ${max} bytes (${body.length} characters)`)
  }
}

function fromSns(envelope: JsonObject): Notification {
  const message = field(envelope, 'Message')
  if (typeof message !== 'string') throw invalid(`SNS Message is ${describe(message)}, expected a JSON string`)
  let payload: unknown
  try {
    payload = JSON.parse(message)
  } catch (cause) {
    // Anyone may publish plain text to a topic (the SNS guide's "Hello world!"): that is a message of some
    // other kind. Text that opens like JSON but does not parse is a damaged notification.
    if (opensLikeJson(message)) {
      throw new CollectorError('ERR_NOTIFICATION_NOT_JSON', `SNS Message is not valid JSON: ${snippet(message)}`, { cause })
    }
    throw new CollectorError('ERR_NOTIFICATION_UNKNOWN', `SNS Message is plain text, not a notification: ${snippet(message)}`)
  }
  if (!isObject(payload)) throw unknown('SNS Message', message)
  const notification = fromPayload(payload, true, 'SNS Message', message)
  // The topic the envelope says it came from (topic_arn filters on it), at most a topic ARN's length.
  const topicArn = field(envelope, 'TopicArn')
  if (typeof topicArn === 'string' && notification.kind !== 'subscription-confirmation') notification.topicArn = topicArn.slice(0, 256)
  return notification
}

function fromPayload(payload: JsonObject, sns: boolean, what: string, text: string): Notification {
  if (Object.hasOwn(payload, 's3ObjectKey') || Object.hasOwn(payload, 's3Bucket')) {
    return screen(sns ? 'cloudtrail-sns' : 'cloudtrail-raw', fromCloudTrail(payload))
  }
  if (Object.hasOwn(payload, 'Records')) {
    return screen(sns ? 's3-event-sns' : 's3-event', fromS3Event(payload))
  }
  if (field(payload, 'source') === 'aws.s3' && Object.hasOwn(payload, 'detail-type')) {
    return screen('eventbridge', fromEventBridge(payload))
  }
  if (field(payload, 'Event') === 's3:TestEvent') {
    return { kind: 'test-event', style: sns ? 's3-test-event-sns' : 's3-test-event' }
  }
  throw unknown(what, text)
}

/** Refuses the keys keyProblem() refuses, and drops repeats (one fetch per object). */
function screen(style: ObjectsStyle, refs: ObjectRef[]): Notification {
  const objects: ObjectRef[] = []
  const refused: RefusedRef[] = []
  let duplicates = 0
  // Bucket names have no "/" (bucketName), so bucket/key names one object.
  const seen = refs.length > 1 ? new Set<string>() : null
  for (const ref of refs) {
    const problem = keyProblem(ref.key)
    if (problem) {
      refused.push({ bucket: ref.bucket, key: ref.key, ...problem }) // the log cuts long values (log.ts)
      continue
    }
    if (seen) {
      const id = `${ref.bucket}/${ref.key}`
      if (seen.has(id)) {
        duplicates++
        continue
      }
      seen.add(id)
    }
    objects.push(ref)
  }
  return { kind: 'objects', style, objects, refused, duplicates }
}

/** `{"s3Bucket":"b","s3ObjectKey":["k1","k2"]}`; CloudTrail does not URL-encode these keys. */
function fromCloudTrail(payload: JsonObject): ObjectRef[] {
  const bucket = bucketName(field(payload, 's3Bucket'), 's3Bucket')
  const keys = field(payload, 's3ObjectKey')
  if (!Array.isArray(keys)) throw invalid(`s3ObjectKey is ${describe(keys)}, expected an array of keys`, { bucket })
  checkCount(keys, 's3ObjectKey', bucket)
  const objects: ObjectRef[] = new Array(keys.length)
  for (let i = 0; i < keys.length; i++) {
    objects[i] = { bucket, key: nonEmptyString(keys[i], `s3ObjectKey[${i}]`, { bucket }) }
  }
  return objects
}

/** S3 Event Notifications: only ObjectCreated:* records name objects to fetch; the rest are skipped. */
function fromS3Event(payload: JsonObject): ObjectRef[] {
  const records = field(payload, 'Records')
  if (!Array.isArray(records)) throw invalid(`Records is ${describe(records)}, expected an array`)
  checkCount(records, 'Records')
  const objects: ObjectRef[] = []
  for (let i = 0; i < records.length; i++) {
    const record = records[i]
    if (!isObject(record)) throw invalid(`Records[${i}] is ${describe(record)}, expected an object`)
    const source = field(record, 'eventSource')
    if (source !== 'aws:s3') throw invalid(`Records[${i}].eventSource is ${describe(source)}, expected "aws:s3"`)
    const eventName = field(record, 'eventName')
    if (typeof eventName !== 'string') throw invalid(`Records[${i}].eventName is ${describe(eventName)}, expected a string`)
    if (!eventName.startsWith('ObjectCreated:')) continue
    const bucket = bucketName(path(record, 's3', 'bucket', 'name'), `Records[${i}].s3.bucket.name`)
    const key = nonEmptyString(path(record, 's3', 'object', 'key'), `Records[${i}].s3.object.key`, { bucket })
    objects.push({ bucket, key: decodeS3Key(key, bucket) })
  }
  return objects
}

/** EventBridge keys are NOT URL-encoded; detail types other than "Object Created" name nothing to fetch. */
function fromEventBridge(payload: JsonObject): ObjectRef[] {
  const detailType = field(payload, 'detail-type')
  if (typeof detailType !== 'string') throw invalid(`detail-type is ${describe(detailType)}, expected a string`)
  if (detailType !== 'Object Created') return []
  const bucket = bucketName(path(payload, 'detail', 'bucket', 'name'), 'detail.bucket.name')
  const key = nonEmptyString(path(payload, 'detail', 'object', 'key'), 'detail.object.key', { bucket })
  return [{ bucket, key }]
}

/** S3 event keys are form-encoded: `+` is a space, then percent-decoding. */
function decodeS3Key(key: string, bucket: string): string {
  // CloudTrail keys have neither; skipping the decode saves ~0.5 µs of ~6 µs per S3-event-in-SNS body
  // (bench/notifications.bench.ts).
  if (!key.includes('%') && !key.includes('+')) return key
  try {
    return decodeURIComponent(key.replaceAll('+', ' '))
  } catch (cause) {
    throw invalid(`object key has malformed percent-encoding: ${snippet(key)}`, { bucket, key, cause })
  }
}

function checkCount(list: unknown[], what: string, bucket?: string): void {
  if (list.length === 0) throw invalid(`${what} is empty`, { bucket })
  if (list.length > MAX_OBJECT_REFS) {
    throw invalid(`${what} has ${list.length} entries, more than the limit of ${MAX_OBJECT_REFS}`, { bucket })
  }
}

function nonEmptyString(value: unknown, what: string, context?: ErrorContext): string {
  if (typeof value === 'string' && value.length > 0) return value
  throw invalid(`${what} is ${describe(value)}, expected a non-empty string`, context)
}

/**
 * S3's bucket names, legacy ones included (capitals and `_`, up to 255 characters, in us-east-1): never
 * a `/`, `.` or `..`, which a path-style URL would turn into another bucket's path. Bounds the length of
 * what reaches logs and the configured-bucket check too.
 */
const BUCKET_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,253}[A-Za-z0-9])?$/

function bucketName(value: unknown, what: string): string {
  const name = nonEmptyString(value, what)
  if (name.length > 255 || !BUCKET_NAME.test(name)) throw invalid(`${what} is not an S3 bucket name: ${snippet(name)}`)
  return name
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function field(object: JsonObject, name: string): unknown {
  return Object.hasOwn(object, name) ? object[name] : undefined
}

/** Own-property walk; undefined as soon as a step is missing or not an object. */
function path(value: unknown, a: string, b: string, c: string): unknown {
  if (!isObject(value)) return undefined
  value = field(value, a)
  if (!isObject(value)) return undefined
  value = field(value, b)
  if (!isObject(value)) return undefined
  return field(value, c)
}

/** The type of a value, for messages; strings are quoted (and cut), nothing else is ever rendered. */
function describe(value: unknown): string {
  if (value === undefined) return 'missing'
  if (value === null) return 'null'
  if (typeof value === 'string') return value.length === 0 ? 'an empty string' : `the string ${snippet(value)}`
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

function opensLikeJson(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue
    return c === 0x7b /* { */ || c === 0x5b /* [ */ || c === 0x22 /* " */
  }
  return false
}

function snippet(text: string): string {
  return text.length <= SNIPPET_CHARS ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, SNIPPET_CHARS))}…`
}


function unknown(what: string, text: string): CollectorError {
  return new CollectorError('ERR_NOTIFICATION_UNKNOWN', `${what} is JSON of no known notification shape: ${snippet(text)}`)
}

function invalid(message: string, context?: ErrorContext): CollectorError {
  return new CollectorError('ERR_NOTIFICATION_INVALID', message, context)
}
