// The emulator harness the demo, the benchmarks and the tests share: fauxqs (SQS, SNS and S3 on one port of
// 127.0.0.1) in this process, wired as CloudTrail wires an account (bucket, SNS topic, SQS queue subscribed
// to it), with clients of its own. Log files are delivered as CloudTrail delivers them: PutObject, then
// CloudTrail's notification published to the topic, which wraps it in SNS's envelope. One emulator holds any
// number of wirings (a benchmark makes one per run; a test makes one per emulator).

import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3'
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns'
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs'
import type { FauxqsServer } from 'fauxqs'
import { cloudTrailNotification } from '../synthetic/log-file.ts'
import { KeyMaker } from './keys.ts'
import { startLoopbackFauxqs } from './loopback-fauxqs.ts'

export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
}

/** What the emulator accepts when nobody says otherwise (fauxqs checks no signature). */
export const emulatorCredentials: Credentials = { accessKeyId: 'emulator', secretAccessKey: 'emulator' }

export const EMULATOR_REGION = 'us-east-1'

export interface WireOptions {
  /** The queue's VisibilityTimeout, seconds; 120 by default. */
  visibilityTimeout?: number
  /** The SNS topic's name; the queue's by default. */
  topic?: string
  /** The bucket's name; `${queue}-logs` by default. */
  bucket?: string
  /** Other buckets to create beside it (a notification naming another bucket, say). */
  buckets?: string[]
  /** A dead-letter queue `${queue}-dlq` the queue moves a message to after its third receive. */
  redrive?: boolean
}

export interface Wiring {
  /** The queue's name. */
  name: string
  queueUrl: string
  topic: string
  topicArn: string
  bucket: string
  /** The dead-letter queue's name, when wired with `redrive`. */
  dlq?: string
}

export interface QueueDepth {
  /** Visible messages, delayed ones included (ApproximateNumberOfMessages + …Delayed). */
  ready: number
  /** Received and not yet deleted (ApproximateNumberOfMessagesNotVisible). */
  inflight: number
  /** ready + inflight: every message not yet deleted. */
  undeleted: number
  /** Age of the oldest message not yet deleted, seconds (0 when there is none). */
  oldestAgeSeconds: number
}

/** fauxqs takes request bodies up to 11 MiB: an object larger than this goes up in parts of this size. */
const PART_BYTES = 8 << 20

export class CloudTrailEmulator {
  readonly s3: S3Client
  readonly sns: SNSClient
  readonly sqs: SQSClient

  private constructor(
    readonly server: FauxqsServer,
    readonly credentials: Credentials,
  ) {
    const common = { endpoint: server.address, region: EMULATOR_REGION, credentials }
    this.s3 = new S3Client({ ...common, forcePathStyle: true })
    this.sns = new SNSClient(common)
    this.sqs = new SQSClient(common)
  }

  /** A fresh fauxqs on a free port of 127.0.0.1; its clients sign with `credentials`. */
  static async start({ credentials = emulatorCredentials }: { credentials?: Credentials } = {}): Promise<CloudTrailEmulator> {
    return new CloudTrailEmulator(await startLoopbackFauxqs(), credentials)
  }

  get endpoint(): string {
    return this.server.address
  }

  /** A queue named `name`, a topic it is subscribed to and a bucket. */
  wire(name: string, options: WireOptions = {}): Wiring {
    const attributes: Record<string, string> = { VisibilityTimeout: String(options.visibilityTimeout ?? 120) }
    let dlq: string | undefined
    if (options.redrive) {
      dlq = `${name}-dlq`
      const { queueArn } = this.server.createQueue(dlq)
      attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: queueArn, maxReceiveCount: '3' })
    }
    const { queueUrl } = this.server.createQueue(name, { attributes })
    const topic = options.topic ?? name
    const { topicArn } = this.server.createTopic(topic)
    this.server.subscribe({ topic, queue: name })
    const bucket = options.bucket ?? `${name}-logs`
    for (const b of [bucket, ...(options.buckets ?? [])]) this.server.createBucket(b)
    return { name, queueUrl, topic, topicArn, bucket, ...(dlq ? { dlq } : {}) }
  }

  /** Frees what `wire` made (the buckets stay, empty). */
  unwire(w: Wiring): void {
    this.server.deleteQueue(w.name)
    if (w.dlq) this.server.deleteQueue(w.dlq)
    this.server.deleteTopic(w.topic)
    this.server.emptyBucket(w.bucket)
  }

  /** Puts one object, in parts when it is larger than fauxqs takes in one body. */
  async putObject(bucket: string, key: string, body: Uint8Array | string): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body
    if (bytes.length <= PART_BYTES) {
      await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }))
      return
    }
    const { UploadId } = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
    const parts = []
    for (let at = 0, part = 1; at < bytes.length; at += PART_BYTES, part++) {
      const { ETag } = await this.s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: part, Body: bytes.subarray(at, at + PART_BYTES) }))
      parts.push({ ETag, PartNumber: part })
    }
    await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }))
  }

  /** Publishes `message` to the wiring's topic: the queue receives it in SNS's envelope. */
  async publish(w: Wiring, message: string): Promise<void> {
    await this.sns.send(new PublishCommand({ TopicArn: w.topicArn, Message: message }))
  }

  /** CloudTrail's notification of `keys` (in `bucket`, the wiring's by default), through SNS. */
  async notify(w: Wiring, keys: string[], bucket = w.bucket): Promise<void> {
    await this.publish(w, cloudTrailNotification(bucket, keys))
  }

  /** A raw SQS message body, straight to the queue (no SNS envelope). */
  async send(w: Wiring, body: string): Promise<void> {
    await this.sqs.send(new SendMessageCommand({ QueueUrl: w.queueUrl, MessageBody: body }))
  }

  /** One log file: PutObject, then CloudTrail's notification through SNS. */
  async deliver(w: Wiring, key: string, body: Uint8Array): Promise<void> {
    await this.putObject(w.bucket, key, body)
    await this.notify(w, [key])
  }

  /** Delivers every body (16 at a time) under keys drawn from `seed`. */
  async seed(w: Wiring, bodies: readonly Uint8Array[], seed = 1): Promise<void> {
    const concurrency = 16
    const keys = new KeyMaker(seed)
    const list = bodies.map((body) => ({ key: keys.next(), body }))
    let next = 0
    const lane = async () => {
      while (next < list.length) {
        const { key, body } = list[next++]
        await this.deliver(w, key, body)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, lane))
  }

  /** The queue's messages as fauxqs holds them now (no SQS call, so no fault proxy and no wait). */
  depth(w: Wiring | string): QueueDepth {
    const q = this.server.inspectQueue(typeof w === 'string' ? w : w.name)
    if (!q) return { ready: 0, inflight: 0, undeleted: 0, oldestAgeSeconds: 0 }
    let oldest = Infinity
    for (const m of q.messages.ready) oldest = Math.min(oldest, m.sentTimestamp)
    for (const m of q.messages.delayed) oldest = Math.min(oldest, m.sentTimestamp)
    for (const e of q.messages.inflight) oldest = Math.min(oldest, e.message.sentTimestamp)
    const ready = q.messages.ready.length + q.messages.delayed.length
    const inflight = q.messages.inflight.length
    return {
      ready,
      inflight,
      undeleted: ready + inflight,
      oldestAgeSeconds: oldest === Infinity ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
    }
  }

  async stop(): Promise<void> {
    this.s3.destroy()
    this.sns.destroy()
    this.sqs.destroy()
    await this.server.stop()
  }
}
