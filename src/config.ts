// Every setting, read once at start from (lowest to highest precedence) defaults, a config file
// (--config), environment variables and flags; validated with errors that name the setting; frozen.
//
// One table describes each setting: its name in config files (FortiSIEM's names for the three tuning
// knobs), its flag, its environment variable (CLOUDTRAIL_INGEST_<NAME>), its default and its help line.
// The CLI's flags, --help and the README's settings table all come from it.

import { readFileSync } from 'node:fs'
import { createServer, isIP } from 'node:net'
import { hostname } from 'node:os'
import { domainToASCII } from 'node:url'
import { ConfigError } from './errors.ts'
import { logLevels, maskUrl, type LogLevel } from './log.ts'
import { compileKeyPattern, DEFAULT_KEY_PATTERN, type KeyPattern } from './pipeline/object-keys.ts'
import { checkHttpHeaders, readCaBundle, sinkFraming } from './sinks/output.ts'
import type { Format, Framing } from '../workers/protocol.ts'

export type Command = 'run' | 'parse' | 'demo'
type Kind = 'int' | 'seconds' | 'bytes' | 'string' | 'list' | 'bool' | 'enum'

export interface Setting {
  name: string
  flag: string
  kind: Kind
  default?: string
  help: string
  commands: readonly Command[]
  min?: number
  max?: number
  /** seconds: whole seconds only (SQS takes integers; a fraction of an interval would poll or log up to 1000 times a second). */
  integer?: boolean
  values?: readonly string[]
  /** Never logged, never echoed in an error. */
  secret?: boolean
  /** Only a flag: not read from files or the environment. */
  flagOnly?: boolean
}

const RUN: Command[] = ['run', 'demo']
const ALL: Command[] = ['run', 'parse', 'demo']

