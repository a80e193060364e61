import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkMetricsListen, defaultSyslogHostname, envName, loadConfig, resolveQueue, settings, type RawSettings } from '../src/config.ts'
import { ConfigError } from '../src/errors.ts'
import { freePort } from './helpers/process.ts'
import { makeTestCerts } from './helpers/tls-cert.ts'

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
    expect(c.sources[0].pullInterval).toBe(30)
    expect(c.sources[0].pullThreads).toBe(1)
    expect(c.parseThreads).toBe(3)
    expect(settings.map((s) => s.name)).toEqual(expect.arrayContaining(['cloudtrail_msg_pull_interval', 'cloudtrail_msg_pull_thread_num', 'cloudtrail_file_parse_thread_num']))
  })

  it('derives the region from the queue URL, and accepts a URL without scheme or an ARN', () => {
    expect(loadConfig('run', base, {}).sources[0].region).toBe('eu-west-1')
    const bare = loadConfig('run', { ...base, queue_url: 'sqs.us-east-2.amazonaws.com/123456789012/ct' }, {})
    expect(bare.sources[0].queueUrl).toBe('https://sqs.us-east-2.amazonaws.com/123456789012/ct')
    expect(bare.sources[0].region).toBe('us-east-2')
    const arn = loadConfig('run', { ...base, queue_url: 'arn:aws:sqs:ap-southeast-2:123456789012:sqsaocloudtrail' }, {})
    expect(arn.sources[0].queueUrl).toBe('https://sqs.ap-southeast-2.amazonaws.com/123456789012/sqsaocloudtrail')
    expect(arn.sources[0].region).toBe('ap-southeast-2')
    expect(resolveQueue('arn:aws-cn:sqs:cn-north-1:123456789012:q').url).toBe('https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q')
    expect(resolveQueue('arn:aws:sqs:us-east-1:123456789012:q', 'http://localhost:4566').url).toBe('http://localhost:4566/123456789012/q')
    expect(resolveQueue('https://eu-central-1.queue.amazonaws.com/123456789012/q').region).toBe('eu-central-1')
  })

  it('partitions: queue ARNs and URLs of aws-cn and aws-us-gov, their regions, and an ARN whose region is of another partition', () => {
    const cn = loadConfig('run', { ...base, queue_url: 'arn:aws-cn:sqs:cn-north-1:123456789012:ct' }, {})
    expect([cn.sources[0].queueUrl, cn.sources[0].region]).toEqual(['https://sqs.cn-north-1.amazonaws.com.cn/123456789012/ct', 'cn-north-1'])
    const gov = loadConfig('run', { ...base, queue_url: 'arn:aws-us-gov:sqs:us-gov-west-1:123456789012:ct' }, {})
    expect([gov.sources[0].queueUrl, gov.sources[0].region]).toEqual(['https://sqs.us-gov-west-1.amazonaws.com/123456789012/ct', 'us-gov-west-1'])
    expect(resolveQueue('https://sqs.cn-north-1.amazonaws.com.cn/123456789012/ct')).toEqual({ url: 'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/ct', region: 'cn-north-1' })
    expect(resolveQueue('https://sqs.cn-northwest-1.amazonaws.com.cn/123456789012/ct').region).toBe('cn-northwest-1')
    expect(resolveQueue('https://cn-north-1.queue.amazonaws.com.cn/123456789012/ct').region).toBe('cn-north-1')
    expect(resolveQueue('https://sqs.us-gov-west-1.amazonaws.com/123456789012/ct').region).toBe('us-gov-west-1')
    expect(resolveQueue('sqs.us-gov-east-1.amazonaws.com/123456789012/ct').region).toBe('us-gov-east-1')
    expect(() => resolveQueue('arn:aws:sqs:cn-north-1:123456789012:ct')).toThrow(/queue_url: .*region cn-north-1 is in partition aws-cn, not aws/)
    expect(() => resolveQueue('arn:aws-cn:sqs:us-east-1:123456789012:ct')).toThrow(/partition aws, not aws-cn/)
    // With sqs_endpoint (an emulator, a VPC endpoint) the ARN only names the queue.
    expect(resolveQueue('arn:aws-cn:sqs:us-east-1:123456789012:ct', 'http://localhost:4566').url).toBe('http://localhost:4566/123456789012/ct')
    expect(loadConfig('run', { ...base, bucket: ['arn:aws-cn:s3:::cn-trail', 'arn:aws-us-gov:s3:::gov-trail'] }, {}).sources[0].buckets).toEqual(['cn-trail', 'gov-trail'])
  })

  it('FIPS and dual-stack: the settings, and the queue URL they make of an ARN or an AWS SQS URL', () => {
    expect(loadConfig('run', base, {}).sources[0]).toMatchObject({ useFipsEndpoint: false, useDualstackEndpoint: false })
    const arn = 'arn:aws:sqs:us-east-1:123456789012:ct'
    const fips = loadConfig('run', { ...base, queue_url: arn, use_fips_endpoint: 'true' }, {})
    expect(fips.sources[0]).toMatchObject({ useFipsEndpoint: true, queueUrl: 'https://sqs-fips.us-east-1.amazonaws.com/123456789012/ct', region: 'us-east-1' })
    const dual = loadConfig('run', { ...base, queue_url: arn }, { CLOUDTRAIL_INGEST_USE_DUALSTACK_ENDPOINT: 'yes' })
    expect(dual.sources[0]).toMatchObject({ useDualstackEndpoint: true, queueUrl: 'https://sqs.us-east-1.api.aws/123456789012/ct' })
    const cases: [string, { fips?: boolean; dualStack?: boolean }, string][] = [
      [arn, { fips: true, dualStack: true }, 'https://sqs-fips.us-east-1.api.aws/123456789012/ct'],
      ['arn:aws-us-gov:sqs:us-gov-west-1:123456789012:ct', { fips: true }, 'https://sqs.us-gov-west-1.amazonaws.com/123456789012/ct'],
      ['arn:aws-cn:sqs:cn-north-1:123456789012:ct', { dualStack: true }, 'https://sqs.cn-north-1.api.amazonwebservices.com.cn/123456789012/ct'],
      // The SDK sends every request to the queue URL's host: an AWS SQS URL follows the settings too.
      ['https://sqs.us-west-2.amazonaws.com/123456789012/ct', { fips: true }, 'https://sqs-fips.us-west-2.amazonaws.com/123456789012/ct'],
      ['https://us-west-2.queue.amazonaws.com/123456789012/ct', { dualStack: true }, 'https://sqs.us-west-2.api.aws/123456789012/ct'],
      ['https://sqs-fips.us-west-2.amazonaws.com/123456789012/ct', {}, 'https://sqs-fips.us-west-2.amazonaws.com/123456789012/ct'],
      // Anything else (a VPC endpoint, an emulator) is left as it is.
      ['https://vpce-0123-abcd.sqs.us-east-1.vpce.amazonaws.com/123456789012/ct', { fips: true }, 'https://vpce-0123-abcd.sqs.us-east-1.vpce.amazonaws.com/123456789012/ct'],
      ['http://127.0.0.1:4566/123456789012/ct', { fips: true, dualStack: true }, 'http://127.0.0.1:4566/123456789012/ct'],
    ]
    for (const [queue, flags, url] of cases) expect({ queue, flags, url: resolveQueue(queue, undefined, flags).url }).toEqual({ queue, flags, url })
    expect(resolveQueue('https://sqs-fips.us-east-2.amazonaws.com/123456789012/ct').region).toBe('us-east-2')
    expect(resolveQueue('https://sqs.eu-west-1.api.aws/123456789012/ct').region).toBe('eu-west-1')
  })

  it('layers defaults < file < environment < flags', () => {
    const path = file('ct.conf', '# FortiSIEM style\ncloudtrail_msg_pull_interval = 10\ncloudtrail_msg_pull_thread_num=4\nbucket = a-bucket\nbucket = b-bucket\n')
    const env = { [envName(settings.find((s) => s.name === 'cloudtrail_msg_pull_thread_num')!)]: '8', CLOUDTRAIL_INGEST_QUEUE_URL: base.queue_url as string }
    const c = loadConfig('run', { config: path, cloudtrail_file_parse_thread_num: '6' }, env)
    expect(c.sources[0].pullInterval).toBe(10) // file
    expect(c.sources[0].pullThreads).toBe(8) // env beats file
    expect(c.parseThreads).toBe(6) // flag
    expect(c.sources[0].buckets).toEqual(['a-bucket', 'b-bucket'])
    const flagWins = loadConfig('run', { config: path, cloudtrail_msg_pull_thread_num: '2' }, env)
    expect(flagWins.sources[0].pullThreads).toBe(2)
  })

  it('reads JSON config files', () => {
    const path = file('ct.json', JSON.stringify({ ...base, format: 'json', cloudtrail_msg_pull_interval: 15, tls_insecure: true }))
    const c = loadConfig('run', { config: path }, {})
    expect(c.format).toBe('json')
    expect(c.sources[0].pullInterval).toBe(15)
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
    [{ ...base, bucket: ['bad bucket'] }, 'bucket'],
    [{ ...base, bucket: ['-leading-dash'] }, 'bucket'],
    [{ ...base, bucket: ['ab'] }, 'bucket'],
    [{ ...base, bucket: ['x'.repeat(256)] }, 'bucket'],
    [{ ...base, bucket: ['arn:aws:s3:::my-trail-bucket/*'] }, 'bucket'],
    [{ ...base, bucket: ['arn:aws:s3:::'] }, 'bucket'],
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
    expect(loadConfig('run', flags, { AWS_REGION: 'us-west-2' }).sources[0].region).toBe('us-west-2')
  })

  it('rejects unknown settings in a config file, naming them', () => {
    const path = file('typo.conf', 'cloudtrail_msg_pull_intervall = 10\n')
    expect(configError({ ...base, config: path }).setting).toBe('cloudtrail_msg_pull_intervall')
  })

  it('never shows the secret key: not in errors, not in JSON', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY'
    const c = loadConfig('run', { ...base, access_key_id: 'AKIDEXAMPLE', secret_key: secret }, {})
    expect(c.sources[0].credentials?.secretAccessKey).toBe(secret)
    expect(JSON.stringify(c)).not.toContain(secret)
    expect(Object.keys(c)).not.toContain('credentials')
    const err = configError({ ...base, secret_key: secret })
    expect(err.message).not.toContain(secret)
    const headerErr = configError({ ...base, http_header: [`Authorization Bearer ${secret}`] })
    expect(headerErr.message).not.toContain(secret)
  })

  it('allows any bucket only when told so explicitly', () => {
    expect(loadConfig('run', { ...base, bucket: ['*'] }, {}).sources[0].buckets).toBeNull()
  })

  it('defaults path-style S3 when a custom endpoint is set', () => {
    expect(loadConfig('run', base, {}).sources[0].s3ForcePathStyle).toBe(false)
    expect(loadConfig('run', { ...base, endpoint: 'http://127.0.0.1:4566' }, {}).sources[0].s3ForcePathStyle).toBe(true)
  })

  it('is frozen', () => {
    const c = loadConfig('run', base, {})
    expect(Object.isFrozen(c)).toBe(true)
  })
})

