// What a received message asks of the processor, decided from its body alone: nothing to fetch (an SNS
// subscription to confirm, an s3:TestEvent, a body no notification shape fits), or its objects, each to
// fetch, refused (its bucket is not configured) or skipped (a digest or another key that is no CloudTrail
// log). Pure: no SQS, no metrics, no logs; the processor counts, logs and acks what this says.

import { CollectorError, isCollectorError } from '../errors.ts'
import { parseNotification, type ObjectRef, type RefusedRef } from './notifications.ts'
import { classifyKey, type KeyClass, type KeyPattern } from './object-keys.ts'

export interface TriageOptions {
  /** null: any bucket. */
  buckets: readonly string[] | null
  keyPattern: KeyPattern
  /** topic_arn: the SNS topics whose envelopes are taken; none (or empty): any. Messages without an envelope are taken. */
  topics?: readonly string[]
}

/** One object the message names, in the message's order. */
export type ObjectVerdict =
  | { verdict: 'fetch'; ref: ObjectRef }
  /** Anyone who can publish to the queue must not be able to make the collector read other buckets. */
  | { verdict: 'bucket-not-allowed'; ref: ObjectRef }
  /** A digest, or a key the key pattern does not take for a log. */
  | { verdict: 'not-a-log'; ref: ObjectRef; kind: Exclude<KeyClass, 'log'> }

export type Triage =
  /** The body is no notification (or a malformed one): the message is of no use, for good. */
  | { kind: 'invalid'; error: CollectorError }
  /** A cross-account SNS subscription waits for its owner to confirm it; the message carries no data. */
  | { kind: 'subscription-confirmation'; topicArn: string }
  | { kind: 'test-event' }
  /** `refused`: keys no S3 object can have (notifications.ts); `duplicates`: repeats dropped. */
  | { kind: 'objects'; objects: ObjectVerdict[]; refused: RefusedRef[]; duplicates: number }

export function triage(body: string, options: TriageOptions): Triage {
  let notification
  try {
    notification = parseNotification(body)
  } catch (err) {
    return { kind: 'invalid', error: isCollectorError(err) ? err : new CollectorError('ERR_NOTIFICATION_INVALID', String(err)) }
  }
  if (notification.kind === 'subscription-confirmation') return { kind: 'subscription-confirmation', topicArn: notification.topicArn }
  if (options.topics && options.topics.length > 0 && notification.topicArn !== undefined && !options.topics.includes(notification.topicArn)) {
    return { kind: 'invalid', error: new CollectorError('ERR_NOTIFICATION_TOPIC', `an SNS envelope from topic ${JSON.stringify(notification.topicArn)}, not one of topic_arn`) }
  }
  if (notification.kind === 'test-event') return { kind: 'test-event' }
  const objects = notification.objects.map((ref): ObjectVerdict => {
    if (options.buckets && !options.buckets.includes(ref.bucket)) return { verdict: 'bucket-not-allowed', ref }
    const kind = classifyKey(ref.key, options.keyPattern)
    return kind === 'log' ? { verdict: 'fetch', ref } : { verdict: 'not-a-log', ref, kind }
  })
  return { kind: 'objects', objects, refused: notification.refused, duplicates: notification.duplicates }
}
