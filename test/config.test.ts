import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { envName, loadConfig, resolveQueue, settings, type RawSettings } from '../src/config.ts'
import { ConfigError } from '../src/errors.ts'

const base: RawSettings = { queue_url: 'https://sqs.eu-west-1.amazonaws.com/123456789012/cloudtrail', bucket: ['my-trail-bucket'] }

function configError(flags: RawSettings, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    loadConfig('run', flags, env)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected a ConfigError')
}

function file(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'ct-config-')), name)
  writeFileSync(path, text)
  return path
}

describe('loadConfig', () => {
  it("keeps FortiSIEM's three tuning parameters, with its defaults", () => {
    const c = loadConfig('run', base, {})
    expect(c.pullInterval).toBe(30)
    expect(c.pullThreads).toBe(1)
    expect(c.parseThreads).toBe(3)
    expect(settings.map((s) => s.name)).toEqual(expect.arrayContaining(['cloudtrail_msg_pull_interval', 'cloudtrail_msg_pull_thread_num', 'cloudtrail_file_parse_thread_num']))
  })

  it('derives the region from the queue URL, and accepts a URL without scheme or an ARN', () => {
    expect(loadConfig('run', base, {}).region).toBe('eu-west-1')
    const bare = loadConfig('run', { ...base, queue_url: 'sqs.us-east-2.amazonaws.com/123456789012/ct' }, {})
    expect(bare.queueUrl).toBe('https://sqs.us-east-2.amazonaws.com/123456789012/ct')
    expect(bare.region).toBe('us-east-2')
    const arn = loadConfig('run', { ...base, queue_url: 'arn:aws:sqs:ap-southeast-2:123456789012:sqsaocloudtrail' }, {})
    expect(arn.queueUrl).toBe('https://sqs.ap-southeast-2.amazonaws.com/123456789012/sqsaocloudtrail')
    expect(arn.region).toBe('ap-southeast-2')
    expect(resolveQueue('arn:aws-cn:sqs:cn-north-1:123456789012:q').url).toBe('https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q')
    expect(resolveQueue('arn:aws:sqs:us-east-1:123456789012:q', 'http://localhost:4566').url).toBe('http://localhost:4566/123456789012/q')
    expect(resolveQueue('https://eu-central-1.queue.amazonaws.com/123456789012/q').region).toBe('eu-central-1')
  })

  it('layers defaults < file < environment < flags', () => {
    const path = file('ct.conf', '# FortiSIEM style\ncloudtrail_msg_pull_interval = 10\ncloudtrail_msg_pull_thread_num=4\nbucket = a-bucket\nbucket = b-bucket\n')
    const env = { [envName(settings.find((s) => s.name === 'cloudtrail_msg_pull_thread_num')!)]: '8', CLOUDTRAIL_INGEST_QUEUE_URL: base.queue_url as string }
    const c = loadConfig('run', { config: path, cloudtrail_file_parse_thread_num: '6' }, env)
    expect(c.pullInterval).toBe(10) // file
    expect(c.pullThreads).toBe(8) // env beats file
    expect(c.parseThreads).toBe(6) // flag
    expect(c.buckets).toEqual(['a-bucket', 'b-bucket'])
    const flagWins = loadConfig('run', { config: path, cloudtrail_msg_pull_thread_num: '2' }, env)
    expect(flagWins.pullThreads).toBe(2)
  })

  it('reads JSON config files', () => {
    const path = file('ct.json', JSON.stringify({ ...base, format: 'json', cloudtrail_msg_pull_interval: 15, tls_insecure: true }))
    const c = loadConfig('run', { config: path }, {})
    expect(c.format).toBe('json')
    expect(c.pullInterval).toBe(15)
    expect(c.tlsInsecure).toBe(true)
  })

  it('accepts sizes with units and rounds the ring up to a power of two', () => {
    const c = loadConfig('run', { ...base, max_object_size: '512MiB', max_record_size: '1048576', ring_size: '100' }, {})
    expect(c.maxObjectSize).toBe(512 * 1024 * 1024)
    expect(c.maxRecordSize).toBe(1048576)
    expect(c.ringSize).toBe(128)
  })

  it.each([
    [{ ...base, cloudtrail_msg_pull_thread_num: '0' }, 'cloudtrail_msg_pull_thread_num'],
    [{ ...base, cloudtrail_msg_pull_thread_num: 'many' }, 'cloudtrail_msg_pull_thread_num'],
    [{ ...base, cloudtrail_file_parse_thread_num: '1.5' }, 'cloudtrail_file_parse_thread_num'],
    [{ ...base, cloudtrail_msg_pull_interval: '-1' }, 'cloudtrail_msg_pull_interval'],
    [{ ...base, format: 'xml' }, 'format'],
    [{ ...base, output: 'ftp://x' }, 'output'],
    [{ ...base, output: 'tcp://siem' }, 'output'],
    [{ bucket: ['b-bucket'] }, 'queue_url'],
    [{ ...base, queue_url: 'not a url' }, 'queue_url'],
    [{ ...base, bucket: [] }, 'bucket'],
    [{ ...base, bucket: ['Bad_Bucket'] }, 'bucket'],
    [{ ...base, region: 'moon-1' }, 'region'],
    [{ ...base, access_key_id: 'AKIDONLY' }, 'secret_key'],
    [{ ...base, endpoint: 'localhost:4566' }, 'endpoint'],
    [{ ...base, s3_endpoint: 'ftp://x' }, 's3_endpoint'],
    [{ ...base, max_object_size: '5 parsecs' }, 'max_object_size'],
    [{ ...base, metrics_port: '70000' }, 'metrics_port'],
    [{ ...base, wait_time: '21' }, 'wait_time'],
    [{ ...base, key_pattern: '([' }, 'key_pattern'],
    [{ ...base, http_header: ['no colon'] }, 'http_header'],
    [{ ...base, log_level: 'loud' }, 'log_level'],
  ])('names the setting in error %#', (flags, setting) => {
    const err = configError(flags as RawSettings)
    expect(err.code).toBe('ERR_CONFIG')
    expect(err.setting).toBe(setting)
    expect(err.message.startsWith(`${setting}:`)).toBe(true)
  })

  it('needs a region when the queue URL does not carry one', () => {
    const flags = { ...base, queue_url: 'http://localhost:4566/000000000000/q' }
    expect(configError(flags).setting).toBe('region')
    expect(loadConfig('run', flags, { AWS_REGION: 'us-west-2' }).region).toBe('us-west-2')
  })

  it('rejects unknown settings in a config file, naming them', () => {
    const path = file('typo.conf', 'cloudtrail_msg_pull_intervall = 10\n')
    expect(configError({ ...base, config: path }).setting).toBe('cloudtrail_msg_pull_intervall')
  })

  it('never shows the secret key: not in errors, not in JSON', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY'
    const c = loadConfig('run', { ...base, access_key_id: 'AKIDEXAMPLE', secret_key: secret }, {})
    expect(c.credentials?.secretAccessKey).toBe(secret)
    expect(JSON.stringify(c)).not.toContain(secret)
    expect(Object.keys(c)).not.toContain('credentials')
    const err = configError({ ...base, secret_key: secret })
    expect(err.message).not.toContain(secret)
    const headerErr = configError({ ...base, http_header: [`Authorization Bearer ${secret}`] })
    expect(headerErr.message).not.toContain(secret)
  })

  it('allows any bucket only when told so explicitly', () => {
    expect(loadConfig('run', { ...base, bucket: ['*'] }, {}).buckets).toBeNull()
  })

  it('defaults path-style S3 when a custom endpoint is set', () => {
    expect(loadConfig('run', base, {}).s3ForcePathStyle).toBe(false)
    expect(loadConfig('run', { ...base, endpoint: 'http://127.0.0.1:4566' }, {}).s3ForcePathStyle).toBe(true)
  })

  it('is frozen', () => {
    const c = loadConfig('run', base, {})
    expect(Object.isFrozen(c)).toBe(true)
  })
})

