// fauxqs (SQS, SNS and S3 on one port of 127.0.0.1) in the harness's process, wired as CloudTrail wires an
// account: bucket, SNS topic, SQS queue subscribed to it. Log files are delivered as CloudTrail delivers
// them: PutObject, then CloudTrail's notification published to the topic, which wraps it in its envelope.

import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns'
import type { FauxqsServer } from 'fauxqs'
import { startLoopbackFauxqs } from '../../src/emulator/loopback-fauxqs.ts'
import { cloudTrailNotification, logFileKey } from '../../src/synthetic/log-file.ts'
import { Random } from '../../src/synthetic/random.ts'

export const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' }

export interface Wiring {
  name: string
  queueUrl: string
  topicArn: string
  bucket: string
}

export interface QueueDepth {
  /** Visible messages (ApproximateNumberOfMessages). */
  ready: number
  /** Received and not yet deleted (ApproximateNumberOfMessagesNotVisible). */
  inflight: number
  /** ready + inflight: every message not yet deleted. */
  undeleted: number
  /** Age of the oldest message not yet deleted, seconds (0 when there is none). */
  oldestAgeSeconds: number
}

export class BenchEmulator {
  readonly s3: S3Client
  readonly sns: SNSClient

  private constructor(readonly server: FauxqsServer) {
    const common = { endpoint: server.address, region: 'us-east-1', credentials }
    this.s3 = new S3Client({ ...common, forcePathStyle: true })
    this.sns = new SNSClient(common)
  }

  static async start(): Promise<BenchEmulator> {
    return new BenchEmulator(await startLoopbackFauxqs())
  }

  get endpoint(): string {
    return this.server.address
  }

  /** A fresh queue, topic and bucket named after `name`. */
  wire(name: string, visibilityTimeout = 120): Wiring {
    const { queueUrl } = this.server.createQueue(name, { attributes: { VisibilityTimeout: String(visibilityTimeout) } })
    const { topicArn } = this.server.createTopic(name)
    this.server.subscribe({ topic: name, queue: name })
    const bucket = `${name}-logs`
    this.server.createBucket(bucket)
    return { name, queueUrl, topicArn, bucket }
  }

  /** Frees what `wire` made (the bucket stays, empty). */
  unwire(w: Wiring): void {
    this.server.deleteQueue(w.name)
    this.server.deleteTopic(w.name)
    this.server.emptyBucket(w.bucket)
  }

  /** One log file: PutObject, then CloudTrail's notification through SNS. */
  async deliver(w: Wiring, key: string, body: Uint8Array): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: w.bucket, Key: key, Body: body }))
    await this.sns.send(new PublishCommand({ TopicArn: w.topicArn, Message: cloudTrailNotification(w.bucket, [key]) }))
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

  depth(w: Wiring): QueueDepth {
    const q = this.server.inspectQueue(w.name)
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
    await this.server.stop()
  }
}

/** CloudTrail object keys, five minutes apart, reproducible from a seed. */
export class KeyMaker {
  private readonly random: Random
  private i = 0

  constructor(seed = 1) {
    this.random = new Random(seed)
  }

  next(): string {
    const time = new Date(Date.UTC(2026, 10, 26, 0, 5 * this.i++))
    return logFileKey({ account: '111122223333', region: 'us-east-1', time, random: this.random.float })
  }
}

/**
 * `run` reading wiring `w` through `endpoint` (the emulator's, or a proxy in front of it): the subcommand
 * (with --drain when asked) and the connection flags. Callers append their own flags.
 */
export function runArgs(endpoint: string, w: Wiring, { drain = false } = {}): string[] {
  return ['run', ...(drain ? ['--drain'] : []), '--queue-url', w.queueUrl, '--endpoint', endpoint, '--bucket', w.bucket, '--access-key-id', credentials.accessKeyId]
}

/** The environment `run` needs beside runArgs: the secret key of `credentials`. */
export function runEnv(): Record<string, string> {
  return { CLOUDTRAIL_INGEST_SECRET_KEY: credentials.secretAccessKey }
}
