// A real fauxqs server (SQS, SNS and S3 over HTTP) on a random port of 127.0.0.1, with the CloudTrail wiring:
// queue <- SNS topic subscription, and a bucket. Plus the collector CLI run as a child process.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { CreateMultipartUploadCommand, CompleteMultipartUploadCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3'
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns'
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs'
import type { FauxqsServer } from 'fauxqs'
import { startLoopbackFauxqs } from '../../src/emulator/loopback-fauxqs.ts'
import { repoRoot } from './fixtures.ts'

export const credentials = { accessKeyId: 'AKIDTESTCOLLECTOR', secretAccessKey: 'test-secret-key-must-never-appear-3f9c1a' }

export interface Emulator {
  server: FauxqsServer
  endpoint: string
  queueUrl: string
  queueName: string
  topicArn: string
  bucket: string
  sqs: SQSClient
  s3: S3Client
  sns: SNSClient
  putObject(key: string, body: Uint8Array | string, bucket?: string): Promise<void>
  putLog(key: string, records: unknown[], bucket?: string): Promise<void>
  /** Publishes through SNS: the queue receives the SNS envelope, as from CloudTrail. */
  publish(message: string): Promise<void>
  /** Sends a raw SQS message body. */
  send(body: string): Promise<void>
  /** Messages still in the queue, visible or in flight. */
  remaining(): number
  stop(): Promise<void>
}

let counter = 0

export async function startEmulator(options: { visibilityTimeout?: number; redrive?: boolean; buckets?: string[] } = {}): Promise<Emulator> {
  const server = await startLoopbackFauxqs()
  const n = ++counter
  const queueName = `cloudtrail-${n}`
  const attributes: Record<string, string> = { VisibilityTimeout: String(options.visibilityTimeout ?? 30) }
  if (options.redrive) {
    const dlq = server.createQueue(`${queueName}-dlq`)
    attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: '3' })
  }
  const { queueUrl } = server.createQueue(queueName, { attributes })
  const { topicArn } = server.createTopic(`cloudtrail-topic-${n}`)
  server.subscribe({ topic: `cloudtrail-topic-${n}`, queue: queueName })
  const bucket = `cloudtrail-logs-${n}`
  for (const b of [bucket, ...(options.buckets ?? [])]) server.createBucket(b)
  const endpoint = server.address
  const common = { endpoint, region: 'us-east-1', credentials }
  const sqs = new SQSClient(common)
  const s3 = new S3Client({ ...common, forcePathStyle: true })
  const sns = new SNSClient(common)

  const putObject = async (key: string, body: Uint8Array | string, b = bucket) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body
    if (bytes.length <= 8 << 20) {
      await s3.send(new PutObjectCommand({ Bucket: b, Key: key, Body: bytes }))
      return
    }
    // fauxqs takes bodies up to 11 MiB: larger objects go up in parts.
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: key }))
    const parts = []
    const partSize = 8 << 20
    for (let i = 0, part = 1; i < bytes.length; i += partSize, part++) {
      const { ETag } = await s3.send(new UploadPartCommand({ Bucket: b, Key: key, UploadId, PartNumber: part, Body: bytes.subarray(i, i + partSize) }))
      parts.push({ ETag, PartNumber: part })
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: key, UploadId, MultipartUpload: { Parts: parts } }))
  }

  return {
    server,
    endpoint,
    queueUrl,
    queueName,
    topicArn,
    bucket,
    sqs,
    s3,
    sns,
    putObject,
    putLog: (key, records, b) => putObject(key, gzipSync(JSON.stringify({ Records: records })), b),
    publish: async (message) => {
      await sns.send(new PublishCommand({ TopicArn: topicArn, Message: message }))
    },
    send: async (body) => {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }))
    },
    remaining: () => {
      const q = server.inspectQueue(queueName)
      if (!q) return 0
      return q.messages.ready.length + q.messages.inflight.length + q.messages.delayed.length
    },
    stop: async () => {
      sqs.destroy()
      s3.destroy()
      sns.destroy()
      await server.stop()
    },
  }
}

export const cli = join(repoRoot, 'dist', 'src', 'cli.js')

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** stderr parsed as pino JSON lines (other lines skipped). */
  logs: Record<string, unknown>[]
}

export interface CliProcess {
  child: ReturnType<typeof spawn>
  stdout(): string
  stderr(): string
  result: Promise<CliResult>
}

function parseLogs(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>]
      } catch {
        return []
      }
    })
}

/** Starts the built CLI (run `make build` first) with the given arguments. */
export function startCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (d: Buffer) => out.push(d))
  child.stderr.on('data', (d: Buffer) => err.push(d))
  // CT_TEST_DEBUG=1 shows the collector's logs while a test runs.
  if (process.env.CT_TEST_DEBUG) child.stderr.on('data', (d: Buffer) => process.stderr.write(d))
  const result = (async () => {
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null]
    const stderr = Buffer.concat(err).toString('utf8')
    return { code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr, logs: parseLogs(stderr) }
  })()
  return { child, stdout: () => Buffer.concat(out).toString('utf8'), stderr: () => Buffer.concat(err).toString('utf8'), result }
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return startCli(args, env).result
}

export interface RunOptions {
  /** Where S3 and SQS calls go: the emulator itself by default, or a fault proxy in front of it. */
  endpoint?: string
  /** --drain (the default): exit once the queue is empty; false runs until stopped. */
  drain?: boolean
  /** --metrics-port; 0 (the default) turns the endpoint off. */
  metricsPort?: number
}

/** The flags that point `run` at an emulator, then `extra`. */
export function runArgs(emu: Emulator, extra: string[] = [], { endpoint = emu.endpoint, drain = true, metricsPort = 0 }: RunOptions = {}): string[] {
  return [
    'run',
    '--queue-url', emu.queueUrl,
    '--endpoint', endpoint,
    '--bucket', emu.bucket,
    '--access-key-id', credentials.accessKeyId,
    '--wait-time', '1',
    '--metrics-port', String(metricsPort),
    ...(drain ? ['--drain'] : []),
    ...extra,
  ]
}

/** The secret goes through the environment, as the README recommends. */
export const runEnv = { CLOUDTRAIL_INGEST_SECRET_KEY: credentials.secretAccessKey }

export function cloudTrailKey(account: string, region: string, stamp: string, suffix: string): string {
  const [y, m, d] = [stamp.slice(0, 4), stamp.slice(4, 6), stamp.slice(6, 8)]
  return `AWSLogs/${account}/CloudTrail/${region}/${y}/${m}/${d}/${account}_CloudTrail_${region}_${stamp}_${suffix}.json.gz`
}
