// The emulator harness (src/emulator) as the tests use it: one fauxqs of its own per test on a random port
// of 127.0.0.1, wired as CloudTrail wires an account (queue <- SNS topic subscription, and a bucket), and
// signed with credentials whose secret must never appear in what the collector writes. Plus the collector
// CLI run as a child process.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import type { S3Client } from '@aws-sdk/client-s3'
import type { SNSClient } from '@aws-sdk/client-sns'
import type { SQSClient } from '@aws-sdk/client-sqs'
import type { FauxqsServer } from 'fauxqs'
import { CloudTrailEmulator, type QueueDepth, type Wiring } from '../../src/emulator/cloudtrail-emulator.ts'
import { collectorCli, logLines, runArgs as connectionArgs, runEnv as secretEnv } from '../../src/emulator/collector-cli.ts'

export { cloudTrailKey } from '../../src/emulator/keys.ts'

export const credentials = { accessKeyId: 'AKIDTESTCOLLECTOR', secretAccessKey: 'test-secret-key-must-never-appear-3f9c1a' }

export interface Emulator {
  /** The shared harness behind this emulator, for what the fields below do not say. */
  harness: CloudTrailEmulator
  wiring: Wiring
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
  /** CloudTrail's notification of `keys` (in the emulator's bucket unless `bucket` says), through SNS. */
  notify(keys: string[], bucket?: string): Promise<void>
  /** Sends a raw SQS message body. */
  send(body: string): Promise<void>
  /** Messages still in the queue, visible or in flight. */
  remaining(): number
  /** The queue's messages by state, and the oldest one's age. */
  depth(): QueueDepth
  stop(): Promise<void>
}

const gzipAsync = promisify(gzip)

let counter = 0

export async function startEmulator(options: { visibilityTimeout?: number; redrive?: boolean; buckets?: string[] } = {}): Promise<Emulator> {
  const harness = await CloudTrailEmulator.start({ credentials })
  const n = ++counter
  const wiring = harness.wire(`cloudtrail-${n}`, {
    visibilityTimeout: options.visibilityTimeout ?? 30,
    redrive: options.redrive,
    topic: `cloudtrail-topic-${n}`,
    bucket: `cloudtrail-logs-${n}`,
    buckets: options.buckets,
  })
  return view(harness, wiring)
}

/**
 * A second CloudTrail wiring (queue, topic, bucket) in `emu`'s fauxqs, as an Emulator of its own: another
 * account's trail for the suites with several sources. Stopping it stops the shared emulator.
 */
export function anotherWiring(emu: Emulator, name: string, { visibilityTimeout = 30 }: { visibilityTimeout?: number } = {}): Emulator {
  return view(emu.harness, emu.harness.wire(name, { visibilityTimeout, topic: `${name}-topic`, bucket: `${name}-logs` }))
}

function view(harness: CloudTrailEmulator, wiring: Wiring): Emulator {
  const putObject = (key: string, body: Uint8Array | string, bucket = wiring.bucket) => harness.putObject(bucket, key, body)
  return {
    harness,
    wiring,
    server: harness.server,
    endpoint: harness.endpoint,
    queueUrl: wiring.queueUrl,
    queueName: wiring.name,
    topicArn: wiring.topicArn,
    bucket: wiring.bucket,
    sqs: harness.sqs,
    s3: harness.s3,
    sns: harness.sns,
    putObject,
    // zlib's own threads gzip the log (the same bytes as gzipSync): seedObjects' lanes overlap one object's
    // compression with the next one's JSON instead of waiting for each in turn.
    putLog: async (key, records, bucket) => putObject(key, await gzipAsync(JSON.stringify({ Records: records })), bucket),
    publish: (message) => harness.publish(wiring, message),
    notify: (keys, bucket) => harness.notify(wiring, keys, bucket),
    send: (body) => harness.send(wiring, body),
    remaining: () => harness.depth(wiring).undeleted,
    depth: () => harness.depth(wiring),
    stop: () => harness.stop(),
  }
}

export const cli = collectorCli

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
    return { code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr, logs: logLines(stderr) }
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

/** The flags that point `run` at an emulator (one-second long polls, no metrics endpoint, --drain), then `extra`. */
export function runArgs(emu: Emulator, extra: string[] = [], { endpoint = emu.endpoint, drain = true, metricsPort = 0 }: RunOptions = {}): string[] {
  return [...connectionArgs(endpoint, emu.wiring, { drain, credentials }), '--wait-time', '1', '--metrics-port', String(metricsPort), ...extra]
}

/** The secret goes through the environment, as the README recommends. */
export const runEnv = secretEnv(credentials)