export const settings: readonly Setting[] = [
  // FortiSIEM's three tuning parameters, with its names and defaults.
  { name: 'cloudtrail_msg_pull_interval', flag: 'pull-interval', kind: 'seconds', default: '30', min: 0, max: 3600, commands: RUN,
    help: 'seconds a receiver waits after an empty receive before polling again' },
  { name: 'cloudtrail_msg_pull_thread_num', flag: 'pull-threads', kind: 'int', default: '1', min: 1, max: 256, commands: RUN,
    help: 'concurrent SQS receive loops (each asks for up to 10 messages)' },
  { name: 'cloudtrail_file_parse_thread_num', flag: 'parse-threads', kind: 'int', default: '3', min: 1, max: 256, commands: ALL,
    help: 'OS threads that gunzip, parse and format objects (parse: also --threads)' },
  // The seed's access settings.
  { name: 'queue_url', flag: 'queue-url', kind: 'string', commands: ['run'],
    help: 'SQS queue URL, URL without scheme, or queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)' },
  { name: 'region', flag: 'region', kind: 'string', commands: ['run'],
    help: 'AWS region; default: from the queue URL or ARN, else AWS_REGION' },
  { name: 'bucket', flag: 'bucket', kind: 'list', commands: ['run'],
    help: 'bucket(s) the collector may read, by name or arn:aws:s3:::NAME (repeat the flag or comma-separate); "*" allows any' },
  { name: 'bucket_owner', flag: 'bucket-owner', kind: 'list', commands: ['run'],
    help: 'account id (12 digits) that must own the buckets, sent as ExpectedBucketOwner; BUCKET=ID for one bucket (repeatable)' },
  { name: 'access_key_id', flag: 'access-key-id', kind: 'string', commands: ['run'],
    help: 'AWS access key id; default: the standard credential chain (env, profile, instance/container role)' },
  { name: 'secret_key', flag: 'secret-key', kind: 'string', secret: true, commands: ['run'],
    help: 'AWS secret key, with access_key_id (prefer the file or the environment: flags show in ps)' },
  { name: 'session_token', flag: 'session-token', kind: 'string', secret: true, commands: ['run'],
    help: 'AWS session token for temporary credentials' },
  { name: 'profile', flag: 'profile', kind: 'string', commands: ['run'],
    help: 'profile of the shared AWS files (~/.aws/config, ~/.aws/credentials) for the credentials, instead of access_key_id or the standard chain' },
  { name: 'role_arn', flag: 'role-arn', kind: 'string', commands: ['run'],
    help: 'IAM role to assume (arn:aws:iam::ACCOUNT:role/NAME) with the credentials above; its temporary credentials are refreshed before they expire' },
  { name: 'external_id', flag: 'external-id', kind: 'string', secret: true, commands: ['run'],
    help: "ExternalId sent with role_arn, as the role's trust policy asks (sts:ExternalId): 2 to 1224 of A-Z a-z 0-9 _ + = , . @ : / -" },
  { name: 'role_session_name', flag: 'role-session-name', kind: 'string', default: 'cloudtrail-ingest', commands: ['run'],
    help: "RoleSessionName for role_arn, the name of the collector's session in the role's own CloudTrail: 2 to 64 of A-Z a-z 0-9 _ + = , . @ -" },
  { name: 'sts_endpoint', flag: 'sts-endpoint', kind: 'string', commands: ['run'],
    help: "custom endpoint for STS's AssumeRole (a VPC endpoint); default: STS in the region" },
  { name: 'organization', flag: 'organization', kind: 'string', default: '', commands: RUN,
    help: 'tenant name carried in logs and metric labels (records are unchanged)' },
  { name: 'endpoint', flag: 'endpoint', kind: 'string', commands: ['run'],
    help: 'custom endpoint for SQS and S3 (emulators, VPC endpoints, S3-compatible stores)' },
  { name: 'sqs_endpoint', flag: 'sqs-endpoint', kind: 'string', commands: ['run'], help: 'custom endpoint for SQS only' },
  { name: 's3_endpoint', flag: 's3-endpoint', kind: 'string', commands: ['run'], help: 'custom endpoint for S3 only' },
  { name: 's3_force_path_style', flag: 's3-force-path-style', kind: 'bool', commands: ['run'],
    help: 'path-style S3 URLs; default: true when an S3 endpoint is set' },
  // Output.
  { name: 'format', flag: 'format', kind: 'enum', values: ['fortisiem', 'json'], default: 'fortisiem', commands: ALL,
    help: 'fortisiem: "<ctime> FortiSIEM-CloudTrail [path]=value …"; json: each record as CloudTrail wrote it' },
  { name: 'output', flag: 'output', kind: 'string', default: 'stdout', commands: ALL,
    help: 'stdout, file:PATH, tcp://host:port, tls://host:port (syslog RFC 5424/6587), http(s)://…' },
  { name: 'tls_ca_file', flag: 'tls-ca-file', kind: 'string', commands: ALL, help: 'PEM CA bundle to trust for tls:// and https:// sinks' },
  { name: 'tls_insecure', flag: 'tls-insecure', kind: 'bool', default: 'false', commands: ALL,
    help: 'do not verify the sink certificate (testing only)' },
  { name: 'http_header', flag: 'http-header', kind: 'list', commands: ALL, secret: true,
    help: '"Name: value" header for http(s) sinks, e.g. Authorization (repeatable)' },
  // At most the HTTP sink's high-water mark (8 MiB unconfirmed): a larger batch would never fill, so every
  // POST would wait for the linger and the setting would not mean what it says.
  { name: 'http_batch_bytes', flag: 'http-batch-bytes', kind: 'bytes', default: '1MiB', min: 1024, max: 8 * 1024 ** 2, commands: ALL,
    help: 'largest body of one POST to an http(s) sink (at most 8MiB)' },
  { name: 'syslog_facility', flag: 'syslog-facility', kind: 'int', default: '16', min: 0, max: 23, commands: ALL,
    help: 'syslog facility number (16 = local0); severity is informational' },
  { name: 'syslog_app_name', flag: 'syslog-app-name', kind: 'string', default: 'cloudtrail-ingest', commands: ALL,
    help: 'syslog APP-NAME: 1 to 48 printable ASCII characters, no spaces' },
  { name: 'syslog_hostname', flag: 'syslog-hostname', kind: 'string', commands: ALL,
    help: 'syslog HOSTNAME: 1 to 255 printable ASCII characters, no spaces; default: this host' },
  { name: 'key_pattern', flag: 'key-pattern', kind: 'string', default: DEFAULT_KEY_PATTERN, commands: RUN,
    help: 'regular expression for object keys to parse (digests and other keys are skipped and counted); JavaScript syntax, matched in linear time (no lookaheads or backreferences)' },
  // Limits and tuning.
  { name: 'max_object_size', flag: 'max-object-size', kind: 'bytes', default: '2GiB', min: 1024, commands: ALL,
    help: 'decompressed size beyond which an object is a permanent error (gzip bombs)' },
  // At most 256 MiB: a parse thread holds a record whole, as bytes, as a string and parsed, and V8 cannot
  // make a string of more than 2^29 - 24 characters (512 MiB), so a larger record would fail on every try.
  // CloudTrail's own records stay far below (responseElements are cut at 100 KB).
  { name: 'max_record_size', flag: 'max-record-size', kind: 'bytes', default: '8MiB', min: 1024, max: 256 * 1024 ** 2, commands: ALL,
    help: 'a single record larger than this (as written, or once formatted) is skipped and counted (at most 256MiB)' },
  { name: 'max_depth', flag: 'max-depth', kind: 'int', default: '128', min: 2, max: 10000, commands: ALL,
    help: 'records nested deeper than this are skipped and counted' },
  { name: 'visibility_timeout', flag: 'visibility-timeout', kind: 'seconds', integer: true, default: '300', min: 1, max: 43200, commands: RUN,
    help: 'whole seconds a received message stays hidden; extended while its objects are in flight' },
  { name: 'wait_time', flag: 'wait-time', kind: 'seconds', integer: true, default: '20', min: 0, max: 20, commands: RUN,
    help: 'SQS long-poll wait per receive, whole seconds' },
  { name: 'ring_size', flag: 'ring-size', kind: 'int', default: '64', min: 1, max: 65536, commands: RUN,
    help: 'received messages waiting for processing (rounded up to a power of two)' },
  { name: 'max_objects_in_flight', flag: 'max-objects-in-flight', kind: 'int', min: 1, max: 4096, commands: ALL,
    help: 'objects being fetched, parsed or written at once; default: 2 x parse threads + 2' },
  { name: 'shutdown_timeout', flag: 'shutdown-timeout', kind: 'seconds', default: '30', min: 0, max: 3600, commands: RUN,
    help: 'on SIGINT/SIGTERM, how long to finish what is in flight' },
  // Operations.
  { name: 'metrics_port', flag: 'metrics-port', kind: 'int', default: '9464', min: 0, max: 65535, commands: RUN,
    help: 'port of /metrics, /healthz, /readyz; 0 turns the endpoint off' },
  { name: 'metrics_host', flag: 'metrics-host', kind: 'string', default: '127.0.0.1', commands: RUN,
    help: 'address the metrics endpoint listens on: an IP address of this host, or a name that resolves to one' },
  { name: 'queue_stats_interval', flag: 'queue-stats-interval', kind: 'seconds', integer: true, default: '15', min: 0, max: 3600, commands: RUN,
    help: 'how often (whole seconds) GetQueueAttributes feeds the backlog, input-rate and capacity gauges; 0 turns it off' },
  { name: 'log_level', flag: 'log-level', kind: 'enum', values: logLevels, default: 'info', commands: ALL, help: 'log level (logs go to stderr)' },
  { name: 'status_interval', flag: 'status-interval', kind: 'seconds', integer: true, default: '5', min: 1, max: 3600, commands: RUN,
    help: 'when stdout is a terminal and not the sink, print the status line this often (whole seconds)' },
  { name: 'stats_log_interval', flag: 'stats-log-interval', kind: 'seconds', integer: true, default: '30', min: 0, max: 86400, commands: RUN,
    help: 'when no status line is shown (stdout not a terminal, or the sink), log throughput, backlog, lag and errors at info this often (whole seconds); 0 turns it off' },
  { name: 'drain', flag: 'drain', kind: 'bool', default: 'false', flagOnly: true, commands: ['run'],
    help: 'exit 0 once nothing is in flight and a receive comes back empty or SQS counts no message visible, in flight or delayed (about a second after the last record, whatever wait_time)' },
]

