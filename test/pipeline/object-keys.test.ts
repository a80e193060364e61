import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/errors.ts'
import { classifyKey, compileKeyPattern, DEFAULT_KEY_PATTERN, type KeyClass } from '../../src/pipeline/object-keys.ts'

const pattern = compileKeyPattern(DEFAULT_KEY_PATTERN)

const tsv = readFileSync(new URL('../fixtures/object-keys.tsv', import.meta.url), 'utf8')
const [header, ...lines] = tsv.trimEnd().split('\n').map((line) => line.split('\t'))
const rows = lines.map((cells) => Object.fromEntries(header.map((name, i) => [name, cells[i]])) as Record<string, string>)
const expectedClass: Record<string, KeyClass> = { log: 'log', insight: 'log', digest: 'digest' }

describe('classifyKey over fixtures/object-keys.tsv', () => {
  it('reads every row', () => {
    expect(rows.length).toBeGreaterThanOrEqual(18)
    for (const row of rows) expect(Object.keys(expectedClass)).toContain(row.kind)
  })

  // Every row, including DataDog's digest file name under a CloudTrail/ folder (digest), the two bare file
  // names with no folder (log: they follow CloudTrail's file naming) and the documented org-trail template
  // `bucket_name/prefix_name/AWSLogs/O-ID/Account ID/CloudTrail/…` (log: it has the layout).
  it.each(rows.map((row) => [row.key, row.kind] as const))('%s (%s)', (key, kind) => {
    expect(classifyKey(key, pattern)).toBe(expectedClass[kind])
  })
})

const decisions: Array<[string, KeyClass]> = [
  // DataDog's synthetic digest: the file name decides, not the CloudTrail/ folder.
  ['cloud-trail/AWSLogs/123456779121/CloudTrail/us-east-1/2018/01/07/123456779121_CloudTrail-Digest_us-east-1_AWS-CloudTrail_us-east-1_20180707T173567Z.json.gz', 'digest'],
  // Bare file names: logs when they follow CloudTrail's naming, whatever the rest.
  ['601427279990_CloudTrail_us-east-1_20210503T0000Z_QrttGEk4ZcBTLwj5.json.gz', 'log'],
  ['123456789012_CloudTrail-Insight_us-east-1_20210503T0000Z_QrttGEk4ZcBTLwj5.json.gz', 'log'],
  ['123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20150817T150131Z.json.gz', 'digest'],
  ['12345_CloudTrail_us-east-1_20210503T0000Z_x.json.gz', 'other'],
  ['backup/601427279990_CloudTrail_us-east-1_20210503T0000Z_QrttGEk4ZcBTLwj5.json.gz', 'other'],
  ['601427279990_CloudTrail_us-east-1_20210503T0000Z_QrttGEk4ZcBTLwj5.json', 'other'],
  // The template matches on layout.
  ['bucket_name/prefix_name/AWSLogs/O-ID/Account ID/CloudTrail/region/YYYY/MM/DD/file_name.json.gz', 'log'],
  // A CloudTrail/ folder at the root of the bucket, with no leading slash.
  ['CloudTrail/us-east-1/2024/01/01/123456789012_CloudTrail_us-east-1_20240101T0000Z_abc.json.gz', 'log'],
  ['CloudTrail-Insight/us-east-1/2024/01/01/x.json.gz', 'log'],
  ['CloudTrail-Digest/us-east-1/2024/01/01/x.json.gz', 'digest'],
  // Only a whole path segment counts.
  ['AWSLogs/123456789012/MyCloudTrail/us-east-1/x.json.gz', 'other'],
  ['AWSLogs/123456789012/CloudTrailArchive/us-east-1/x.json.gz', 'other'],
  ['AWSLogs/123456789012/CloudTrail-Lake/us-east-1/x.json.gz', 'other'],
  // In the CloudTrail folder but not a gzipped JSON file, or the folder itself.
  ['AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/01/x.json', 'other'],
  ['AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/01/x.json.gz.tmp', 'other'],
  ['AWSLogs/123456789012/CloudTrail/', 'other'],
  ['', 'other'],
  // Other AWS logs delivered to S3.
  ['2020-11-27-23-16-48-08AB4BC89388039F', 'other'],
  ['access-logs/2020-11-27-23-16-48-08AB4BC89388039F', 'other'],
  ['AWSLogs/111111111111/vpcflowlogs/eu-west-2/2022/02/21/111111111111_vpcflowlogs_eu-west-2_fl-0dcbf7c4c2483c6b6_20220221T1955Z_7fe2e5f7.log.gz', 'other'],
  ['AWSLogs/123456789012/Config/us-east-1/2024/1/15/ConfigSnapshot/123456789012_Config_us-east-1_ConfigSnapshot_20240115T120000Z_6a7c5d0e-1c2b-4d3e-9f8a-0b1c2d3e4f5a.json.gz', 'other'],
  ['AWSLogs/123456789012/Config/us-east-1/2024/1/15/ConfigHistory/123456789012_Config_us-east-1_ConfigHistory_AWS::EC2::Instance_20240115T120000Z_20240115T180000Z_1.json.gz', 'other'],
  ['AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/01/15/123456789012_elasticloadbalancing_us-east-1_app.my-alb.0123456789abcdef_20240115T1200Z_10.0.0.1_abc.log.gz', 'other'],
]

