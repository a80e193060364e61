// The CLI as users run it: the built bin, its help, its exit statuses.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from './helpers/fauxqs.ts'
import { repoRoot } from './helpers/fixtures.ts'

/** A queue nothing answers for (a closed local port): whatever gets as far as SQS fails only after its retries. */
const unreachableQueue = ['--queue-url', 'https://sqs.us-east-1.amazonaws.com/1/q', '--endpoint', 'http://127.0.0.1:9', '--bucket', 'bkt']

describe('cloudtrail-ingest CLI', () => {
  it('is the package bin', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> }
    expect(pkg.bin['cloudtrail-ingest']).toBe('dist/src/cli.js')
  })

  it('lists its commands', async () => {
    const res = await runCli(['--help'])
    expect(res.code).toBe(0)
    for (const c of ['run', 'parse', 'demo']) expect(res.stdout).toContain(`  ${c}`)
  })

  it('prints every flag of run with its default and environment variable', async () => {
    const res = await runCli(['run', '--help'])
    expect(res.code).toBe(0)
    for (const flag of ['--config', '--queue-url', '--region', '--endpoint', '--bucket', '--format', '--output', '--pull-interval', '--pull-threads', '--parse-threads', '--metrics-port', '--organization', '--drain']) {
      expect(res.stdout).toContain(flag)
    }
    expect(res.stdout).toMatch(/--pull-interval\n.*cloudtrail_msg_pull_interval \(default: 30\)/)
    expect(res.stdout).toMatch(/--pull-threads\n.*cloudtrail_msg_pull_thread_num \(default: 1\)/)
    expect(res.stdout).toMatch(/--parse-threads\n.*cloudtrail_file_parse_thread_num \(default: 3\)/)
    expect(res.stdout).toContain('CLOUDTRAIL_INGEST_QUEUE_URL')
  })

  it('has help for parse and demo, with their own flags', async () => {
    const parse = await runCli(['parse', '--help'])
    expect(parse.code).toBe(0)
    expect(parse.stdout).toContain('--threads')
    const demo = await runCli(['demo', '--help'])
    expect(demo.code).toBe(0)
    expect(demo.stdout).toMatch(/--eps\n.*\(default: 2000\)/)
    expect(demo.stdout).toContain('--duration')
  })

  it.each([
    [['run', '--bucket', 'b-bucket'], /queue_url: required/],
    [['run', '--queue-url', 'https://sqs.us-east-1.amazonaws.com/1/q', '--bucket', 'bkt', '--pull-threads', '0'], /cloudtrail_msg_pull_thread_num: expected at least 1/],
    [['run', '--queue-url', 'https://sqs.us-east-1.amazonaws.com/1/q', '--bucket', 'bkt', '--format', 'csv'], /format: expected one of fortisiem, json/],
    [['run', '--no-such-flag'], /Unknown option '--no-such-flag'/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['parse'], /give at least one/],
    // Settings that used to be accepted and fail later (or exit 1 once SQS had been asked): refused at start.
    [['run', ...unreachableQueue, '--metrics-host', 'metrics.invalid'], /metrics_host: cannot listen on "metrics.invalid": it does not resolve/],
    [['run', ...unreachableQueue, '--metrics-host', '192.0.2.254'], /metrics_host: cannot listen on "192.0.2.254": it is not an address of this host/],
    [['run', ...unreachableQueue, '--output', 'http://127.0.0.1:9/in', '--http-header', 'Transfer-Encoding: chunked'], /http_header: Transfer-Encoding is set by the HTTP client/],
    [['run', ...unreachableQueue, '--wait-time', '0.5'], /wait_time: expected a whole number of seconds/],
    [['run', ...unreachableQueue, '--syslog-app-name', 'cloudtrail ingest'], /syslog_app_name: expected 1 to 48 printable ASCII/],
  ])('exits 2 with a message naming the problem: %j', async (args, message) => {
    const res = await runCli(args)
    expect(res.code).toBe(2)
    expect(res.stderr).toMatch(message)
  })

  it('never echoes a JSON config file that does not parse: it may hold the secret key', async () => {
    const secret = 'Sup3rS3cretValueInAJsonFile'
    const path = join(mkdtempSync(join(tmpdir(), 'ct-cli-')), 'ct.json')
    writeFileSync(path, `{\n  "queue_url": "https://sqs.us-east-1.amazonaws.com/1/q",\n  "secret_key": ${secret}\n}\n`)
    const res = await runCli(['run', '--config', path])
    expect(res.code).toBe(2)
    expect(res.stderr).toMatch(/config: .* is not valid JSON/)
    expect(res.stderr + res.stdout).not.toContain(secret.slice(0, 10))
  })

  it('never echoes a stray argument: it may be the rest of a secret given without quotes', async () => {
    const res = await runCli(['run', ...unreachableQueue, '--secret-key', 'abcd', 'SecretTailAfterSpace'])
    expect(res.code).toBe(2)
    expect(res.stderr).toMatch(/run takes no arguments besides its options/)
    expect(res.stderr + res.stdout).not.toContain('SecretTailAfterSpace')
  })

  it('never echoes the secret key, even when its value is what is wrong', async () => {
    const secret = 'Sup3rS3cretValueThatMustNotLeak'
    const res = await runCli(['run', '--queue-url', 'https://sqs.us-east-1.amazonaws.com/1/q', '--bucket', 'bkt', '--secret-key', secret])
    expect(res.code).toBe(2)
    expect(res.stderr).toMatch(/access_key_id/)
    expect(res.stderr + res.stdout).not.toContain(secret)
  })
})