const byName = new Map(settings.map((s) => [s.name, s]))

export function envName(setting: Setting): string {
  return `CLOUDTRAIL_INGEST_${setting.name.toUpperCase()}`
}

export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface Config {
  command: Command
  pullInterval: number
  pullThreads: number
  parseThreads: number
  queueUrl: string
  region: string
  /** null: any bucket ("*"). */
  buckets: readonly string[] | null
  /** bucket_owner: the account that must own each bucket; '*' holds the one for every other bucket. */
  bucketOwners: ReadonlyMap<string, string>
  organization: string
  sqsEndpoint?: string
  s3Endpoint?: string
  s3ForcePathStyle: boolean
  format: Format
  output: string
  framing: Framing
  tlsCaFile?: string
  tlsInsecure: boolean
  httpBatchBytes: number
  syslog: { pri: number; hostname: string; appName: string }
  keyPattern: KeyPattern
  maxObjectSize: number
  maxRecordSize: number
  maxDepth: number
  visibilityTimeout: number
  waitTime: number
  ringSize: number
  maxObjectsInFlight: number
  shutdownTimeout: number
  metricsPort: number
  metricsHost: string
  queueStatsInterval: number
  logLevel: LogLevel
  statusInterval: number
  statsLogInterval: number
  drain: boolean
  /** profile: the shared files' profile for the credentials (none with access_key_id). */
  profile?: string
  /** role_arn: the role assumed with the credentials (aws/credentials.ts). */
  roleArn?: string
  roleSessionName: string
  stsEndpoint?: string
  /** Not enumerable: JSON.stringify(config) and loggers never see them. */
  readonly credentials?: Credentials
  readonly externalId?: string
  readonly httpHeaders: Readonly<Record<string, string>>
}

