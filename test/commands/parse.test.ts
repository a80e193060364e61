// `cloudtrail-ingest parse PATH…`: the same parse pool over local files and directories.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { beforeAll, describe, expect, it } from 'vitest'
import { realFiles } from '../../bench/lib/corpus.ts'
import { flattenRecord } from '../../workers/fortisiem/reference.ts'
import { OCSF_VERSION, formatOcsf } from '../../workers/ocsf/format.ts'
import { runCli, startCli } from '../helpers/fauxqs.ts'
import { fixtureRecords, fixturesDir } from '../helpers/fixtures.ts'
import { peakRss } from '../helpers/process.ts'

const records = fixtureRecords().map((r) => r.record)

describe('parse', () => {
  let dir: string
  let expected: Record<string, unknown>[]
  beforeAll(() => {
    // An `aws s3 sync` copy: nested folders of .json.gz files, plus a digest and a stray file.
    dir = mkdtempSync(join(tmpdir(), 'ct-parse-'))
    expected = []
    for (let i = 0; i < 5; i++) {
      const sub = join(dir, 'AWSLogs', '111122223333', 'CloudTrail', 'us-east-1', '2026', '11', String(20 + i))
      mkdirSync(sub, { recursive: true })
      const part = records.slice(i * 80, i * 80 + 80)
      expected.push(...part)
      writeFileSync(join(sub, `111122223333_CloudTrail_us-east-1_202611${20 + i}T1200Z_abc.json.gz`), gzipSync(JSON.stringify({ Records: part })))
    }
    writeFileSync(join(dir, 'README.txt'), 'not a log')
  })

  it('parses every .json.gz under a directory, in the json format', async () => {
    const res = await runCli(['parse', dir, '--format', 'json', '--threads', '2'])
    expect(res.code, res.stderr).toBe(0)
    const got = res.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown)
    expect(got).toHaveLength(expected.length)
    const key = (r: unknown) => JSON.stringify(r)
    expect(new Set(got.map(key))).toEqual(new Set(expected.map(key)))
  })

  it('reports what its rules dropped and redacted, by rule, in the "parse finished" line', async () => {
    const drop = 'eventName=Describe*|List*'
    const redact = 'requestParameters'
    const res = await runCli(['parse', dir, '--format', 'json', '--drop', drop, '--redact', redact])
    expect(res.code, res.stderr).toBe(0)
    const lines = res.stdout.split('\n').filter(Boolean)
    const dropped = expected.filter((r) => /^(Describe|List)/.test(String(r.eventName))).length
    expect(dropped).toBeGreaterThan(0)
    expect(lines).toHaveLength(expected.length - dropped)
    const redacted = lines.filter((l) => l.includes('"requestParameters":"[REDACTED]"')).length
    expect(redacted).toBeGreaterThan(0)
    const summary = res.logs.find((l) => l.msg === 'parse finished')
    expect(summary).toMatchObject({ records: lines.length, dropped: { [drop]: dropped }, redacted: { [redact]: redacted } })
    expect(summary).not.toHaveProperty('deduplicated')
  })

  it('parses fixture files in the ocsf format: one OCSF event per line, each record once', async () => {
    // A console sign-in document (gzipped here), and a log file CloudTrail itself wrote, as it is.
    const signIn = readFileSync(join(fixturesDir, 'records', 'awsdocs-cloudtrail-ug-console-sign-in-events-0.json'), 'utf8')
    const signInGz = join(mkdtempSync(join(tmpdir(), 'ct-parse-ocsf-')), 'sign-in.json.gz')
    writeFileSync(signInGz, gzipSync(signIn))
    const real = realFiles().files.reduce((a, b) => (statSync(b).size > statSync(a).size ? b : a))
    const want = [signIn, gunzipSync(readFileSync(real)).toString('utf8')].flatMap((t) => (JSON.parse(t) as { Records: Record<string, unknown>[] }).Records)
    expect(want.length).toBeGreaterThan(20)
    const res = await runCli(['parse', signInGz, real, '--format', 'ocsf', '--threads', '1'])
    expect(res.code, res.stderr).toBe(0)
    const lines = res.stdout.split('\n')
    expect(lines.pop()).toBe('')
    const events = lines.map((l) => JSON.parse(l) as { class_uid: number; metadata: { uid: string; version: string } })
    // The files' order in the output is the pool's; each file's records come in their order.
    const byId = (list: { metadata: { uid: string } }[]) => [...list].sort((a, b) => (a.metadata.uid < b.metadata.uid ? -1 : 1))
    expect(byId(events)).toEqual(byId(want.map((r) => JSON.parse(formatOcsf(JSON.stringify(r))) as { metadata: { uid: string } })))
    expect(new Set(events.map((e) => e.metadata.uid))).toEqual(new Set(want.map((r) => r.eventID)))
    expect(events.every((e) => e.metadata.version === OCSF_VERSION)).toBe(true)
    expect(events.filter((e) => e.class_uid === 3002)).toHaveLength(1)
  })

  it('parses every .json.gz under a directory in the ocsf format', async () => {
    const res = await runCli(['parse', dir, '--format', 'ocsf', '--threads', '2'])
    expect(res.code, res.stderr).toBe(0)
    const got = res.stdout.split('\n').filter(Boolean)
    expect(new Set(got)).toEqual(new Set(expected.map((r) => formatOcsf(JSON.stringify(r)))))
    expect(got).toHaveLength(expected.length)
  })

  it('writes FortiSIEM lines to a file', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ct-parse-out-')), 'out.log')
    const res = await runCli(['parse', dir, '--output', `file:${out}`, '--threads', '1'])
    expect(res.code, res.stderr).toBe(0)
    const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean)
    expect(lines).toHaveLength(expected.length)
    const bodies = new Set(lines.map((l) => l.replace(/^.{24} FortiSIEM-CloudTrail /, '')))
    for (const r of expected) expect(bodies.has(flattenRecord(JSON.stringify(r)))).toBe(true)
  })

  it('reports a broken file, exits 1, and still writes the good ones', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'ct-parse-broken-'))
    writeFileSync(join(broken, 'a.json.gz'), gzipSync(JSON.stringify({ Records: [{ eventName: 'Good' }] })))
    writeFileSync(join(broken, 'b.json.gz'), 'plain text, not gzip')
    const res = await runCli(['parse', broken, '--format', 'json'])
    expect(res.code).toBe(1)
    expect(res.stdout.trim()).toBe('{"eventName":"Good"}')
    const failure = res.logs.find((l) => l.code === 'ERR_OBJECT_NOT_GZIP')
    expect(String(failure?.file)).toMatch(/b\.json\.gz$/)
  })

  it('follows symbolic links to files inside a directory', async () => {
    const linked = mkdtempSync(join(tmpdir(), 'ct-parse-links-'))
    const day = join(dir, 'AWSLogs', '111122223333', 'CloudTrail', 'us-east-1', '2026', '11', '20')
    const file = readdirSync(day)[0]
    symlinkSync(join(day, file), join(linked, 'linked.json.gz'))
    const res = await runCli(['parse', linked, '--format', 'json'])
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout.split('\n').filter(Boolean)).toHaveLength(80)
  })

  it('skips a 113 KB record that would flatten to 1.3 GB (one 32 KiB key over 40,000 zeros), in bounded memory', async () => {
    const blowup = `{"eventVersion":"1.08","eventName":"Blowup","requestParameters":{"${'k'.repeat(32 << 10)}":[${new Array(40_000).fill(0).join(',')}]}}`
    const good = records.slice(0, 30)
    const parts = [...good.slice(0, 10), blowup, ...good.slice(10, 20), blowup, ...good.slice(20)].map((r) => (typeof r === 'string' ? r : JSON.stringify(r)))
    const file = join(mkdtempSync(join(tmpdir(), 'ct-parse-blowup-')), 'blowup.json.gz')
    writeFileSync(file, gzipSync(`{"Records":[${parts.join(',')}]}`))
    // At default settings (max_record_size 8 MiB). Before, this took gigabytes: stopped at 1 GiB here.
    const run = startCli(['parse', file])
    let peak = 0
    const sampler = setInterval(() => {
      peak = Math.max(peak, peakRss(run.child.pid!))
      if (peak > 1 << 30) run.child.kill('SIGKILL')
    }, 20)
    const res = await run.result
    clearInterval(sampler)
    expect(res.code, res.stderr.slice(-2000)).toBe(0)
    expect(peak, 'peak RSS').toBeLessThan(300 << 20)
    expect(res.logs.find((l) => l.msg === 'records skipped')).toMatchObject({ reason: 'record_too_large', records: 2 })
    const lines = res.stdout.split('\n')
    expect(lines.pop(), 'the output ends with a whole line').toBe('')
    expect(lines.map((l) => l.replace(/^.{24} FortiSIEM-CloudTrail /, ''))).toEqual(good.map((r) => flattenRecord(JSON.stringify(r))))
  })

  it('fails clearly on a path that does not exist', async () => {
    const res = await runCli(['parse', join(dir, 'nope')])
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/ENOENT/)
  })
})
