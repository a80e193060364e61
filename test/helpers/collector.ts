// The `run` collector in this process (startCollector, as the CLI wires it) against an emulator, for
// tests that read its metrics directly rather than through a child process and /metrics. Stopped after
// the test.

import { startCollector, type CollectorHandle } from '../../src/commands/run.ts'
import { loadConfig, type RawSettings } from '../../src/config.ts'
import { silentLogger, type Logger } from '../../src/log.ts'
import { Metrics } from '../../src/observe/metrics.ts'
import { cleanup } from './cleanup.ts'
import { credentials, type Emulator } from './fauxqs.ts'
import { tmpFile } from './seed.ts'

/**
 * A collector on `emu`'s queue and bucket, through `endpoint` (a fault proxy, say), with short waits and
 * no metrics endpoint; `settings` (config-file names) override. Only these settings count: the
 * environment is not read. Logs go nowhere unless `log` says otherwise.
 */
export async function inProcessCollector(emu: Emulator, endpoint: string, settings: RawSettings = {}, log: Logger = silentLogger()): Promise<CollectorHandle> {
  const config = loadConfig(
    'run',
    {
      queue_url: emu.queueUrl,
      region: 'us-east-1',
      endpoint,
      bucket: emu.bucket,
      access_key_id: credentials.accessKeyId,
      secret_key: credentials.secretAccessKey,
      wait_time: '1',
      metrics_port: '0',
      stats_log_interval: '0',
      shutdown_timeout: '2',
      output: `file:${tmpFile('ct-inprocess-')}`,
      ...settings,
    },
    {},
  )
  const handle = await startCollector(config, log, new Metrics(false))
  cleanup(async () => {
    handle.stop()
    await handle.done
  })
  return handle
}

/**
 * A metric's value now: a gauge's (undefined when it has no sample), or one series of a histogram
 * (`cloudtrail_…_seconds` with `series` `cloudtrail_…_seconds_count`, say).
 */
export async function sample(metrics: Metrics, name: string, series?: string): Promise<number | undefined> {
  const metric = metrics.registry.getSingleMetric(name)
  if (!metric) throw new Error(`no metric ${name}`)
  const { values } = await metric.get()
  return (series ? values.find((v) => (v as { metricName?: string }).metricName === series) : values[0])?.value
}