/** Raw values by setting name: strings, or string lists for list settings. */
export type RawSettings = Record<string, string | string[] | boolean | undefined>

/** key = value lines (FortiSIEM's phoenix_config.txt style, # comments) or, for *.json, a JSON object. */
export function readConfigFile(path: string): RawSettings {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError('config', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  const out: RawSettings = {}
  if (path.endsWith('.json')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (err) {
      // Never JSON.parse's message: it quotes the text around the error, and a secret may be there.
      throw new ConfigError('config', `${path} is not valid JSON${jsonErrorPlace(text, (err as Error).message)}`)
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError('config', `${path} must hold a JSON object`)
    for (const [name, value] of Object.entries(parsed)) {
      if (Array.isArray(value)) out[name] = value.map(String)
      else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[name] = String(value)
      else throw new ConfigError(name, `in ${path}: expected a string, number, boolean or list`)
    }
  } else {
    text.split(/\r?\n/).forEach((line, i) => {
      const trimmed = line.trim()
      if (trimmed === '' || trimmed.startsWith('#')) return
      const eq = trimmed.indexOf('=')
      if (eq <= 0) throw new ConfigError('config', `${path}:${i + 1}: expected "name = value"`)
      const name = trimmed.slice(0, eq).trim()
      const value = trimmed.slice(eq + 1).trim()
      const previous = out[name]
      out[name] = byName.get(name)?.kind === 'list' && previous !== undefined ? [...[previous].flat().map(String), value] : value
    })
  }
  for (const name of Object.keys(out)) {
    const setting = byName.get(name)
    if (!setting || setting.flagOnly) throw new ConfigError(name, `unknown setting in ${path}`)
  }
  return out
}

/** " at line L, column C" when JSON.parse's message gives the position, else nothing. */
function jsonErrorPlace(text: string, message: string): string {
  const at = /at position (\d+)/.exec(message)
  if (!at) return ''
  const before = text.slice(0, Number(at[1]))
  const line = before.split('\n').length
  return ` at line ${line}, column ${before.length - before.lastIndexOf('\n')}`
}

export function readEnvironment(env: NodeJS.ProcessEnv): RawSettings {
  const out: RawSettings = {}
  for (const setting of settings) {
    if (setting.flagOnly) continue
    const value = env[envName(setting)]
    if (value !== undefined && value !== '') out[setting.name] = value
  }
  return out
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 }

function parseValue(setting: Setting, raw: string | string[] | boolean): string | string[] | number | boolean {
  const shown = setting.secret ? '(hidden)' : JSON.stringify(raw)
  const bad = (expected: string): never => {
    throw new ConfigError(setting.name, `expected ${expected}, got ${shown}`)
  }
  const range = (n: number, unit = '') => {
    if (setting.min !== undefined && n < setting.min) bad(`at least ${setting.min}${unit}`)
    if (setting.max !== undefined && n > setting.max) bad(`at most ${setting.max}${unit}`)
    return n
  }
  if (setting.kind === 'list') {
    const list = (Array.isArray(raw) ? raw : [String(raw)]).flatMap((v) => (setting.name === 'http_header' ? [v] : v.split(',')))
    return list.map((v) => v.trim()).filter((v) => v !== '')
  }
  if (Array.isArray(raw)) return bad('a single value')
  if (setting.kind === 'bool') {
    if (typeof raw === 'boolean') return raw
    const v = raw.trim().toLowerCase()
    if (['true', 'yes', '1', 'on'].includes(v)) return true
    if (['false', 'no', '0', 'off'].includes(v)) return false
    return bad('true or false')
  }
  const text = String(raw).trim()
  switch (setting.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(text)) bad('an integer')
      return range(Number(text))
    }
    case 'seconds': {
      if (setting.integer ? !/^\d+$/.test(text) : !/^\d+(\.\d+)?$/.test(text)) bad(setting.integer ? 'a whole number of seconds' : 'a number of seconds')
      return range(Number(text), ' s')
    }
    case 'bytes': {
      const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text)
      const unit = m ? UNITS[m[2].toLowerCase()] : undefined
      if (!m || unit === undefined) return bad('a size such as 1048576, 512MiB or 2GiB')
      const bytes = Math.floor(Number(m[1]) * unit)
      if (!Number.isSafeInteger(bytes)) bad(`a size below ${Number.MAX_SAFE_INTEGER} bytes`)
      return range(bytes, ' bytes')
    }
    case 'enum':
      if (!setting.values?.includes(text)) bad(`one of ${setting.values?.join(', ')}`)
      return text
    default:
      return text
  }
}