describe('loadConfig refuses at start what would fail later', () => {
  it.each([
    // Headers undici refuses on every request, or that the HTTP client owns: every POST would fail.
    ['Transfer-Encoding: chunked'],
    ['transfer-encoding: gzip'],
    ['Connection: close'],
    ['Content-Length: 10'],
    ['Keep-Alive: timeout=5'],
    ['Upgrade: h2c'],
    ['Expect: 100-continue'],
    ['TE: trailers'],
    ['Trailer: X-Checksum'],
    ['Proxy-Connection: keep-alive'],
    ['Content-Encoding: gzip'],
    // Names and values undici cannot send.
    ['Bad Name: x'],
    ['X-Ünïcode: x'],
    ['Authorization: Bearer abc\u0000def'],
    ['Authorization: Bearer \u2603'],
    ['Authorization: Bearer a\rX-Evil: 1'],
    // The same header twice: the first would be dropped silently.
    ['Authorization: Bearer a', 'authorization: Bearer b'],
  ])('http_header %j', (...lines) => {
    const err = configError({ ...base, output: 'https://siem.example.com/in', http_header: lines })
    expect(err.setting).toBe('http_header')
  })

  it('keeps the headers a SIEM needs', () => {
    const c = loadConfig('run', { ...base, http_header: ['Authorization: Splunk 0a1b-2c3d', 'Content-Type: application/json', 'Host: siem.internal', 'X-Scope-OrgID: tenant-1'] }, {})
    expect(c.httpHeaders).toEqual({ Authorization: 'Splunk 0a1b-2c3d', 'Content-Type': 'application/json', Host: 'siem.internal', 'X-Scope-OrgID': 'tenant-1' })
  })

  it('never echoes a header value or a name that is not a valid name', () => {
    const token = 'sk-live-4f1b2c3d4e5f60718293'
    for (const line of [`Authorization Bearer ${token}: x`, `Authorization: Bearer ${token}\u0000`, `Authorization=Bearer ${token}`]) {
      const err = configError({ ...base, http_header: [line] })
      expect(err.setting).toBe('http_header')
      expect(err.message).not.toContain(token)
    }
  })

  it.each([
    [{ visibility_timeout: '30.5' }, 'visibility_timeout'],
    [{ wait_time: '0.5' }, 'wait_time'],
    [{ queue_stats_interval: '0.001' }, 'queue_stats_interval'],
    [{ stats_log_interval: '0.01' }, 'stats_log_interval'],
    [{ status_interval: '0' }, 'status_interval'],
    [{ status_interval: '1.5' }, 'status_interval'],
    [{ max_record_size: '257MiB' }, 'max_record_size'],
    [{ max_record_size: '1GiB' }, 'max_record_size'],
    [{ http_batch_bytes: '9MiB' }, 'http_batch_bytes'],
    [{ max_object_size: '99999999999999999999GiB' }, 'max_object_size'],
    [{ syslog_app_name: 'cloudtrail ingest' }, 'syslog_app_name'],
    [{ syslog_app_name: 'x'.repeat(49) }, 'syslog_app_name'],
    [{ syslog_app_name: 'ingést' }, 'syslog_app_name'],
    [{ syslog_app_name: '' }, 'syslog_app_name'],
    [{ syslog_hostname: 'collector 1' }, 'syslog_hostname'],
    [{ syslog_hostname: 'h'.repeat(256) }, 'syslog_hostname'],
    [{ syslog_hostname: 'tab\there' }, 'syslog_hostname'],
    [{ syslog_hostname: 'hôte' }, 'syslog_hostname'],
    [{ metrics_host: 'http://127.0.0.1' }, 'metrics_host'],
    [{ metrics_host: '127.0.0.1:9464' }, 'metrics_host'],
    [{ metrics_host: '[::1]' }, 'metrics_host'],
    [{ metrics_host: '' }, 'metrics_host'],
    [{ metrics_host: 'bad host' }, 'metrics_host'],
    // Accepted and dropped in silence, or logged: refused.
    [{ session_token: 'FwoGZXIvYXdzEBQaDSESSION' }, 'session_token'],
    [{ endpoint: 'http://minio:S3CRET@127.0.0.1:9000' }, 'endpoint'],
    [{ s3_endpoint: 'https://user:pw@s3.internal' }, 's3_endpoint'],
    [{ queue_url: 'https://user:pw@sqs.eu-west-1.amazonaws.com/123456789012/cloudtrail' }, 'queue_url'],
  ])('%j', (flags, setting) => {
    const err = configError({ ...base, ...flags } as RawSettings)
    expect(err.setting).toBe(setting)
    expect(err.message.startsWith(`${setting}:`)).toBe(true)
  })

  it('takes whole seconds where SQS does, fractions where a timer does, and limits up to their maxima', () => {
    const c = loadConfig('run', { ...base, visibility_timeout: '45', wait_time: '0', cloudtrail_msg_pull_interval: '0.5', shutdown_timeout: '2.5', max_record_size: '256MiB', http_batch_bytes: '8MiB' }, {})
    expect([c.sources[0].visibilityTimeout, c.sources[0].waitTime, c.sources[0].pullInterval, c.shutdownTimeout]).toEqual([45, 0, 0.5, 2.5])
    expect([c.maxRecordSize, c.httpBatchBytes]).toEqual([256 * 1024 ** 2, 8 * 1024 ** 2])
  })

  it('keeps RFC 5424 APP-NAME and HOSTNAME as given, and makes the default hostname one', () => {
    const c = loadConfig('run', { ...base, syslog_app_name: 'a'.repeat(48), syslog_hostname: 'collector-1.example.com' }, {})
    expect(c.syslog.appName).toBe('a'.repeat(48))
    expect(c.syslog.hostname).toBe('collector-1.example.com')
    expect(loadConfig('run', { ...base, syslog_app_name: '-', syslog_hostname: '-' }, {}).syslog).toMatchObject({ appName: '-', hostname: '-' })
    expect(defaultSyslogHostname('host with spaces')).toBe('host-with-spaces')
    expect(defaultSyslogHostname('bücher.example')).toBe('xn--bcher-kva.example')
    expect(defaultSyslogHostname('')).toBe('-')
    expect(defaultSyslogHostname('h'.repeat(300))).toHaveLength(255)
    expect(loadConfig('run', base, {}).syslog.hostname).toMatch(/^[\x21-\x7e]{1,255}$/)
  })

  it('accepts legacy bucket names (us-east-1 before March 2018) and bucket ARNs', () => {
    const legacy = ['CloudTrail_Logs', 'MyAWSBucket', 'a'.repeat(255), 'old.bucket_with-all.KINDS']
    expect(loadConfig('run', { ...base, bucket: legacy }, {}).sources[0].buckets).toEqual(legacy)
    const arns = ['arn:aws:s3:::my-trail-bucket', 'arn:aws-cn:s3:::cn-trail', 'arn:aws-us-gov:s3:::Gov_Trail']
    expect(loadConfig('run', { ...base, bucket: arns }, {}).sources[0].buckets).toEqual(['my-trail-bucket', 'cn-trail', 'Gov_Trail'])
  })

  it('refuses a CA bundle with a certificate that cannot be read', async () => {
    const certs = await makeTestCerts()
    const caPem = certs.ca
    await certs.cleanup()
    const broken = file('broken-ca.pem', `${caPem}\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`)
    expect(configError({ ...base, output: 'tls://siem:6514', tls_ca_file: broken }).setting).toBe('tls_ca_file')
    expect(configError({ ...base, output: 'tls://siem:6514', tls_ca_file: '/nonexistent/ca.pem' }).setting).toBe('tls_ca_file')
    expect(loadConfig('run', { ...base, output: 'tls://siem:6514', tls_ca_file: file('ca.pem', caPem) }, {}).tlsCaFile).toBeDefined()
  })
})

