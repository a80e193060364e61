// The emulator harness the demo, the benchmarks and the tests share: a wiring is a queue subscribed to a
// topic and a bucket; a delivery is the object and CloudTrail's notification in SNS's envelope; the depth
// counts what the queue holds; large objects go up in parts; unwire frees the queues and the topic.

import { GetObjectCommand } from '@aws-sdk/client-s3'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { afterEach, describe, expect, it } from 'vitest'
import { CloudTrailEmulator } from '../../src/emulator/cloudtrail-emulator.ts'
import { collectorCli, logLines, runArgs, runEnv } from '../../src/emulator/collector-cli.ts'
import { KeyMaker, cloudTrailKey } from '../../src/emulator/keys.ts'
import { parseNotification } from '../../src/pipeline/notifications.ts'

let emu: CloudTrailEmulator | undefined
afterEach(async () => {
  await emu?.stop()
  emu = undefined
})

describe('CloudTrailEmulator', () => {
  it('delivers an object and its notification through SNS, and counts the queue by state', async () => {
    emu = await CloudTrailEmulator.start()
    const w = emu.wire('harness', { visibilityTimeout: 30 })
    expect(w).toMatchObject({ name: 'harness', topic: 'harness', bucket: 'harness-logs' })
    expect(emu.depth(w)).toEqual({ ready: 0, inflight: 0, undeleted: 0, oldestAgeSeconds: 0 })

    const key = new KeyMaker(3).next()
    await emu.deliver(w, key, Buffer.from('body'))
    expect(emu.depth(w)).toMatchObject({ ready: 1, inflight: 0, undeleted: 1 })
    const object = await emu.s3.send(new GetObjectCommand({ Bucket: w.bucket, Key: key }))
    expect(await object.Body!.transformToString()).toBe('body')

    const { Messages } = await emu.sqs.send(new ReceiveMessageCommand({ QueueUrl: w.queueUrl, WaitTimeSeconds: 0 }))
    expect(Messages).toHaveLength(1)
    expect(JSON.parse(Messages![0].Body!)).toMatchObject({ Type: 'Notification' })
    expect(parseNotification(Messages![0].Body!)).toMatchObject({ kind: 'objects', style: 'cloudtrail-sns', objects: [{ bucket: w.bucket, key }] })
    expect(emu.depth(w)).toMatchObject({ ready: 0, inflight: 1, undeleted: 1 })
  })

  it('puts an object larger than fauxqs takes in one request in parts, whole', async () => {
    emu = await CloudTrailEmulator.start()
    const w = emu.wire('parts')
    const big = Buffer.alloc(9 << 20)
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251
    await emu.putObject(w.bucket, 'big', big)
    const object = await emu.s3.send(new GetObjectCommand({ Bucket: w.bucket, Key: 'big' }))
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(big)).toBe(true)
  })

  it('wires a dead-letter queue on request, and unwire frees both queues and the topic', async () => {
    emu = await CloudTrailEmulator.start()
    const w = emu.wire('redriven', { redrive: true })
    expect(w.dlq).toBe('redriven-dlq')
    expect(emu.server.inspectQueue('redriven-dlq')).toBeDefined()
    emu.unwire(w)
    expect(emu.server.inspectQueue('redriven')).toBeUndefined()
    expect(emu.server.inspectQueue('redriven-dlq')).toBeUndefined()
    // The names can be wired again.
    expect(emu.wire('redriven', { redrive: true }).dlq).toBe('redriven-dlq')
  })
})

describe('keys and the collector CLI', () => {
  it('makes CloudTrail keys the key classifier accepts, reproducibly from a seed', () => {
    const a = new KeyMaker(9)
    const b = new KeyMaker(9)
    const keys = [a.next(), a.next()]
    expect([b.next(), b.next()]).toEqual(keys)
    expect(keys[0]).not.toBe(keys[1])
    for (const key of keys) expect(key).toMatch(/^AWSLogs\/111122223333\/CloudTrail\/us-east-1\/2026\/11\/26\/111122223333_CloudTrail_us-east-1_20261126T\d{4}Z_[0-9A-Za-z]{16}\.json\.gz$/)
    expect(cloudTrailKey('123456789012', 'eu-west-1', '20261110T1205Z', 'abcdefghijklmnop')).toBe(
      'AWSLogs/123456789012/CloudTrail/eu-west-1/2026/11/10/123456789012_CloudTrail_eu-west-1_20261110T1205Z_abcdefghijklmnop.json.gz',
    )
  })

  it('points run at a wiring, the secret in the environment only', () => {
    const w = { name: 'q', queueUrl: 'http://127.0.0.1:1/000000000000/q', topic: 'q', topicArn: 'arn:aws:sns:us-east-1:000000000000:q', bucket: 'q-logs' }
    const credentials = { accessKeyId: 'AKIDX', secretAccessKey: 'never-on-the-command-line' }
    const args = runArgs('http://127.0.0.1:2', w, { drain: true, credentials })
    expect(args).toEqual(['run', '--drain', '--queue-url', w.queueUrl, '--endpoint', 'http://127.0.0.1:2', '--bucket', 'q-logs', '--access-key-id', 'AKIDX'])
    expect(args.join(' ')).not.toContain(credentials.secretAccessKey)
    expect(runEnv(credentials)).toEqual({ CLOUDTRAIL_INGEST_SECRET_KEY: credentials.secretAccessKey })
    expect(collectorCli).toMatch(/\/dist\/src\/cli\.js$/)
  })

  it('reads the JSON log lines out of stderr, other and broken lines left out', () => {
    expect(logLines('starting\n{"level":30,"msg":"a"}\n{"level":40,\n{"msg":"b"}\n')).toEqual([{ level: 30, msg: 'a' }, { msg: 'b' }])
  })
})