/** Queue URL, URL without scheme, or ARN -> { url, region }. */
export function resolveQueue(value: string, sqsEndpoint?: string): { url: string; region?: string } {
  const arn = /^arn:(aws[\w-]*):sqs:([a-z0-9-]+):(\d{12}):([\w-]+(?:\.fifo)?)$/.exec(value)
  if (arn) {
    const [, partition, region, account, name] = arn
    const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com'
    const base = sqsEndpoint ? sqsEndpoint.replace(/\/+$/, '') : `https://sqs.${region}.${domain}`
    return { url: `${base}/${account}/${name}`, region }
  }
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw new ConfigError('queue_url', `expected a queue URL or ARN, got ${JSON.stringify(value)}`)
  }
  if (!/^https?:$/.test(url.protocol) || url.pathname.split('/').filter(Boolean).length < 2) {
    throw new ConfigError('queue_url', `expected https://sqs.REGION.amazonaws.com/ACCOUNT/NAME or an ARN, got ${JSON.stringify(maskUrl(value))}`)
  }
  // Logged at start; the SDK never sends them.
  if (url.username !== '' || url.password !== '') throw new ConfigError('queue_url', 'credentials do not belong in the URL')
  const region = /(?:^|\.)sqs[.-]([a-z]{2}(?:-[a-z]+)+-\d)\./.exec(url.hostname)?.[1] ?? /^([a-z]{2}(?:-[a-z]+)+-\d)\.queue\./.exec(url.hostname)?.[1]
  return { url: url.toString(), region }
}

function endpoint(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  let url: URL | null
  try {
    url = new URL(String(value))
  } catch {
    url = null
  }
  if (url === null || !/^https?:$/.test(url.protocol)) throw new ConfigError(name, `expected an http(s) URL, got ${JSON.stringify(maskUrl(String(value)))}`)
  // They would end up in queue URLs, and so in logs; the SDK signs with the credentials settings.
  if (url.username !== '' || url.password !== '') throw new ConfigError(name, 'credentials do not belong in the URL: use access_key_id and secret_key')
  return url.toString().replace(/\/$/, '')
}

/**
 * A bucket name, or arn:PARTITION:s3:::NAME. S3's rules today: 3 to 63 of a-z 0-9 . -, starting and
 * ending with a letter or digit; buckets made in us-east-1 before March 2018 kept the legacy rules: up to
 * 255 of A-Z a-z 0-9 . _ -, starting with a letter or digit (legacy names include today's).
 */