describe('checkMetricsListen', () => {
  const listenError = async (metricsHost: string, metricsPort: number): Promise<ConfigError> => {
    try {
      await checkMetricsListen({ metricsHost, metricsPort })
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      return err as ConfigError
    }
    throw new Error('expected a ConfigError')
  }

  it('refuses a metrics_host that does not resolve or is not an address of this host', async () => {
    expect((await listenError('metrics.invalid', await freePort())).setting).toBe('metrics_host')
    // TEST-NET-1 (RFC 5737), host .254: not an address of this host.
    expect((await listenError('192.0.2.254', await freePort())).setting).toBe('metrics_host')
  })

  it('refuses a metrics_port that is taken, naming it', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as { port: number }).port
    try {
      const err = await listenError('127.0.0.1', port)
      expect(err.setting).toBe('metrics_port')
    } finally {
      taken.close()
    }
  })

  it('accepts what the endpoint can listen on, and nothing to check when it is off', async () => {
    await expect(checkMetricsListen({ metricsHost: '127.0.0.1', metricsPort: 0 })).resolves.toBeUndefined()
    await expect(checkMetricsListen({ metricsHost: 'metrics.invalid', metricsPort: 0 })).resolves.toBeUndefined()
    await expect(checkMetricsListen({ metricsHost: 'localhost', metricsPort: await freePort() })).resolves.toBeUndefined()
    const own = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4')
    await expect(checkMetricsListen({ metricsHost: own!.address, metricsPort: await freePort() })).resolves.toBeUndefined()
  })
})

