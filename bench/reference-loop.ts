// The reference for goal 4: the straightforward loop a user would otherwise write. sqs-consumer receives
// batches of 10; for each message, one after another: JSON.parse of the SNS envelope and of its Message,
// then for each key in s3ObjectKey: GetObject (@aws-sdk/client-s3), gunzipSync, JSON.parse, each record
// flattened by a plain recursive walk with sorted keys (below: what a user writes, not workers/fortisiem/reference.ts)
// and the lines appended with fs.appendFileSync. sqs-consumer deletes the batch when the handler returns.
// Exits 0 when a receive finds the queue empty (drain).
//
//   node dist/bench/reference-loop.js --endpoint URL --queue-url URL --output PATH [--format fortisiem|json] [--wait-time 0]
//
// Prints one JSON line at the end: { messages, objects, records, seconds }.

import { appendFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { SQSClient } from '@aws-sdk/client-sqs'
import { Consumer } from 'sqs-consumer'
import { ctime } from '../workers/timestamps.ts'

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    'queue-url': { type: 'string' },
    output: { type: 'string' },
    format: { type: 'string', default: 'fortisiem' },
    'wait-time': { type: 'string', default: '0' },
    region: { type: 'string', default: 'us-east-1' },
  },
})
if (!values['queue-url'] || !values.output) {
  process.stderr.write('usage: reference-loop --queue-url URL --output PATH [--endpoint URL] [--format fortisiem|json] [--wait-time S]\n')
  process.exit(2)
}
const output = values.output
const json = values.format === 'json'

const client = { region: values.region, ...(values.endpoint ? { endpoint: values.endpoint } : {}), credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } }
const sqs = new SQSClient(client)
const s3 = new S3Client({ ...client, forcePathStyle: Boolean(values.endpoint) })

const controls = (s: string) =>
  // eslint-disable-next-line no-control-regex
  s.replace(/[\u0000-\u001f]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')))

/** `[path]=value` for every leaf, depth first, keys sorted: the FortiSIEM format as a user writes it. */
function flatten(value: unknown, path: string, out: string[]): void {
  if (value === null || typeof value !== 'object') {
    out.push(`[${path}]=${typeof value === 'string' ? controls(value) : String(value)}`)
  } else if (Array.isArray(value)) {
    if (value.length === 0) out.push(`[${path}]=[]`)
    value.forEach((v, i) => flatten(v, `${path}/${i}`, out))
  } else {
    const keys = Object.keys(value).sort()
    if (keys.length === 0) out.push(`[${path}]={}`)
    for (const k of keys) flatten((value as Record<string, unknown>)[k], path ? `${path}/${k}` : k, out)
  }
}

function line(record: Record<string, unknown>, header: string): string {
  if (json) return JSON.stringify(record)
  const source = record.eventSource
  if (typeof source === 'string') record.eventSource = source.replace(/\.amazonaws\.com$/, '').toUpperCase()
  const fields: string[] = []
  flatten(record, '', fields)
  return `${header} ${fields.join(' ')}`
}

const totals = { messages: 0, objects: 0, records: 0 }
const started = performance.now()

const consumer = Consumer.create({
  queueUrl: values['queue-url'],
  sqs,
  batchSize: 10,
  waitTimeSeconds: Number(values['wait-time']),
  visibilityTimeout: 120,
  suppressFifoWarning: true,
  handleMessageBatch: async (messages) => {
    for (const message of messages) {
      const envelope = JSON.parse(message.Body ?? '{}') as { Message?: string }
      const notification = JSON.parse(envelope.Message ?? '{}') as { s3Bucket: string; s3ObjectKey: string[] }
      for (const key of notification.s3ObjectKey ?? []) {
        const object = await s3.send(new GetObjectCommand({ Bucket: notification.s3Bucket, Key: key }))
        const gzipped = await object.Body!.transformToByteArray()
        const document = JSON.parse(gunzipSync(gzipped).toString('utf8')) as { Records: Record<string, unknown>[] }
        const header = `${ctime(new Date())} FortiSIEM-CloudTrail`
        const lines = document.Records.map((r) => line(r, header))
        appendFileSync(output, lines.join('\n') + '\n')
        totals.objects++
        totals.records += lines.length
      }
      totals.messages++
    }
    return messages
  },
})

let failed = false
consumer.on('error', (err) => {
  process.stderr.write(`reference-loop: ${err.message}\n`)
  failed = true
  consumer.stop()
})
consumer.on('processing_error', (err) => {
  process.stderr.write(`reference-loop: processing failed: ${err.message}\n`)
  failed = true
  consumer.stop()
})
consumer.on('empty', () => consumer.stop())
consumer.on('stopped', () => {
  sqs.destroy()
  s3.destroy()
  console.log(JSON.stringify({ ...totals, seconds: (performance.now() - started) / 1000 }))
  process.exitCode = failed ? 1 : 0
})
consumer.start()