function bucketName(value: string): string {
  if (value === '*') return value
  const name = /^arn:aws[a-z-]*:s3:::(.*)$/.exec(value)?.[1] ?? value
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{2,254}$/.test(name)) {
    throw new ConfigError('bucket', `expected a bucket name or arn:aws:s3:::NAME (no /path), got ${JSON.stringify(value)}`)
  }
  return name
}

/**
 * An IAM role's ARN: arn:PARTITION:iam::ACCOUNT:role/NAME, with a path or not (role/PATH/NAME). IAM's
 * names: 1 to 64 of A-Z a-z 0-9 _ + = , . @ -; paths of the same characters and /, up to 512.
 */
function roleArnOf(value: string): string {
  const m = /^arn:aws[a-z-]*:iam::\d{12}:role\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,64})$/.exec(value)
  if (!m || m[1].length > 511) throw new ConfigError('role_arn', `expected arn:aws:iam::ACCOUNT:role/NAME (a 12-digit account), got ${JSON.stringify(value)}`)
  return value
}

/** http_header lines -> headers, each checked as the HTTP sink will send it, and given once (names compared without case). */
function httpHeaders(lines: readonly string[]): Record<string, string> {
  // No prototype: a header may be called __proto__.
  const headers: Record<string, string> = Object.create(null)
  const seen = new Set<string>()
  lines.forEach((line, i) => {
    const colon = line.indexOf(':')
    // Nothing of the line is echoed: it may hold a token.
    if (colon <= 0) throw new ConfigError('http_header', `header ${i + 1}: expected "Name: value"`)
    const name = line.slice(0, colon).trim()
    const value = line.slice(colon + 1).trim()
    checkHttpHeaders({ [name]: value })
    if (seen.has(name.toLowerCase())) throw new ConfigError('http_header', `header ${i + 1}: ${name} is given twice`)
    seen.add(name.toLowerCase())
    headers[name] = value
  })
  return headers
}

/** RFC 5424 HOSTNAME and APP-NAME: NILVALUE ("-") or 1 to `max` PRINTUSASCII (33-126). */
function syslogField(setting: string, value: string, max: number): string {
  if (value.length > max || !/^[\x21-\x7e]+$/.test(value)) {
    throw new ConfigError(setting, `expected 1 to ${max} printable ASCII characters without spaces (RFC 5424), or - for none; got ${JSON.stringify(value)}`)
  }
  return value
}

/** This host's name as an RFC 5424 HOSTNAME: in ASCII (punycode), anything else as -, at most 255 characters. */
export function defaultSyslogHostname(name = hostname()): string {
  return (domainToASCII(name) || name).replace(/[^\x21-\x7e]/g, '-').slice(0, 255) || '-'
}

/** An IP address or a DNS name: not a URL, not host:port, no brackets. */
function metricsHost(value: string): string {
  if (isIP(value) === 0 && !/^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i.test(value)) {
    throw new ConfigError('metrics_host', `expected an IP address or a host name (no scheme, port or brackets), got ${JSON.stringify(value)}`)
  }
  return value
}

/**
 * What only the network can tell, at start: that the metrics endpoint can listen where it is told, by
 * listening there for a moment. A name that does not resolve or an address that is not this host's is
 * metrics_host's fault; a port that is taken or privileged is metrics_port's.
 */
export async function checkMetricsListen(config: Pick<Config, 'metricsHost' | 'metricsPort'>): Promise<void> {
  if (config.metricsPort === 0) return
  const server = createServer()
  const failure = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    server.once('error', resolve)
    server.listen({ host: config.metricsHost, port: config.metricsPort }, () => resolve(null))
  })
  if (failure === null) {
    await new Promise((resolve) => server.close(resolve))
    return
  }
  const code = failure.code ?? 'error'
  if (code === 'EADDRINUSE' || code === 'EACCES') {
    throw new ConfigError('metrics_port', `cannot listen on ${config.metricsHost} port ${config.metricsPort} (${code === 'EADDRINUSE' ? 'in use' : 'not permitted'})`)
  }
  const why = code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'does not resolve' : code === 'EADDRNOTAVAIL' ? 'is not an address of this host' : code
  throw new ConfigError('metrics_host', `cannot listen on ${JSON.stringify(config.metricsHost)}: it ${why}`)
}