describe('secrets in configuration errors', () => {
  it('a JSON config file with a syntax error is not quoted, only placed', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
    for (const text of [`{"secret_key": ${secret}}`, `{\n  "secret_key": "${secret}" "x"\n}`, `{"secret_key": "${secret}`, `{"http_header": ["Authorization: Bearer ${secret}"],}`]) {
      const err = configError({ ...base, config: file('bad.json', text) })
      expect(err.setting).toBe('config')
      expect(err.message).toMatch(/is not valid JSON/)
      expect(err.message).not.toContain(secret.slice(0, 8))
      expect(err.message).not.toContain(secret.slice(-8))
    }
    expect(configError({ ...base, config: file('bad.json', '{\n  "format": "json"\n  "x": 1\n}') }).message).toMatch(/at line 3, column 3$/)
  })

  it('an HTTP sink URL is masked in errors: its query values and path tokens are not shown', () => {
    const err = configError({ ...base, output: 'https://collectors.example.com/receiver/v1/http/ZaVnC4dhaV2ZJTCKBGHcHoe1VYQn?token=QUERYSECRET#frag' })
    expect(err.setting).toBe('output')
    expect(err.message).toContain('https://collectors.example.com/receiver/v1/http/***?token=***#***')
    expect(err.message).not.toMatch(/ZaVnC4dhaV2ZJTCKBGHcHoe1VYQn|QUERYSECRET/)
    const endpointErr = configError({ ...base, endpoint: 'ftp://minio.internal/bucket?X-Amz-Signature=SIGSECRET' })
    expect(endpointErr.message).not.toContain('SIGSECRET')
  })
})

