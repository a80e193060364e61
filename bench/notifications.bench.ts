// What the main thread spends on one SQS message before any GET: parseNotification on the three shapes a
// CloudTrail queue mostly carries, against the floor of what any parser must do (JSON.parse of the
// envelope and of its Message); then the key check, key_pattern matched by re2js (what
// src/pipeline/object-keys.ts uses) against V8's RegExp (what it used), on real keys and on a hostile 1 KiB key
// (the longest a notification may name). Run after a build:
//   npx tsc -p tsconfig.json && node dist/bench/notifications.bench.js

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Bench } from 'tinybench'
import { parseNotification } from '../src/pipeline/notifications.ts'
import { classifyKey, compileKeyPattern, DEFAULT_KEY_PATTERN, MAX_KEY_BYTES } from '../src/pipeline/object-keys.ts'
import { repoRoot } from './lib/paths.ts'

const notifications = join(repoRoot(), 'test', 'fixtures', 'notifications')
const fixture = (name: string) => readFileSync(join(notifications, name), 'utf8')

// A real SNS envelope (drumadrian's, Signature and all, less its S3 Subject) carrying CloudTrail's own
// notification, as SNS writes it when raw message delivery is off.
const snsS3Event = fixture('drumadrian-sns-s3-event-orgtrail-cloudtrail-key.json')
const raw = fixture('awsdocs-cloudtrail-ug-sns-notification-message-0.json')
const cloudTrailSns = JSON.stringify({ ...JSON.parse(snsS3Event), Subject: undefined, Message: JSON.stringify(JSON.parse(raw)) }, null, 2)

const bodies = { 'CloudTrail SNS envelope': cloudTrailSns, 'S3 event in SNS': snsS3Event, 'CloudTrail raw': raw }
for (const [name, body] of Object.entries(bodies)) {
  const result = parseNotification(body)
  if (result.kind !== 'objects' || result.objects.length !== 1) throw new Error(`${name}: unexpected ${JSON.stringify(result)}`)
}

const re2 = compileKeyPattern(DEFAULT_KEY_PATTERN)
const v8 = new RegExp(DEFAULT_KEY_PATTERN)
const keys = {
  'CloudTrail key': 'AWSLogs/o-2xh1murzat/696965430582/CloudTrail/us-west-2/2020/11/01/696965430582_CloudTrail_us-west-2_20201101T2250Z_V84r5ej0Vt9EciUg.json.gz',
  'VPC flow log key': 'AWSLogs/111111111111/vpcflowlogs/eu-west-2/2022/02/21/111111111111_vpcflowlogs_eu-west-2_fl-0dcbf7c4c2483c6b6_20220221T1955Z_7fe2e5f7.log.gz',
  [`hostile ${MAX_KEY_BYTES}-byte key`]: '/CloudTrail/x.json.gz'.repeat(MAX_KEY_BYTES / 21) + 'x',
}
for (const [name, key] of Object.entries(keys)) if (re2.test(key) !== v8.test(key)) throw new Error(`${name}: re2js and RegExp disagree`)

const bench = new Bench({ name: 'parseNotification and the key check', time: 1000 })
for (const [name, body] of Object.entries(bodies)) bench.add(name, () => parseNotification(body))
bench.add('floor: JSON.parse x2 of the S3 event in SNS', () => JSON.parse(JSON.parse(snsS3Event).Message))
for (const [name, key] of Object.entries(keys)) {
  bench.add(`classifyKey, re2js: ${name}`, () => classifyKey(key, re2))
  bench.add(`classifyKey, V8 RegExp: ${name}`, () => classifyKey(key, v8))
}

await bench.run()
console.log(bench.name)
console.table(bench.table())