describe('bucket_owner', () => {
  it('takes one account for every bucket, or BUCKET=ID per bucket, from flags, files or the environment', () => {
    expect(loadConfig('run', base, {}).bucketOwners.size).toBe(0)
    expect([...loadConfig('run', { ...base, bucket_owner: ['111122223333'] }, {}).bucketOwners]).toEqual([['*', '111122223333']])
    const two = { ...base, bucket: ['logs-a', 'logs-b'] }
    const env = { CLOUDTRAIL_INGEST_BUCKET_OWNER: 'logs-a=111122223333, logs-b = 444455556666' }
    expect([...loadConfig('run', two, env).bucketOwners]).toEqual([['logs-a', '111122223333'], ['logs-b', '444455556666']])
    const path = file('owners.conf', 'bucket_owner = 111122223333\nbucket_owner = logs-b=444455556666\n')
    expect([...loadConfig('run', { ...two, config: path }, {}).bucketOwners]).toEqual([['*', '111122223333'], ['logs-b', '444455556666']])
    // With bucket "*", the one id is what keeps other owners' buckets out.
    expect([...loadConfig('run', { ...base, bucket: ['*'], bucket_owner: ['111122223333', 'any-bucket=444455556666'] }, {}).bucketOwners]).toHaveLength(2)
  })

  it.each([
    ['not 12 digits', ['11112222333']],
    ['a name', ['my-account']],
    ['an ARN', ['arn:aws:iam::111122223333:root']],
    ['an empty id', ['my-trail-bucket=']],
    ['a bucket not configured', ['other-bucket=111122223333']],
    ['two ids for every bucket', ['111122223333', '444455556666']],
    ['two ids for one bucket', ['my-trail-bucket=111122223333', 'my-trail-bucket=444455556666']],
  ])('refuses %s, naming bucket_owner', (_name, bucket_owner) => {
    const err = configError({ ...base, bucket_owner })
    expect(err.setting).toBe('bucket_owner')
    expect(err.message).toMatch(/^bucket_owner: /)
  })
})