describe('classifyKey decisions', () => {
  it.each(decisions)('%s -> %s', (key, expected) => {
    expect(classifyKey(key, pattern)).toBe(expected)
  })
})

describe('compileKeyPattern', () => {
  it('compiles a custom pattern, and digests stay digests', () => {
    const custom = compileKeyPattern(String.raw`^exports/.*\.json\.gz$`)
    expect(classifyKey('exports/a.json.gz', custom)).toBe('log')
    expect(classifyKey('AWSLogs/1/CloudTrail/r/a.json.gz', custom)).toBe('other')
    expect(classifyKey('exports/CloudTrail-Digest/a.json.gz', custom)).toBe('digest')
  })

  it.each([
    '(unclosed',
    '[z-a]',
    '*',
    '',
    // Valid JavaScript with no linear-time match: lookaheads and backreferences.
    String.raw`^(?!.*Digest).*\.json\.gz$`,
    String.raw`CloudTrail/(?=\w)`,
    String.raw`^(\w+)/\1/`,
    String.raw`^(?<account>\d{12})/.*\k<account>`,
    // RE2's own syntax, not JavaScript's.
    '(?i)cloudtrail',
    '(?P<name>x)',
  ])('rejects %j as ERR_CONFIG naming key_pattern', (source) => {
    let err: unknown
    try {
      compileKeyPattern(source)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).code).toBe('ERR_CONFIG')
    expect((err as ConfigError).setting).toBe('key_pattern')
    expect((err as ConfigError).message).toMatch(/^key_pattern: /)
  })
})

describe('key_pattern in linear time', () => {
  const hostile: Array<[string, string, string]> = [
    // V8 backtracks over the rest of the key from every "/CloudTrail/" (quadratic: 16 s for 480 KB).
    ['the default pattern', DEFAULT_KEY_PATTERN, '/CloudTrail/'.repeat(256 * 1024 / 12)],
    ['the default pattern, ".json.gz" everywhere but at the end', DEFAULT_KEY_PATTERN, '/CloudTrail/x.json.gz'.repeat(256 * 1024 / 21) + 'x'],
    // Exponential in V8: 28 characters take 16 s.
    ['(a+)+$', '(a+)+$', 'a'.repeat(256 * 1024) + '!'],
    ['^(\\w+\\s?)*$', String.raw`^(\w+\s?)*$`, 'ab '.repeat(256 * 1024 / 3) + '!'],
    ['(?<=…) lookbehind', String.raw`(?<=(?:a|aa)+)b$`, 'a'.repeat(256 * 1024) + 'c'],
  ]

  it.each(hostile)('%s: a 256 KiB key in well under a second', (_name, source, key) => {
    const pattern = compileKeyPattern(source)
    const started = performance.now()
    const kind = classifyKey(key, pattern)
    const ms = performance.now() - started
    expect(kind).toBe('other')
    // re2js takes about 0.1-10 ms here; the margin is for a loaded machine.
    expect(ms).toBeLessThan(500)
  })

  it('matches as V8 did on every fixture key and decision, for the default and for user patterns', () => {
    const keys = [...rows.map((r) => r.key), ...decisions.map(([key]) => key)]
    const patterns = [
      DEFAULT_KEY_PATTERN,
      String.raw`^exports/.*\.json\.gz$`,
      String.raw`/CloudTrail(?:-Insight)?/[a-z]{2}-[a-z]+-\d/\d{4}/\d\d/\d\d/[^/]+\.json\.gz$`,
      String.raw`^AWSLogs\/(?:o-[a-z0-9]+\/)?\d{12}\/CloudTrail\/`,
      String.raw`(?<!-Digest)/[^/]*\.json\.gz$`,
      String.raw`\u0043loudTrail/[^]*\.gz$`,
      String.raw`(?<region>[a-z]{2}-[a-z]+-\d)/\d{4}/`,
      String.raw`_cloudtrail_`,
    ]
    for (const source of patterns) {
      const v8 = new RegExp(source)
      const re2 = compileKeyPattern(source)
      for (const key of keys) expect(re2.test(key), `${source} on ${key}`).toBe(v8.test(key))
    }
  })
})
