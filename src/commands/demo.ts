// The embedded default: the fauxqs emulator (SQS, SNS and S3 on one local port) in this process, the
// CloudTrail wiring a real account has (bucket, SNS topic, SQS queue subscribed to it), synthetic
// CloudTrail traffic at --eps, and the collector against it. No AWS account needed.

import { startCollector } from './run.ts'
import { loadConfig, type RawSettings } from '../config.ts'
import type { Logger } from '../log.ts'
import { CloudTrailEmulator, EMULATOR_REGION } from '../emulator/cloudtrail-emulator.ts'
import { Traffic } from '../synthetic/traffic.ts'
import { sleep } from '../sleep.ts'

export interface DemoOptions {
  eps: number
  /** Seconds; undefined runs until a signal. */
  duration?: number
  onSignals: (stop: () => void) => void
}

const credentials = { accessKeyId: 'demo', secretAccessKey: 'demo' }

export async function runDemo(flags: RawSettings, log: Logger, options: DemoOptions): Promise<number> {
  // On 127.0.0.1 only: the emulator's queues and buckets are nobody else's business.
  const emulator = await CloudTrailEmulator.start({ credentials })
  const { queueUrl, topicArn, bucket } = emulator.wire('cloudtrail-demo', { visibilityTimeout: 60 })
  log.info({ endpoint: emulator.endpoint, queueUrl, topicArn, bucket }, 'demo: fauxqs emulator started (SQS, SNS and S3)')

  const config = loadConfig('run', {
    cloudtrail_msg_pull_interval: '1',
    wait_time: '1',
    queue_stats_interval: '5',
    ...flags,
    queue_url: queueUrl,
    endpoint: emulator.endpoint,
    region: EMULATOR_REGION,
    bucket: [bucket],
    access_key_id: credentials.accessKeyId,
    secret_key: credentials.secretAccessKey,
  })
  const collector = await startCollector(config, log)
  if (collector.server) log.info({ metrics: `${collector.server.url}/metrics` }, 'demo: Prometheus metrics')

  const traffic = new Traffic({ eps: options.eps, bucket, topicArn, s3: emulator.s3, sns: emulator.sns })
  traffic.start()
  log.info({ eps: options.eps, duration: options.duration ?? 'until Ctrl-C' }, 'demo: synthetic CloudTrail traffic started')

  const stopped = new AbortController()
  options.onSignals(() => stopped.abort())
  if (options.duration !== undefined) await sleep(options.duration * 1000, stopped.signal)
  else await new Promise((resolve) => stopped.signal.addEventListener('abort', resolve, { once: true }))

  await traffic.stop()
  // Let the collector catch up with what was sent (bounded), then stop it.
  const events = () => collector.metrics.totals.events
  const deadline = Date.now() + 15_000
  while (events() < traffic.records && Date.now() < deadline) await sleep(200)
  collector.stop('signal')
  const status = await collector.done
  await emulator.stop()
  log.info({ generated: traffic.records, files: traffic.files, written: events() }, 'demo finished')
  return status
}
