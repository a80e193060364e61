// What the built collector writes to stderr, against a real fauxqs and a real HTTP SIEM: every line is
// bounded although forged notifications name keys of up to ~1 MiB (they are logged recognisably: head,
// tail and length), and the SIEM's URL token (in its path and its query) and its Authorization header
// appear nowhere, while the records still reach the SIEM.

import { describe, expect, it } from 'vitest'
import { LOG_STRING_CHARS } from '../../src/log.ts'
import { emulator, useCleanup, cleanup } from '../helpers/cleanup.ts'
import { cloudTrailKey, runArgs, runCli, runEnv } from '../helpers/fauxqs.ts'
import { acceptedSeqs, seedObjects } from '../helpers/seed.ts'
import { TestHttpServer } from '../helpers/servers.ts'

const PATH_TOKEN = 'ZaVnC4dhaV2ZJTCKBGHcHoe1VYQn0pathSecret'
const QUERY_TOKEN = 'q7Hs9dQuerySecret2f'
const HEADER_TOKEN = 'hdr-3b1f9e0cHeaderSecret'

describe('the collector log', () => {
  useCleanup()

  it('is bounded line by line and keeps the SIEM URL and header secret', async () => {
    const emu = await emulator()
    const siem = await TestHttpServer.start()
    cleanup(() => siem.close())
    const seqs = await seedObjects(emu, 2, { per: 5, prefix: 'logs' })
    // A key in a bucket that is not configured (never fetched), and one in the configured bucket that S3
    // answers with NoSuchKey (short enough for an HTTP request line).
    const longKey = cloudTrailKey('111122223333', 'us-east-1', '20261126T1200Z', `${'k'.repeat(5_000)}tail`)
    const foreignKey = `AWSLogs/999999999999/CloudTrail/us-east-1/2026/11/26/${'f'.repeat(900_000)}_foreign.json.gz`
    await emu.send(JSON.stringify({ s3Bucket: emu.bucket, s3ObjectKey: [longKey] }))
    await emu.send(JSON.stringify({ s3Bucket: 'someone-elses-bucket', s3ObjectKey: [foreignKey] }))

    const output = `http://127.0.0.1:${siem.port}/receiver/v1/http/${PATH_TOKEN}?token=${QUERY_TOKEN}`
    const res = await runCli(runArgs(emu, ['--format', 'json', '--output', output, '--log-level', 'debug']), {
      ...runEnv,
      CLOUDTRAIL_INGEST_HTTP_HEADER: `Authorization: Bearer ${HEADER_TOKEN}`,
    })
    expect(res.code).toBe(0)
    expect(acceptedSeqs(siem).sort()).toEqual([...seqs].sort())
    expect(siem.requests.every((r) => r.headers.authorization === `Bearer ${HEADER_TOKEN}` && r.url.includes(PATH_TOKEN))).toBe(true)

    // Bounded: no line comes near the keys' size (16 KiB of content, escaped, is the formatter's limit).
    const lines = res.stderr.split('\n')
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(64 * 1024)
    expect(res.stderr.length).toBeLessThan(200_000)
    // Recognisable: the key's head and tail with its length, wherever it was logged.
    const shown = (key: string) => `${key.slice(0, 200)}`
    const cut = (key: string) => `…[${key.length} chars]…`
    for (const key of [longKey, foreignKey]) {
      const line = lines.find((l) => l.includes(shown(key)))
      expect(line, key.slice(-40)).toBeDefined()
      expect(line).toContain(cut(key))
      expect(line).toContain(key.slice(-(LOG_STRING_CHARS / 8)))
    }

    // Secret: the URL is logged masked, the token and the header nowhere.
    const starting = res.logs.find((l) => l.msg === 'collector starting')
    expect(starting?.output).toBe(`http://127.0.0.1:${siem.port}/receiver/v1/http/***?token=***`)
    for (const secret of [PATH_TOKEN, QUERY_TOKEN, HEADER_TOKEN]) expect(res.stderr + res.stdout).not.toContain(secret)
  }, 60_000)
})
