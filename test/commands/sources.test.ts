// Two sources in one collector, in process (startCollector, as the CLI wires it), against one real fauxqs
// holding two wirings: the parse pool and the sink are shared, and admission to them is fair: a source
// with a hundred times the other's backlog does not starve it (processor.ts: the slots admit in order of
// arrival, and each source's processor waits for one object at a time). Each source's metrics carry its
// own labels.

import { writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { startCollector } from '../../src/commands/run.ts'
import { loadConfig } from '../../src/config.ts'
import { silentLogger } from '../../src/log.ts'
import { Metrics } from '../../src/observe/metrics.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { credentials, anotherWiring } from '../helpers/fauxqs.ts'
import { seedObjects, seqsInFile, tmpFile } from '../helpers/seed.ts'
import { waitUntil } from '../helpers/wait.ts'

useCleanup()

describe('sources sharing one parse pool', () => {
  it('serve a source with a small backlog while another has a hundred times more: both make progress', async () => {
    const emu = await emulator()
    const emuSmall = anotherWiring(emu, 'small', { visibilityTimeout: 60 })
    // The deep one first: its messages are in its queue before the small one has any.
    const deep = await seedObjects(emu, 200, { per: 20, prefix: 'Deep', tag: 'd' })
    const few = await seedObjects(emuSmall, 2, { per: 20, prefix: 'Few', tag: 'f' })

    const out = tmpFile('ct-fair-')
    const path = tmpFile('ct-fair-', 'collector.json')
    writeFileSync(
      path,
      JSON.stringify({
        endpoint: emu.endpoint,
        region: 'us-east-1',
        access_key_id: credentials.accessKeyId,
        secret_key: credentials.secretAccessKey,
        wait_time: 1,
        metrics_port: 0,
        stats_log_interval: 0,
        format: 'json',
        output: `file:${out}`,
        // One parse thread and two objects at a time: admission is what decides who goes next.
        cloudtrail_file_parse_thread_num: 1,
        max_objects_in_flight: 2,
        sources: [
          { name: 'deep', queue_url: emu.queueUrl, bucket: [emu.bucket] },
          { name: 'small', queue_url: emuSmall.queueUrl, bucket: [emuSmall.bucket] },
        ],
      }),
    )
    const metrics = new Metrics(false)
    const collector = await startCollector(loadConfig('run', { config: path }, {}), silentLogger(), metrics)
    cleanup(async () => {
      collector.stop()
      await collector.done
    })

    const writtenOf = (tag: string) => seqsInFile(out).filter((s) => s.startsWith(tag)).length
    await waitUntil(() => writtenOf('f') === few.length, 'the small source to be written', 60_000)
    // When the small source is done, most of the deep one is still to do: it was not served first.
    const deepDone = writtenOf('d')
    console.log(`small source done after ${deepDone} of the deep source's ${deep.length} records`)
    expect(deepDone).toBeLessThan(deep.length / 2)
    await waitUntil(() => writtenOf('d') === deep.length, 'the deep source to be written', 120_000)
    expect(new Set(seqsInFile(out))).toEqual(new Set([...deep, ...few]))

    // Each source counted under its own labels (once the sink confirmed the last records).
    await waitUntil(() => metrics.totals.events === deep.length + few.length, 'every record to be confirmed')
    const events = await metrics.registry.getSingleMetric('cloudtrail_events_total')!.get()
    const bySource = Object.fromEntries(events.values.map((v) => [v.labels.source, v.value]))
    expect(bySource).toEqual({ deep: deep.length, small: few.length })
  }, 180_000)
})