/**
 * bucket_owner entries: `ID` (every bucket) or `BUCKET=ID`, with a bucket the collector may read. One
 * id covers a trail's bucket; the per-bucket form is for a queue fed by buckets of several accounts
 * (an organization's log archive beside a member account's own trail).
 */
function bucketOwners(entries: readonly string[], buckets: readonly string[]): Map<string, string> {
  const owners = new Map<string, string>()
  for (const entry of entries) {
    const eq = entry.lastIndexOf('=')
    const bucket = eq < 0 ? '*' : entry.slice(0, eq).trim()
    const id = entry.slice(eq + 1).trim()
    if (!/^\d{12}$/.test(id)) throw new ConfigError('bucket_owner', `expected a 12-digit account id or BUCKET=ID, got ${JSON.stringify(entry)}`)
    if (bucket !== '*' && !buckets.includes(bucket) && !buckets.includes('*')) {
      throw new ConfigError('bucket_owner', `${JSON.stringify(bucket)} is not one of the configured buckets`)
    }
    if (owners.has(bucket)) throw new ConfigError('bucket_owner', bucket === '*' ? 'more than one account id for every bucket' : `more than one account id for ${JSON.stringify(bucket)}`)
    owners.set(bucket, id)
  }
  return owners
}

/**
 * Merges defaults < file < environment < flags for `command`, validates everything and returns the
 * frozen configuration. Throws ConfigError naming the first bad setting.
 */