describe('bucket_owner', () => {
  it('takes one account for every bucket, or BUCKET=ID per bucket, from flags, files or the environment', () => {
    expect(loadConfig('run', base, {}).sources[0].bucketOwners.size).toBe(0)
    expect([...loadConfig('run', { ...base, bucket_owner: ['111122223333'] }, {}).sources[0].bucketOwners]).toEqual([['*', '111122223333']])
    const two = { ...base, bucket: ['logs-a', 'logs-b'] }
    const env = { CLOUDTRAIL_INGEST_BUCKET_OWNER: 'logs-a=111122223333, logs-b = 444455556666' }
    expect([...loadConfig('run', two, env).sources[0].bucketOwners]).toEqual([['logs-a', '111122223333'], ['logs-b', '444455556666']])
    const path = file('owners.conf', 'bucket_owner = 111122223333\nbucket_owner = logs-b=444455556666\n')
    expect([...loadConfig('run', { ...two, config: path }, {}).sources[0].bucketOwners]).toEqual([['*', '111122223333'], ['logs-b', '444455556666']])
    // With bucket "*", the one id is what keeps other owners' buckets out.
    expect([...loadConfig('run', { ...base, bucket: ['*'], bucket_owner: ['111122223333', 'any-bucket=444455556666'] }, {}).sources[0].bucketOwners]).toHaveLength(2)
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

describe('bucket_region', () => {
  it('takes BUCKET=REGION per bucket, from flags, files or the environment', () => {
    expect(loadConfig('run', base, {}).sources[0].bucketRegions.size).toBe(0)
    expect([...loadConfig('run', { ...base, bucket_region: ['my-trail-bucket=ap-southeast-2'] }, {}).sources[0].bucketRegions]).toEqual([['my-trail-bucket', 'ap-southeast-2']])
    const two = { ...base, bucket: ['logs-a', 'logs-b'] }
    const env = { CLOUDTRAIL_INGEST_BUCKET_REGION: 'logs-a=eu-central-1, logs-b = us-gov-west-1' }
    expect([...loadConfig('run', two, env).sources[0].bucketRegions]).toEqual([['logs-a', 'eu-central-1'], ['logs-b', 'us-gov-west-1']])
    const path = file('regions.conf', 'bucket_region = logs-a=eu-west-1\nbucket_region = logs-b=cn-north-1\n')
    expect([...loadConfig('run', { ...two, config: path }, {}).sources[0].bucketRegions]).toEqual([['logs-a', 'eu-west-1'], ['logs-b', 'cn-north-1']])
    // With bucket "*", any bucket may be named.
    expect([...loadConfig('run', { ...base, bucket: ['*'], bucket_region: ['any-bucket=eu-west-1'] }, {}).sources[0].bucketRegions]).toHaveLength(1)
  })

  it.each([
    ['a region alone', ['eu-west-1']],
    ['not a region', ['my-trail-bucket=Europe']],
    ['an empty region', ['my-trail-bucket=']],
    ['an empty bucket', ['=eu-west-1']],
    ['every bucket', ['*=eu-west-1']],
    ['a bucket not configured', ['other-bucket=eu-west-1']],
    ['two regions for one bucket', ['my-trail-bucket=eu-west-1', 'my-trail-bucket=eu-west-2']],
  ])('refuses %s, naming bucket_region', (_name, bucket_region) => {
    const err = configError({ ...base, bucket_region })
    expect(err.setting).toBe('bucket_region')
    expect(err.message).toMatch(/^bucket_region: /)
  })
})

describe('sources', () => {
  const two = {
    output: 'tls://siem.example.com:6514',
    cloudtrail_file_parse_thread_num: 8,
    bucket: ['shared-default-bucket'],
    visibility_timeout: 120,
    sources: [
      { queue_url: 'arn:aws:sqs:us-east-1:111122223333:org-trail', bucket: ['org-trail-logs'], organization: 'acme' },
      {
        queue_url: 'https://sqs.eu-west-1.amazonaws.com/444455556666/ct',
        bucket: ['tenant-b-logs'],
        organization: 'tenant-b',
        name: 'tenant-b',
        cloudtrail_msg_pull_thread_num: 4,
      },
    ],
  }
  const yaml = `# the same as two, in YAML
output: tls://siem.example.com:6514
cloudtrail_file_parse_thread_num: 8
bucket: [shared-default-bucket]
visibility_timeout: 120
sources:
  - queue_url: arn:aws:sqs:us-east-1:111122223333:org-trail
    bucket: [org-trail-logs]
    organization: acme
  - queue_url: https://sqs.eu-west-1.amazonaws.com/444455556666/ct
    bucket:
      - tenant-b-logs
    organization: tenant-b
    name: tenant-b
    cloudtrail_msg_pull_thread_num: 4
`
  const sourcesOf = (path: string, flags: RawSettings = {}, env: NodeJS.ProcessEnv = {}) => loadConfig('run', { config: path, ...flags }, env).sources

  it('reads a list of sources from JSON and from YAML alike, the top level the default of each', () => {
    for (const path of [file('c.json', JSON.stringify(two)), file('c.yaml', yaml), file('c.yml', yaml)]) {
      const c = loadConfig('run', { config: path }, {})
      expect([c.parseThreads, c.output]).toEqual([8, 'tls://siem.example.com:6514'])
      const [a, b] = c.sources
      expect(c.sources).toHaveLength(2)
      expect(a).toMatchObject({ index: 0, name: '111122223333/org-trail', queueName: 'org-trail', region: 'us-east-1', buckets: ['org-trail-logs'], organization: 'acme', pullThreads: 1 })
      expect(a.queueUrl).toBe('https://sqs.us-east-1.amazonaws.com/111122223333/org-trail')
      expect(b).toMatchObject({ index: 1, name: 'tenant-b', queueName: 'ct', region: 'eu-west-1', buckets: ['tenant-b-logs'], pullThreads: 4 })
      // From the top level, for both.
      expect([a.visibilityTimeout, b.visibilityTimeout]).toEqual([120, 120])
    }
  })

  it('takes flags and the environment as every source’s default, below what an entry says', () => {
    const path = file('c.json', JSON.stringify(two))
    const [a, b] = sourcesOf(path, { wait_time: '3' }, { CLOUDTRAIL_INGEST_CLOUDTRAIL_MSG_PULL_THREAD_NUM: '2' })
    expect([a.waitTime, b.waitTime]).toEqual([3, 3])
    expect([a.pullThreads, b.pullThreads]).toEqual([2, 4])
  })

  it('gives each source its own credentials, never shown', () => {
    const keyed = { ...two, sources: [two.sources[0], { ...two.sources[1], access_key_id: 'AKIAB', secret_key: 'b-secret' }] }
    const [a, b] = sourcesOf(file('c.json', JSON.stringify(keyed)), { access_key_id: 'AKIADEFAULT', secret_key: 'default-secret' })
    expect(a.credentials?.accessKeyId).toBe('AKIADEFAULT')
    expect(b.credentials).toEqual({ accessKeyId: 'AKIAB', secretAccessKey: 'b-secret' })
    expect(JSON.stringify(b)).not.toContain('b-secret')
  })

  it('names the source (its index, and its name or queue) and the setting in every error', () => {
    const bad = (sources: unknown[], top: Record<string, unknown> = {}) => configError({ config: file('c.json', JSON.stringify({ ...top, sources })) }).message
    expect(bad([two.sources[0], { queue_url: 'https://sqs.eu-west-1.amazonaws.com/444455556666/ct' }])).toBe(
      'sources[1].bucket: required: the bucket(s) CloudTrail writes to (or "*" to allow any) (source 1, https://sqs.eu-west-1.amazonaws.com/444455556666/ct)',
    )
    expect(bad([{ ...two.sources[0], name: 'org', visibility_timeout: 0.5 }])).toMatch(/^sources\[0\]\.visibility_timeout: expected a whole number of seconds, got "0.5" \(source 0, org\)$/)
    expect(bad([{ ...two.sources[0], format: 'json' }])).toMatch(/^sources\[0\]\.format: is global: set it once at the top level/)
    expect(bad([{ ...two.sources[0], no_such: 1 }])).toMatch(/^sources\[0\]\.no_such: unknown setting/)
    expect(bad([two.sources[0], two.sources[0]])).toMatch(/^sources\[1\]\.name: the same name as sources\[0\] \(111122223333\/org-trail\)/)
    expect(bad([two.sources[0], { ...two.sources[0], name: 'other' }])).toMatch(/^sources\[1\]\.queue_url: the same queue as sources\[0\]/)
    expect(bad([{ ...two.sources[0], name: 'two words' }])).toMatch(/^sources\[0\]\.source_name: expected 1 to 128 printable ASCII characters/)
    expect(bad([])).toMatch(/^sources: .*expected a list of one or more sources/)
    expect(bad(['org-trail'])).toMatch(/^sources\[0\]: .*expected an object of settings/)
    // Secrets stay hidden in the message.
    expect(bad([{ ...two.sources[0], secret_key: 'shh' }])).toBe(
      'sources[0].access_key_id: access_key_id and secret_key go together (source 0, arn:aws:sqs:us-east-1:111122223333:org-trail)',
    )
  })

  it('refuses a list of sources in a name = value file, and YAML that does not parse without quoting it', () => {
    expect(configError({ config: file('c.conf', 'sources = a\n') }).message).toMatch(/^sources: .*needs a \.json or \.yaml file/)
    const message = configError({ config: file('c.yaml', 'secret_key: "hunter2\nsources: [\n') }).message
    expect(message).toMatch(/^config: .*is not valid YAML/)
    expect(message).not.toContain('hunter2')
  })

  it('describes the one source with flags and the environment, as before', () => {
    const [only] = loadConfig('run', base, {}).sources
    expect(only).toMatchObject({ index: 0, name: '123456789012/cloudtrail', queueName: 'cloudtrail', organization: '' })
    expect(loadConfig('parse', {}, {}).sources).toEqual([])
  })
})

describe('profile and role_arn', () => {
  const role = 'arn:aws:iam::444455556666:role/cloudtrail-reader'

  it('takes a role with its external id, session name and STS endpoint; the external id is never enumerable', () => {
    const c = loadConfig('run', { ...base, role_arn: role, external_id: 'tenant-acme:7f3a/x', role_session_name: 'ct-acme', sts_endpoint: 'https://sts.eu-west-1.amazonaws.com/' }, {}).sources[0]
    expect(c).toMatchObject({ roleArn: role, roleSessionName: 'ct-acme', stsEndpoint: 'https://sts.eu-west-1.amazonaws.com', externalId: 'tenant-acme:7f3a/x' })
    expect(JSON.stringify(c)).not.toContain('tenant-acme')
    expect(loadConfig('run', { ...base, role_arn: 'arn:aws-us-gov:iam::444455556666:role/path/to/reader' }, {}).sources[0].roleSessionName).toBe('cloudtrail-ingest')
    expect(loadConfig('run', { ...base, profile: 'audit' }, { CLOUDTRAIL_INGEST_ROLE_ARN: role }).sources[0]).toMatchObject({ profile: 'audit', roleArn: role })
    const plain = loadConfig('run', base, {}).sources[0]
    expect(plain).not.toHaveProperty('roleArn')
    expect(plain).not.toHaveProperty('profile')
  })

  it('gives each source of a list its own role and external id, and names the source in errors', () => {
    const sources = [
      { queue_url: 'arn:aws:sqs:us-east-1:111122223333:org-trail', bucket: ['org-trail-logs'] },
      { queue_url: 'https://sqs.eu-west-1.amazonaws.com/444455556666/ct', bucket: ['tenant-b-logs'], name: 'tenant-b', role_arn: role, external_id: 'tenant-b-ext' },
    ]
    const [a, b] = loadConfig('run', { config: file('c.json', JSON.stringify({ role_session_name: 'ct-fleet', sources })) }, {}).sources
    expect(a).not.toHaveProperty('roleArn')
    expect(a.roleSessionName).toBe('ct-fleet')
    expect(b).toMatchObject({ roleArn: role, externalId: 'tenant-b-ext', roleSessionName: 'ct-fleet' })
    expect(JSON.stringify(b)).not.toContain('tenant-b-ext')
    const message = configError({ config: file('c.json', JSON.stringify({ sources: [sources[0], { ...sources[1], external_id: 'x y' }] })) }).message
    expect(message).toMatch(/^sources\[1\]\.external_id: expected 2 to 1224 .* \(source 1, tenant-b\)$/)
    expect(message).not.toContain('x y')
  })

  it.each([
    [{ role_arn: 'arn:aws:iam::4444:role/x' }, 'role_arn'],
    [{ role_arn: 'arn:aws:iam::444455556666:user/x' }, 'role_arn'],
    [{ role_arn: 'arn:aws:sts::444455556666:assumed-role/x/y' }, 'role_arn'],
    [{ role_arn: `arn:aws:iam::444455556666:role/${'r'.repeat(65)}` }, 'role_arn'],
    [{ role_arn: role, external_id: 'q' }, 'external_id'],
    [{ role_arn: role, external_id: 'has space' }, 'external_id'],
    [{ role_arn: role, external_id: 'e'.repeat(1225) }, 'external_id'],
    [{ role_arn: role, role_session_name: 'a' }, 'role_session_name'],
    [{ role_arn: role, role_session_name: 'has/slash' }, 'role_session_name'],
    [{ role_arn: role, role_session_name: 's'.repeat(65) }, 'role_session_name'],
    [{ role_arn: role, sts_endpoint: 'sts.amazonaws.com' }, 'sts_endpoint'],
    [{ role_arn: role, sts_endpoint: 'https://k:s@sts.internal' }, 'sts_endpoint'],
    [{ external_id: 'tenant-acme' }, 'external_id'],
    [{ sts_endpoint: 'https://sts.internal' }, 'sts_endpoint'],
    [{ profile: 'audit', access_key_id: 'AKID', secret_key: 'S' }, 'profile'],
    [{ profile: 'has space' }, 'profile'],
  ])('%j', (flags, setting) => {
    const err = configError({ ...base, ...flags } as RawSettings)
    expect(err.setting).toBe(setting)
    expect(err.message.startsWith(`${setting}:`)).toBe(true)
    // A secret: never echoed.
    if (setting === 'external_id') expect(err.message).not.toContain(String((flags as RawSettings).external_id))
  })
})

describe('drop, keep and redact', () => {
  const sources = [
    { queue_url: 'arn:aws:sqs:us-east-1:111122223333:org-trail', bucket: ['org-trail-logs'] },
    { queue_url: 'https://sqs.eu-west-1.amazonaws.com/444455556666/ct', bucket: ['tenant-b-logs'], name: 'tenant-b', drop: ['eventName=Get*,List*'], redact: [] },
  ]

  it('takes repeated flags, whole (a comma is part of a pattern), as every source’s default below its own', () => {
    const c = loadConfig('run', { config: file('c.json', JSON.stringify({ drop: ['readOnly=true'], keep: ['recipientAccountId=111122223333'], redact: ['responseElements/credentials/*'], sources })) }, {})
    expect(c.sources[0].rules).toEqual({ drop: ['readOnly=true'], keep: ['recipientAccountId=111122223333'], redact: ['responseElements/credentials/*'] })
    expect(c.sources[1].rules).toEqual({ drop: ['eventName=Get*,List*'], keep: ['recipientAccountId=111122223333'], redact: [] })
    const flags = loadConfig('parse', { drop: ['eventName=A,B', 'readOnly=true'], redact: ['requestParameters'] }, {})
    expect(flags.rules).toEqual({ drop: ['eventName=A,B', 'readOnly=true'], keep: [], redact: ['requestParameters'] })
    expect(loadConfig('parse', {}, { CLOUDTRAIL_INGEST_KEEP: 'readOnly=false' }).rules.keep).toEqual(['readOnly=false'])
  })

  it('refuses a bad rule at start, naming the setting, the rule and the source', () => {
    expect(() => loadConfig('parse', { drop: ['readOnly=true', 'eventName'] }, {})).toThrow('drop: rule 2 ("eventName"): expected PATH=PATTERN')
    expect(() => loadConfig('parse', { redact: ['a/*/b'] }, {})).toThrow(/^redact: rule 1 \("a\/\*\/b"\): the one wildcard/)
    const bad = [sources[0], { ...sources[1], keep: ['x/*=1'] }]
    expect(configError({ config: file('c.json', JSON.stringify({ sources: bad })) }).message).toMatch(
      /^sources\[1\]\.keep: rule 1 \("x\/\*=1"\): a path has no wildcards.* \(source 1, tenant-b\)$/,
    )
  })
})

describe('drop, keep and redact on reload', () => {
  it('are no global change: a reload applies them through the sources', async () => {
    const { globalChanges, sameSource } = await import('../src/config.ts')
    const a = loadConfig('run', { ...base, drop: ['readOnly=true'] }, {})
    const b = loadConfig('run', { ...base, drop: ['readOnly=false'] }, {})
    expect(globalChanges(a, b)).toEqual([])
    expect(sameSource(a.sources[0], b.sources[0])).toBe(false)
    expect(sameSource(a.sources[0], loadConfig('run', { ...base, drop: ['readOnly=true'] }, {}).sources[0])).toBe(true)
  })
})
