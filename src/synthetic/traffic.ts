// Synthetic CloudTrail delivery at a target rate, the way CloudTrail delivers: gzipped log files written
// to S3 under AWSLogs/…/CloudTrail/…, each announced by CloudTrail's notification published to the SNS
// topic (which fans out to the SQS queue). Used by `demo` and the EPS benchmark.

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns'
import { sleep } from '../sleep.ts'
import { buildLogFile, cloudTrailNotification, type LogFile } from './log-file.ts'
import { RecordGenerator } from './records.ts'

export interface TrafficOptions {
  eps: number
  bucket: string
  topicArn: string
  s3: S3Client
  sns: SNSClient
  seed?: number
  /** Log files per second over all accounts and regions (CloudTrail writes one per account, region and ~5 minutes; faster here so the demo moves). */
  filesPerSecond?: number
  accounts?: string[]
  regions?: string[]
  /** Called after each file is announced (the soak's ledger reads the records' eventIDs from it). */
  onFile?: (file: LogFile) => void
}

export class Traffic {
  /** Records and files announced so far. */
  records = 0
  files = 0
  private readonly generator: RecordGenerator
  private readonly stopper = new AbortController()
  private loop: Promise<void> | null = null

  constructor(private readonly options: TrafficOptions) {
    this.generator = new RecordGenerator({ seed: options.seed ?? 1, accountIds: options.accounts, regions: options.regions })
  }

  start(): void {
    this.loop ??= this.run()
  }

  /** Stops after the file being written; resolves when it is announced. */
  async stop(): Promise<void> {
    this.stopper.abort()
    await this.loop
  }

  private async run(): Promise<void> {
    const { eps, filesPerSecond = 4 } = this.options
    const accounts = this.options.accounts ?? ['111122223333', '444455556666']
    const regions = this.options.regions ?? ['us-east-1', 'eu-west-1']
    const tickMs = 1000 / filesPerSecond
    const started = performance.now()
    let owed = 0
    for (let tick = 0; !this.stopper.signal.aborted; tick++) {
      // Records owed since the start, so that slow ticks catch up instead of drifting (at most 10 s worth).
      const due = ((performance.now() - started) / 1000) * eps
      owed = Math.min(due - this.records, eps * 10)
      const n = Math.floor(owed)
      if (n > 0) {
        const account = accounts[tick % accounts.length]
        const region = regions[Math.floor(tick / accounts.length) % regions.length]
        const file = buildLogFile(this.generator, { records: n, account, region, time: new Date() })
        await this.options.s3.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: file.key, Body: file.body }))
        await this.options.sns.send(new PublishCommand({ TopicArn: this.options.topicArn, Message: cloudTrailNotification(this.options.bucket, [file.key]) }))
        this.records += n
        this.files++
        this.options.onFile?.(file)
      }
      const next = started + (tick + 1) * tickMs
      await sleep(Math.max(0, next - performance.now()), this.stopper.signal)
    }
  }
}