export function loadConfig(command: Command, flags: RawSettings, env: NodeJS.ProcessEnv = process.env): Config {
  const file = typeof flags.config === 'string' ? readConfigFile(flags.config) : {}
  const merged: RawSettings = { ...file, ...readEnvironment(env) }
  for (const [name, value] of Object.entries(flags)) if (name !== 'config' && value !== undefined) merged[name] = value

  const v: Record<string, string | string[] | number | boolean | undefined> = {}
  for (const setting of settings) {
    const raw = merged[setting.name] ?? setting.default
    v[setting.name] = raw === undefined ? undefined : parseValue(setting, raw)
  }

  const sqsEndpoint = endpoint(v.sqs_endpoint !== undefined ? 'sqs_endpoint' : 'endpoint', v.sqs_endpoint ?? v.endpoint)
  const s3Endpoint = endpoint(v.s3_endpoint !== undefined ? 's3_endpoint' : 'endpoint', v.s3_endpoint ?? v.endpoint)
  let queueUrl = ''
  let region = (v.region as string | undefined) ?? ''
  if (command === 'run') {
    if (v.queue_url === undefined) throw new ConfigError('queue_url', 'required: the SQS queue URL or ARN')
    const queue = resolveQueue(v.queue_url as string, sqsEndpoint)
    queueUrl = queue.url
    region ||= queue.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? ''
    if (!region) throw new ConfigError('region', 'required: cannot be derived from queue_url, and AWS_REGION is not set')
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new ConfigError('region', `expected a region such as us-east-1, got ${JSON.stringify(region)}`)
  }

  const bucketList = (v.bucket as string[] | undefined) ?? []
  if (command === 'run' && bucketList.length === 0) {
    throw new ConfigError('bucket', 'required: the bucket(s) CloudTrail writes to (or "*" to allow any)')
  }
  const buckets = bucketList.map(bucketName)

  const accessKeyId = v.access_key_id as string | undefined
  const secretAccessKey = v.secret_key as string | undefined
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError(accessKeyId === undefined ? 'access_key_id' : 'secret_key', 'access_key_id and secret_key go together')
  }
  // Alone it would be dropped in silence, for the credential chain.
  if (v.session_token !== undefined && accessKeyId === undefined) throw new ConfigError('session_token', 'goes with access_key_id and secret_key')

  const profile = v.profile as string | undefined
  if (profile !== undefined && accessKeyId !== undefined) throw new ConfigError('profile', 'give either profile or access_key_id and secret_key, not both')
  if (profile !== undefined && !/^[\w+=,.@:\/-]{1,64}$/.test(profile)) throw new ConfigError('profile', `expected a profile name, got ${JSON.stringify(profile)}`)
  const roleArn = v.role_arn === undefined ? undefined : roleArnOf(v.role_arn as string)
  const externalId = v.external_id as string | undefined
  // Never echoed: it is as good as a password to whoever may assume the role with it.
  if (externalId !== undefined && !/^[\w+=,.@:\/-]{2,1224}$/.test(externalId)) throw new ConfigError('external_id', 'expected 2 to 1224 of A-Z a-z 0-9 _ + = , . @ : / - (as STS takes it)')
  const roleSessionName = v.role_session_name as string
  if (!/^[\w+=,.@-]{2,64}$/.test(roleSessionName)) throw new ConfigError('role_session_name', `expected 2 to 64 of A-Z a-z 0-9 _ + = , . @ - (as STS takes it), got ${JSON.stringify(roleSessionName)}`)
  const stsEndpoint = endpoint('sts_endpoint', v.sts_endpoint)
  // Alone they would be dropped in silence.
  if (roleArn === undefined) {
    if (externalId !== undefined) throw new ConfigError('external_id', 'goes with role_arn')
    if (stsEndpoint !== undefined) throw new ConfigError('sts_endpoint', 'goes with role_arn')
    if (merged.role_session_name !== undefined) throw new ConfigError('role_session_name', 'goes with role_arn')
  }

  const headers = httpHeaders((v.http_header as string[] | undefined) ?? [])

  const output = v.output as string
  // parseOutput's errors say what is wrong, and show the URL masked.
  const framing: Framing = sinkFraming(output)
  const tlsCaFile = v.tls_ca_file as string | undefined
  if (tlsCaFile !== undefined) readCaBundle(tlsCaFile)
  const parseThreads = v.cloudtrail_file_parse_thread_num as number
  const config: Config = {
    command,
    pullInterval: v.cloudtrail_msg_pull_interval as number,
    pullThreads: v.cloudtrail_msg_pull_thread_num as number,
    parseThreads,
    queueUrl,
    region: region || 'us-east-1',
    buckets: buckets.includes('*') ? null : buckets,
    bucketOwners: bucketOwners((v.bucket_owner as string[] | undefined) ?? [], buckets),
    organization: v.organization as string,
    sqsEndpoint,
    s3Endpoint,
    s3ForcePathStyle: (v.s3_force_path_style as boolean | undefined) ?? s3Endpoint !== undefined,
    format: v.format as Format,
    output,
    framing,
    tlsCaFile,
    tlsInsecure: v.tls_insecure as boolean,
    httpBatchBytes: v.http_batch_bytes as number,
    syslog: {
      pri: (v.syslog_facility as number) * 8 + 6,
      hostname: v.syslog_hostname === undefined ? defaultSyslogHostname() : syslogField('syslog_hostname', v.syslog_hostname as string, 255),
      appName: syslogField('syslog_app_name', v.syslog_app_name as string, 48),
    },
    keyPattern: compileKeyPattern(v.key_pattern as string),
    maxObjectSize: v.max_object_size as number,
    maxRecordSize: v.max_record_size as number,
    maxDepth: v.max_depth as number,
    visibilityTimeout: v.visibility_timeout as number,
    waitTime: v.wait_time as number,
    ringSize: 2 ** Math.ceil(Math.log2(v.ring_size as number)),
    maxObjectsInFlight: (v.max_objects_in_flight as number | undefined) ?? parseThreads * 2 + 2,
    shutdownTimeout: v.shutdown_timeout as number,
    metricsPort: v.metrics_port as number,
    metricsHost: metricsHost(v.metrics_host as string),
    queueStatsInterval: v.queue_stats_interval as number,
    logLevel: v.log_level as LogLevel,
    statusInterval: v.status_interval as number,
    statsLogInterval: v.stats_log_interval as number,
    drain: v.drain as boolean,
    ...(profile !== undefined ? { profile } : {}),
    ...(roleArn !== undefined ? { roleArn } : {}),
    roleSessionName,
    ...(stsEndpoint !== undefined ? { stsEndpoint } : {}),
    httpHeaders: {},
  }
  if (externalId !== undefined) Object.defineProperty(config, 'externalId', { value: externalId, enumerable: false })
  Object.defineProperty(config, 'httpHeaders', { value: Object.freeze(headers), enumerable: false })
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    const credentials: Credentials = { accessKeyId, secretAccessKey }
    if (v.session_token !== undefined) credentials.sessionToken = v.session_token as string
    Object.defineProperty(config, 'credentials', { value: Object.freeze(credentials), enumerable: false })
  }
  return Object.freeze(config)
}
