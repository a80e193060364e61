// The logger as the collector builds it, writing through pino to a real file: every line bounded whatever
// it is given, short values written as they are, secrets censored; and URLs masked for logs and errors.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { createLogger, cutForLog, LOG_STRING_CHARS, maskUrl } from '../src/log.ts'

/** Logs through createLogger into a file and returns the lines written. */
function logged(write: (log: ReturnType<typeof createLogger>) => void): string[] {
  const path = join(mkdtempSync(join(tmpdir(), 'ct-log-')), 'log.ndjson')
  const destination = pino.destination({ dest: path, sync: true })
  write(createLogger('debug', { organization: 'acme' }, destination))
  destination.flushSync()
  return readFileSync(path, 'utf8').split('\n').filter(Boolean)
}

/** Longest line any log call may write: 16 KiB of content, escaped, plus the fields' own framing. */
const LINE_BOUND = 64 * 1024

describe('createLogger', () => {
  it('cuts what a forged notification can make huge, keeping head, tail and length', () => {
    // A key as a forged notification can name it (~1 MiB), a foreign bucket, a topic ARN from the body.
    const key = `AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/26/${'x'.repeat(1024 * 1024)}_CloudTrail_tail.json.gz`
    const lines = logged((log) => {
      log.error({ stage: 'notification', messageId: 'm-1', bucket: 'b'.repeat(300_000), key, code: 'ERR_BUCKET_NOT_ALLOWED' }, 'refused: the bucket is not configured')
      log.warn({ stage: 'notification', topicArn: `arn:aws:sns:us-east-1:111122223333:${'t'.repeat(500_000)}` }, 'SNS SubscriptionConfirmation received')
      log.error({ stage: 's3', key, reason: `s3://bucket/${key}: NoSuchKey`, err: new Error(`boom ${key}`) }, 'object failed for good')
      log.error({ nested: { keys: Array.from({ length: 10_000 }, (_, i) => `${i}-${key.slice(0, 2000)}`) } }, `message ${key}`)
      log.info({ list: Array.from({ length: 100_000 }, (_, i) => i), wide: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`f${i}`, i])) }, 'wide')
    })
    expect(lines).toHaveLength(5)
    for (const line of lines) expect(line.length).toBeLessThan(LINE_BOUND)
    const first = JSON.parse(lines[0])
    expect(first.key).toMatch(/^AWSLogs\/111122223333\/CloudTrail\/us-east-1\/2026\/11\/26\/x+…\[\d+ chars\]…x+_CloudTrail_tail\.json\.gz$/)
    expect(first.key).toContain(`…[${key.length} chars]…`)
    expect(first.bucket).toContain('…[300000 chars]…')
    expect(first).toMatchObject({ stage: 'notification', messageId: 'm-1', code: 'ERR_BUCKET_NOT_ALLOWED', msg: 'refused: the bucket is not configured', organization: 'acme' })
    const third = JSON.parse(lines[2])
    expect(third.err).toMatchObject({ type: 'Error' })
    expect(third.err.message).toContain('chars]…')
    expect(JSON.parse(lines[3]).msg).toContain(`…[${key.length + 'message '.length} chars]…`)
    expect(JSON.parse(lines[4]).list).toContain('…[99936 more of 100000 items]')
  })

  it('writes ordinary lines exactly as pino does', () => {
    const fields = { stage: 's3', bucket: 'my-trail-bucket', key: 'AWSLogs/1/CloudTrail/us-east-1/2026/11/26/k.json.gz', attempt: 2, ok: true, none: null, list: [1, 'two'], err: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND' } }
    const line = JSON.parse(logged((log) => log.warn(fields, 'S3 GET failed; retrying'))[0])
    const key = 'k'.repeat(LOG_STRING_CHARS)
    const long = JSON.parse(logged((log) => log.info({ key }, 'a key of 1,024 characters is whole'))[0])
    expect(line).toMatchObject({ ...fields, msg: 'S3 GET failed; retrying', level: 40 })
    expect(long.key).toBe(key)
  })

  it('still censors secrets', () => {
    const [line] = logged((log) => log.info({ secret_key: 'S1', credentials: { secretAccessKey: 'S2' }, sessionToken: 'S3', httpHeaders: { Authorization: 'S4' }, config: { secret_key: 'S5' } }, 'x'))
    expect(line).not.toMatch(/S[1-5]/)
  })
})

describe('cutForLog', () => {
  it('keeps short strings and never splits a surrogate pair', () => {
    expect(cutForLog('short')).toBe('short')
    const emoji = '😀'.repeat(1000)
    const cut = cutForLog(emoji)
    expect(cut).toContain('…[2000 chars]…')
    // A lone surrogate would not survive a round trip through UTF-8.
    expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut)
  })
})

describe('maskUrl', () => {
  it.each([
    ['https://siem.example.com:8088/services/collector/raw?channel=FE0ECFAD&token=abc', 'https://siem.example.com:8088/services/collector/raw?channel=***&token=***'],
    ['https://endpoint1.collection.sumologic.com/receiver/v1/http/ZaVnC4dhaV2ZJTCKBGHcHoe1VYQn_Zz0', 'https://endpoint1.collection.sumologic.com/receiver/v1/http/***'],
    ['https://hooks.example.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX', 'https://hooks.example.com/services/***/***/***'],
    ['https://http-intake.logs.datadoghq.com/api/v2/logs?dd-api-key=0123abcd', 'https://http-intake.logs.datadoghq.com/api/v2/logs?dd-api-key=***'],
    ['https://siem/in?TOKENONLY', 'https://siem/in?***'],
    ['http://es:9200/_bulk', 'http://es:9200/_bulk'],
    ['https://user:pw@siem/', 'https://***@siem/'],
    ['https://siem/x#frag', 'https://siem/x#***'],
    ['tls://siem.example.com:6514', 'tls://siem.example.com:6514'],
    ['stdout', 'stdout'],
    ['file:/var/log/ct.ndjson', 'file:/var/log/ct.ndjson'],
    ['https://[not a url', 'https://***'],
  ])('%s', (url, shown) => {
    expect(maskUrl(url)).toBe(shown)
  })
})
