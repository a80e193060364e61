// parseNotification on the three shapes a CloudTrail queue mostly carries, against the floor of what any
// parser must do (JSON.parse of the envelope and of its Message). Run after a build:
//   npx tsc -p tsconfig.json && node dist/bench/notifications.bench.js

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Bench } from 'tinybench'
import { parseNotification } from '../src/notifications.ts'
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

const bench = new Bench({ name: 'parseNotification', time: 1000 })
for (const [name, body] of Object.entries(bodies)) bench.add(name, () => parseNotification(body))
bench.add('floor: JSON.parse x2 of the S3 event in SNS', () => JSON.parse(JSON.parse(snsS3Event).Message))

await bench.run()
console.log(bench.name)
console.table(bench.table())
