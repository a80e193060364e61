// Several sources in one collector (`run --config FILE --drain` with a `sources` list), against one real
// fauxqs holding two CloudTrail wirings (queue, topic, bucket): each source drains its own queue, reads
// only its own buckets (a notification on one queue naming the other's bucket is refused and counted),
// signs its S3 reads with its own credentials (the second's a role's, assumed with an external id through
// the STS stand-in: fauxqs has no STS), and every record of both is written once. A fault proxy in front
// of fauxqs only records who signed each GET.

import { writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { StsStandIn } from '../../src/emulator/sts-stand-in.ts'
import { FaultProxy } from '../helpers/fault-proxy.ts'
import { runCli, anotherWiring } from '../helpers/fauxqs.ts'
import { seedObjects, seqsInFile, tmpFile } from '../helpers/seed.ts'

useCleanup()

const A = { accessKeyId: 'AKIDSOURCEA', secretAccessKey: 'source-a-secret-never-shown' }
const B = { accessKeyId: 'AKIDSOURCEB', secretAccessKey: 'source-b-secret-never-shown' }
const ROLE = 'arn:aws:iam::444455556666:role/cloudtrail-reader'
const EXTERNAL_ID = 'tenant-b-external-id-never-shown'

/** The access key id a SigV4 Authorization header names. */
function signer(authorization: string | string[] | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(String(authorization ?? ''))?.[1]
}

describe('several sources in one collector', () => {
  it("drains both queues, writes every record once, refuses a cross-source notification and signs each source's reads with its own credentials (the second a role's)", async () => {
    const emu = await emulator()
    const sts = await StsStandIn.start({ roles: { [ROLE]: { externalId: EXTERNAL_ID } }, lifetimeSeconds: 900 })
    cleanup(() => sts.stop())
    const emuB = anotherWiring(emu, 'tenant-b')
    const seqsA = await seedObjects(emu, 6, { per: 30, prefix: 'SrcA', tag: 'a' })
    const seqsB = await seedObjects(emuB, 6, { per: 30, prefix: 'SrcB', tag: 'b' })
    // On A's queue, a notification naming an object of B's bucket: whoever writes to A's queue must not
    // make the collector read B's bucket with A's credentials.
    await emu.notify([`AWSLogs/444455556666/CloudTrail/us-east-1/2026/11/10/forged.json.gz`], emuB.bucket)

    const proxy = await FaultProxy.start(emu.endpoint)
    cleanup(() => proxy.stop())
    const gets: { bucket: string; key: string | undefined }[] = []
    proxy.rule = (req) => {
      if (req.service === 's3') gets.push({ bucket: req.path.split('/')[1], key: signer(req.headers.authorization) })
      return { kind: 'pass' }
    }

    const out = tmpFile('ct-sources-')
    const config = tmpFile('ct-sources-', 'collector.json')
    writeFileSync(
      config,
      JSON.stringify({
        endpoint: proxy.url,
        region: 'us-east-1',
        wait_time: 1,
        metrics_port: 0,
        format: 'json',
        output: `file:${out}`,
        sources: [
          { name: 'tenant-a', queue_url: emu.queueUrl, bucket: [emu.bucket], access_key_id: A.accessKeyId, secret_key: A.secretAccessKey },
          {
            queue_url: emuB.queueUrl,
            bucket: [emuB.bucket],
            organization: 'tenant-b',
            access_key_id: B.accessKeyId,
            secret_key: B.secretAccessKey,
            role_arn: ROLE,
            external_id: EXTERNAL_ID,
            sts_endpoint: sts.url,
            cloudtrail_msg_pull_thread_num: 2,
          },
        ],
      }),
    )
    const res = await runCli(['run', '--config', config, '--drain'])
    expect(res.code, res.stderr).toBe(0)

    // Every record of both sources, once each.
    const written = seqsInFile(out)
    expect(written.length).toBe(seqsA.length + seqsB.length)
    expect(new Set(written)).toEqual(new Set([...seqsA, ...seqsB]))
    // Both queues drained, the forged message deleted as refused.
    expect(emu.remaining()).toBe(0)
    expect(emuB.remaining()).toBe(0)
    const refused = res.logs.filter((l) => l.code === 'ERR_BUCKET_NOT_ALLOWED')
    expect(refused).toHaveLength(1)
    expect(refused[0]).toMatchObject({ source: 'tenant-a', bucket: emuB.bucket })
    // Each source's reads signed with its own keys, never the other's; nothing read of B's bucket with A's.
    expect(gets.filter((g) => g.bucket === emu.bucket).length).toBeGreaterThanOrEqual(6)
    expect(gets.filter((g) => g.bucket === emuB.bucket).length).toBeGreaterThanOrEqual(6)
    // B's base keys only asked STS for the role (with the external id); its reads went with the role's.
    const calls = sts.assumeRoleCalls(ROLE)
    expect(calls.length).toBeGreaterThanOrEqual(1)
    expect(calls[0]).toMatchObject({ externalId: EXTERNAL_ID, callerKeyId: B.accessKeyId, status: 200 })
    const roleKeys = new Set(calls.map((c) => c.issuedKeyId))
    for (const g of gets) {
      if (g.bucket === emu.bucket) expect(g.key, g.bucket).toBe(A.accessKeyId)
      else expect(roleKeys, g.bucket).toContain(g.key)
    }
    // Each source is named in its log lines: the default name of the second is ACCOUNT/QUEUE.
    const ready = res.logs.filter((l) => l.msg === 'source ready').map((l) => l.source)
    expect(ready).toEqual(['tenant-a', emuB.queueUrl.split('/').slice(-2).join('/')])
    expect(res.logs.filter((l) => l.msg === 'source drained').map((l) => l.source).sort()).toEqual([...ready].sort())
    // The secrets of the file never reach the logs.
    for (const secret of [A.secretAccessKey, B.secretAccessKey, EXTERNAL_ID]) expect(res.stderr).not.toContain(secret)
  }, 60_000)
})
