// Every setting, read once at start from (lowest to highest precedence) defaults, a config file
// (--config), environment variables and flags; validated with errors that name the setting; frozen.
//
// One table describes each setting: its name in config files (FortiSIEM's names for the three tuning
// knobs), its flag, its environment variable (CLOUDTRAIL_INGEST_<NAME>), its default and its help line.
// The CLI's flags, --help and the README's settings table all come from it.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer, isIP } from 'node:net'
import { hostname } from 'node:os'
import { domainToASCII } from 'node:url'
import { ConfigError } from './errors.ts'
import { logLevels, maskUrl, type LogLevel } from './log.ts'
import { DIRECT, proxySettings, type ProxySettings } from './aws/proxy-rules.ts'
import { partitionOf, sqsEndpoint, type EndpointFlags } from './aws/endpoints.ts'
import { compileKeyPattern, DEFAULT_KEY_PATTERN, type KeyPattern } from './pipeline/object-keys.ts'
import { checkHttpHeaders, readCaBundle, sinkFraming } from './sinks/output.ts'
import type { Format, Framing } from '../workers/protocol.ts'
import { compileRules, type RuleSpec } from '../workers/rules/compile.ts'

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
  /**
   * 'source': describes one queue and what it reads (a `sources` entry may set it; at the top level, in
   * the environment or as a flag it is the default for every source). Otherwise global: one value for the
   * whole process (format, output, parse threads, limits, metrics), refused inside a source.
   */
  scope?: 'source'
}

const RUN: Command[] = ['run', 'demo']
const ALL: Command[] = ['run', 'parse', 'demo']

export const settings: readonly Setting[] = [
  // FortiSIEM's three tuning parameters, with its names and defaults.
  { name: 'cloudtrail_msg_pull_interval', scope: 'source', flag: 'pull-interval', kind: 'seconds', default: '30', min: 0, max: 3600, commands: RUN,
    help: 'seconds a receiver waits after an empty receive before polling again' },
  { name: 'cloudtrail_msg_pull_thread_num', scope: 'source', flag: 'pull-threads', kind: 'int', default: '1', min: 1, max: 256, commands: RUN,
    help: 'concurrent SQS receive loops (each asks for up to 10 messages)' },
  { name: 'cloudtrail_file_parse_thread_num', flag: 'parse-threads', kind: 'int', default: '3', min: 1, max: 256, commands: ALL,
    help: 'OS threads that gunzip, parse and format objects (parse: also --threads)' },
  // The seed's access settings.
  { name: 'queue_url', scope: 'source', flag: 'queue-url', kind: 'string', commands: ['run'],
    help: 'SQS queue URL, URL without scheme, or queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)' },
  { name: 'source_name', scope: 'source', flag: 'source-name', kind: 'string', commands: ['run'],
    help: 'the source\'s name in logs and metric labels (`source`), unique in the process; in a `sources` entry `name`; default ACCOUNT/QUEUE from queue_url' },
  { name: 'region', scope: 'source', flag: 'region', kind: 'string', commands: ['run'],
    help: 'AWS region; default: from the queue URL or ARN, else AWS_REGION' },
  { name: 'bucket', scope: 'source', flag: 'bucket', kind: 'list', commands: ['run'],
    help: 'bucket(s) the collector may read, by name or arn:aws:s3:::NAME (repeat the flag or comma-separate); "*" allows any' },
  { name: 'bucket_owner', scope: 'source', flag: 'bucket-owner', kind: 'list', commands: ['run'],
    help: 'account id (12 digits) that must own the buckets, sent as ExpectedBucketOwner; BUCKET=ID for one bucket (repeatable)' },
  { name: 'bucket_region', scope: 'source', flag: 'bucket-region', kind: 'list', commands: ['run'],
    help: "BUCKET=REGION for a bucket in another region than region (repeatable); default: learned from S3's first redirect, one extra request per bucket" },
  { name: 'topic_arn', scope: 'source', flag: 'topic-arn', kind: 'list', commands: ['run'],
    help: 'SNS topic ARN(s) whose envelopes are taken (repeatable); others are refused and counted; default: any (messages without an envelope are always taken)' },
  { name: 'access_key_id', scope: 'source', flag: 'access-key-id', kind: 'string', commands: ['run'],
    help: 'AWS access key id; default: the standard credential chain (env, profile, instance/container role)' },
  { name: 'secret_key', scope: 'source', flag: 'secret-key', kind: 'string', secret: true, commands: ['run'],
    help: 'AWS secret key, with access_key_id (prefer the file or the environment: flags show in ps)' },
  { name: 'session_token', scope: 'source', flag: 'session-token', kind: 'string', secret: true, commands: ['run'],
    help: 'AWS session token for temporary credentials' },
  { name: 'profile', scope: 'source', flag: 'profile', kind: 'string', commands: ['run'],
    help: 'profile of the shared AWS files (~/.aws/config, ~/.aws/credentials) for the credentials, instead of access_key_id or the standard chain' },
  { name: 'role_arn', scope: 'source', flag: 'role-arn', kind: 'string', commands: ['run'],
    help: 'IAM role to assume (arn:aws:iam::ACCOUNT:role/NAME) with the credentials above; its temporary credentials are refreshed before they expire' },
  { name: 'external_id', scope: 'source', flag: 'external-id', kind: 'string', secret: true, commands: ['run'],
    help: "ExternalId sent with role_arn, as the role's trust policy asks (sts:ExternalId): 2 to 1224 of A-Z a-z 0-9 _ + = , . @ : / -" },
  { name: 'role_session_name', scope: 'source', flag: 'role-session-name', kind: 'string', default: 'cloudtrail-ingest', commands: ['run'],
    help: "RoleSessionName for role_arn, the name of the collector's session in the role's own CloudTrail: 2 to 64 of A-Z a-z 0-9 _ + = , . @ -" },
  { name: 'sts_endpoint', scope: 'source', flag: 'sts-endpoint', kind: 'string', commands: ['run'],
    help: "custom endpoint for STS's AssumeRole (a VPC endpoint); default: STS in the region" },
  { name: 'organization', scope: 'source', flag: 'organization', kind: 'string', default: '', commands: RUN,
    help: 'tenant name carried in logs and metric labels (records are unchanged)' },
  { name: 'endpoint', scope: 'source', flag: 'endpoint', kind: 'string', commands: ['run'],
    help: 'custom endpoint for SQS and S3 (emulators, VPC endpoints, S3-compatible stores)' },
  { name: 'sqs_endpoint', scope: 'source', flag: 'sqs-endpoint', kind: 'string', commands: ['run'], help: 'custom endpoint for SQS only' },
  { name: 's3_endpoint', scope: 'source', flag: 's3-endpoint', kind: 'string', commands: ['run'], help: 'custom endpoint for S3 only' },
  { name: 's3_force_path_style', scope: 'source', flag: 's3-force-path-style', kind: 'bool', commands: ['run'],
    help: 'path-style S3 URLs; default: true when an S3 endpoint is set' },
  // Enterprise networks (README: Enterprise networks).
  { name: 'proxy', flag: 'proxy', kind: 'string', commands: ['run'],
    help: 'HTTPS proxy for the AWS endpoints (SQS, S3, STS): http(s)://[user:password@]host:port (masked in logs); default: HTTPS_PROXY / HTTP_PROXY by the endpoint\'s scheme' },
  { name: 'no_proxy', flag: 'no-proxy', kind: 'list', commands: ['run'],
    help: 'endpoints reached without the proxy: host (and its subdomains), .domain, host:port, IP, CIDR or *; default: NO_PROXY' },
  { name: 'use_fips_endpoint', scope: 'source', flag: 'use-fips-endpoint', kind: 'bool', default: 'false', commands: ['run'],
    help: 'FIPS endpoints for SQS and S3 (sqs-fips.REGION.amazonaws.com, s3-fips.REGION.amazonaws.com)' },
  { name: 'use_dualstack_endpoint', scope: 'source', flag: 'use-dualstack-endpoint', kind: 'bool', default: 'false', commands: ['run'],
    help: 'dual-stack (IPv4 and IPv6) endpoints for SQS and S3 (sqs.REGION.api.aws, s3.dualstack.REGION.amazonaws.com)' },
  // Output.
  { name: 'format', flag: 'format', kind: 'enum', values: ['fortisiem', 'json', 'ocsf'], default: 'fortisiem', commands: ALL,
    help: 'fortisiem: "<ctime> FortiSIEM-CloudTrail [path]=value …"; json: each record as CloudTrail wrote it; ocsf: each record as an OCSF 1.1.0 event (API Activity, Authentication)' },
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
  { name: 'key_pattern', scope: 'source', flag: 'key-pattern', kind: 'string', default: DEFAULT_KEY_PATTERN, commands: RUN,
    help: 'regular expression for object keys to parse (digests and other keys are skipped and counted); JavaScript syntax, matched in linear time (no lookaheads or backreferences)' },
  // drop, keep and redact rules (README "Drop, keep and redact"; workers/rules/), checked at start.
  { name: 'drop', scope: 'source', flag: 'drop', kind: 'list', commands: ALL,
    help: 'PATH=PATTERN: records with a value at PATH matching PATTERN (alternatives split by |, * any run of characters) are dropped before they are formatted (repeatable)' },
  { name: 'keep', scope: 'source', flag: 'keep', kind: 'list', commands: ALL,
    help: 'PATH=PATTERN as for drop: when given, only records that match one keep rule (and no drop rule) are written (repeatable)' },
  { name: 'redact', scope: 'source', flag: 'redact', kind: 'list', commands: ALL,
    help: 'PATH, or PATH/* for everything under it: its values are written as "[REDACTED]", in both formats (repeatable)' },
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
  { name: 'visibility_timeout', scope: 'source', flag: 'visibility-timeout', kind: 'seconds', integer: true, default: '300', min: 1, max: 43200, commands: RUN,
    help: 'whole seconds a received message stays hidden; extended while its objects are in flight' },
  { name: 'wait_time', scope: 'source', flag: 'wait-time', kind: 'seconds', integer: true, default: '20', min: 0, max: 20, commands: RUN,
    help: 'SQS long-poll wait per receive, whole seconds' },
  { name: 'ring_size', flag: 'ring-size', kind: 'int', default: '64', min: 1, max: 65536, commands: RUN,
    help: 'received messages waiting for processing (rounded up to a power of two)' },
  { name: 'max_objects_in_flight', flag: 'max-objects-in-flight', kind: 'int', min: 1, max: 4096, commands: ALL,
    help: 'objects being fetched, parsed or written at once; default: 2 x parse threads + 2' },
  { name: 'dedup_window', flag: 'dedup-window', kind: 'int', default: '0', min: 0, max: 10_000_000, commands: RUN,
    help: 'eventIDs each parse thread remembers: a record whose eventID it saw in another object (CloudTrail delivered the event twice) is dropped and counted (cloudtrail_records_deduplicated_total); about 85 bytes per entry per parse thread; 0 turns it off' },
  { name: 'state_dir', flag: 'state-dir', kind: 'string', commands: ['run'],
    help: 'directory of the per-object checkpoints (checkpoints.sqlite): after a crash, each object resumes after its last confirmed record, and what the file sink wrote but had not confirmed is found in the file; one collector per directory; default: none (kill -9 writes the objects in flight again)' },
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

/** One queue and what it reads: the settings of scope 'source', validated. */
export interface SourceConfig {
  /** Its place in `sources` (0 when the flags, environment or top level describe the only one). */
  index: number
  /** Unique in the process: the metrics' `source` label, in every log line of its stages. */
  name: string
  /** The queue's name (the last part of its URL): the metrics' `queue` label. */
  queueName: string
  queueUrl: string
  region: string
  /** null: any bucket ("*"). */
  buckets: readonly string[] | null
  /** bucket_owner: the account that must own each bucket; '*' holds the one for every other bucket. */
  bucketOwners: ReadonlyMap<string, string>
  /** topic_arn: the SNS topics whose envelopes are taken; empty: any. */
  topics: readonly string[]
  /** bucket_region: the region of each bucket named there (the others are learned from S3's redirects). */
  bucketRegions: ReadonlyMap<string, string>
  organization: string
  sqsEndpoint?: string
  s3Endpoint?: string
  s3ForcePathStyle: boolean
  useFipsEndpoint: boolean
  useDualstackEndpoint: boolean
  keyPattern: KeyPattern
  /** drop, keep and redact: compiled in the parse threads, once per thread (workers/rules/). */
  rules: RuleSpec
  pullInterval: number
  pullThreads: number
  visibilityTimeout: number
  waitTime: number
  /** profile: the shared files' profile for the credentials (none with access_key_id). */
  profile?: string
  /** role_arn: the role assumed with the credentials (aws/credentials.ts). */
  roleArn?: string
  roleSessionName: string
  stsEndpoint?: string
  /** Not enumerable: JSON.stringify(source) and loggers never see them. */
  readonly credentials?: Credentials
  readonly externalId?: string
}

/** The whole process's settings; what describes a queue is in `sources` (none for `parse`). */
export interface Config {
  command: Command
  sources: readonly SourceConfig[]
  parseThreads: number
  format: Format
  output: string
  framing: Framing
  tlsCaFile?: string
  tlsInsecure: boolean
  httpBatchBytes: number
  syslog: { pri: number; hostname: string; appName: string }
  maxObjectSize: number
  maxRecordSize: number
  maxDepth: number
  ringSize: number
  maxObjectsInFlight: number
  shutdownTimeout: number
  /** dedup_window: eventIDs remembered per parse thread (workers/dedup.ts); 0: off. */
  dedupWindow: number
  /** state_dir: where the checkpoints are kept (pipeline/checkpoints.ts); undefined: none. */
  stateDir?: string
  metricsPort: number
  metricsHost: string
  queueStatsInterval: number
  logLevel: LogLevel
  statusInterval: number
  statsLogInterval: number
  drain: boolean
  /** The top level's drop, keep and redact rules: parse's, and every source's default (each source has its own in `sources`). */
  rules: RuleSpec
  readonly httpHeaders: Readonly<Record<string, string>>
  /** proxy, no_proxy and the environment's HTTPS_PROXY, HTTP_PROXY, NO_PROXY, for every source (not enumerable: a proxy URL may hold a password). */
  readonly proxy: ProxySettings
}

/** Raw values by setting name: strings, or string lists for list settings. */
export type RawSettings = Record<string, string | string[] | boolean | undefined>

/** What a config file holds: top-level settings, and the `sources` list when it has one. */
export interface ConfigFile {
  settings: RawSettings
  /** Each entry's own settings (scope 'source' only), in the file's order; undefined without a list. */
  sources?: RawSettings[]
}

/**
 * key = value lines (FortiSIEM's phoenix_config.txt style, # comments), or for *.json a JSON object, or
 * for *.yaml / *.yml the same object in YAML (read by the yaml package), either with an optional
 * `sources` list.
 */
export function readConfigFile(path: string): ConfigFile {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError('config', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  let file: ConfigFile
  if (/\.json$/i.test(path)) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (err) {
      // Never JSON.parse's message: it quotes the text around the error, and a secret may be there.
      throw new ConfigError('config', `${path} is not valid JSON${jsonErrorPlace(text, (err as Error).message)}`)
    }
    file = fromDocument(parsed, path)
  } else if (/\.ya?ml$/i.test(path)) {
    // Loaded only for a YAML file: importing the yaml package cost every start 35 ms of the CLI's 140.
    const { parseDocument } = createRequire(import.meta.url)('yaml') as typeof import('yaml')
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true })
    if (doc.errors.length > 0) {
      // Only the place: the yaml package's message quotes the line, and a secret may be there.
      const at = doc.errors[0].linePos?.[0]
      throw new ConfigError('config', `${path} is not valid YAML${at ? ` at line ${at.line}, column ${at.col}` : ''}`)
    }
    file = fromDocument(doc.toJS(), path)
  } else {
    const out: RawSettings = {}
    text.split(/\r?\n/).forEach((line, i) => {
      const trimmed = line.trim()
      if (trimmed === '' || trimmed.startsWith('#')) return
      const eq = trimmed.indexOf('=')
      if (eq <= 0) throw new ConfigError('config', `${path}:${i + 1}: expected "name = value"`)
      const name = trimmed.slice(0, eq).trim()
      const value = trimmed.slice(eq + 1).trim()
      if (name === 'sources') throw new ConfigError('sources', `in ${path}: a list of sources needs a .json or .yaml file`)
      const previous = out[name]
      out[name] = byName.get(name)?.kind === 'list' && previous !== undefined ? [...[previous].flat().map(String), value] : value
    })
    file = { settings: out }
  }
  for (const name of Object.keys(file.settings)) {
    const setting = byName.get(name)
    if (!setting || setting.flagOnly) throw new ConfigError(name, `unknown setting in ${path}`)
  }
  return file
}

/** A parsed JSON or YAML document: an object of settings, with `sources` a list of objects of per-source settings. */
function fromDocument(parsed: unknown, path: string): ConfigFile {
  if (!isPlainObject(parsed)) throw new ConfigError('config', `${path} must hold an object of settings`)
  const { sources, ...top } = parsed
  const file: ConfigFile = { settings: rawValues(top, path, (name) => name) }
  if (sources === undefined) return file
  if (!Array.isArray(sources) || sources.length === 0) throw new ConfigError('sources', `in ${path}: expected a list of one or more sources`)
  file.sources = sources.map((entry, i) => {
    const where = (name: string) => `sources[${i}].${name}`
    if (!isPlainObject(entry)) throw new ConfigError(`sources[${i}]`, `in ${path}: expected an object of settings`)
    // `name` is source_name's spelling inside an entry.
    const { name, ...rest } = entry
    const own = rawValues(name === undefined ? rest : { ...rest, source_name: name }, path, where)
    for (const key of Object.keys(own)) {
      const setting = byName.get(key)
      if (!setting || setting.flagOnly) throw new ConfigError(where(key), `unknown setting in ${path}`)
      if (setting.scope !== 'source') throw new ConfigError(where(key), `is global: set it once at the top level of ${path}, not in a source`)
    }
    return own
  })
  return file
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Scalars as strings, lists as lists of strings: what flags and the environment give too. */
function rawValues(values: Record<string, unknown>, path: string, where: (name: string) => string): RawSettings {
  const out: RawSettings = Object.create(null)
  for (const [name, value] of Object.entries(values)) {
    if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) out[name] = value.map(String)
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[name] = String(value)
    else throw new ConfigError(where(name), `in ${path}: expected a string, number, boolean or list`)
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

/** Lists whose items may hold commas: one item per flag, line or list element. */
const WHOLE_ITEMS = new Set(['http_header', 'drop', 'keep', 'redact'])
const RULE_SETTINGS = new Set(['drop', 'keep', 'redact'])

/** The rules of one source (or of parse), compiled once here so that a bad one stops the start, named. */
function ruleSpec(v: Record<string, string | string[] | number | boolean | undefined>): RuleSpec {
  const spec: RuleSpec = Object.freeze({
    drop: Object.freeze([...((v.drop as string[] | undefined) ?? [])]),
    keep: Object.freeze([...((v.keep as string[] | undefined) ?? [])]),
    redact: Object.freeze([...((v.redact as string[] | undefined) ?? [])]),
  })
  compileRules(spec)
  return spec
}

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
    const list = (Array.isArray(raw) ? raw : [String(raw)]).flatMap((v) => (WHOLE_ITEMS.has(setting.name) ? [v] : v.split(',')))
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

/** A region's shape (the SDK's partitions: us-east-1, cn-north-1, us-gov-west-1, us-iso-east-1, eusc-de-east-1). */
const REGION = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/
const REGION_IN_HOST = '([a-z]{2,4}(?:-[a-z]+)+-\\d{1,2})'
/** sqs.REGION.amazonaws.com, sqs-fips.REGION.…, sqs.REGION.api.aws, REGION.queue.amazonaws.com (legacy), in any partition. */
const SQS_HOST = new RegExp(`^(?:sqs(?:-fips)?\\.${REGION_IN_HOST}\\.|${REGION_IN_HOST}\\.queue\\.)`)
/** Hosts that are AWS's own SQS endpoints, which use_fips_endpoint and use_dualstack_endpoint may replace. */
const AWS_SQS_HOST = new RegExp(`^(?:sqs(?:-fips)?\\.${REGION_IN_HOST}|${REGION_IN_HOST}\\.queue)\\.(?:amazonaws\\.com(?:\\.cn)?|api\\.aws|api\\.amazonwebservices\\.com\\.cn)$`)

/**
 * Queue URL, URL without scheme, or ARN -> { url, region }. An ARN's URL is its region's SQS endpoint (the
 * partition's domain, FIPS, dual-stack) unless sqs_endpoint says; so is a URL on an AWS SQS host when
 * FIPS or dual-stack is asked for, since the SDK sends every request to the queue URL's host.
 */
export function resolveQueue(value: string, sqsEndpointUrl?: string, flags: EndpointFlags = {}): { url: string; region?: string } {
  const arn = /^arn:(aws[\w-]*):sqs:([a-z0-9-]+):(\d{12}):([\w-]+(?:\.fifo)?)$/.exec(value)
  if (arn) {
    const [, partition, region, account, name] = arn
    const expected = partitionOf(region).name
    if (!sqsEndpointUrl && partition !== expected) {
      throw new ConfigError('queue_url', `${JSON.stringify(value)}: region ${region} is in partition ${expected}, not ${partition}`)
    }
    const base = sqsEndpointUrl ? sqsEndpointUrl.replace(/\/+$/, '') : sqsEndpoint(region, flags)
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
  const host = SQS_HOST.exec(url.hostname)
  const region = host?.[1] ?? host?.[2]
  if (region !== undefined && !sqsEndpointUrl && (flags.fips || flags.dualStack) && AWS_SQS_HOST.test(url.hostname)) {
    return { url: `${sqsEndpoint(region, flags)}${url.pathname}`, region }
  }
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

/** An SNS topic's ARN: arn:PARTITION:sns:REGION:ACCOUNT:NAME. */
function topicArn(value: string): string {
  if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}(\.fifo)?$/.test(value)) {
    throw new ConfigError('topic_arn', `expected arn:aws:sns:REGION:ACCOUNT:NAME, got ${JSON.stringify(value)}`)
  }
  return value
}

/** proxySettings' complaint, named after the setting or the variable it is about. */
function proxyConfig(proxy: string | undefined, noProxy: string[] | undefined, env: NodeJS.ProcessEnv): ProxySettings {
  try {
    return proxySettings(proxy, noProxy, env)
  } catch (err) {
    const message = (err as Error).message
    const colon = message.indexOf(': ')
    throw new ConfigError(message.slice(0, colon), message.slice(colon + 2))
  }
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
  return perBucket('bucket_owner', entries, buckets, (entry, bucket, id) => {
    if (!/^\d{12}$/.test(id)) throw new ConfigError('bucket_owner', `expected a 12-digit account id or BUCKET=ID, got ${JSON.stringify(entry)}`)
    return [bucket ?? '*', id]
  }, (bucket) => (bucket === '*' ? 'more than one account id for every bucket' : `more than one account id for ${JSON.stringify(bucket)}`))
}

/**
 * bucket_region entries: `BUCKET=REGION`, with a bucket the collector may read. For a bucket in another
 * region than the queue's (an organization trail's), so that its first GET goes there instead of being
 * redirected.
 */
function bucketRegions(entries: readonly string[], buckets: readonly string[]): Map<string, string> {
  return perBucket('bucket_region', entries, buckets, (entry, bucket, region) => {
    if (!bucket || bucket === '*' || !REGION.test(region)) {
      throw new ConfigError('bucket_region', `expected BUCKET=REGION with a region such as eu-west-1, got ${JSON.stringify(entry)}`)
    }
    return [bucket, region]
  }, (bucket) => `more than one region for ${JSON.stringify(bucket)}`)
}

/**
 * A list of `[BUCKET=]VALUE` entries into a map by bucket ('*': every other bucket): `read` checks an
 * entry (bucket null without `=`), each bucket must be one the collector may read, and named once.
 */
function perBucket(
  setting: string,
  entries: readonly string[],
  buckets: readonly string[],
  read: (entry: string, bucket: string | null, value: string) => [bucket: string, value: string],
  twice: (bucket: string) => string,
): Map<string, string> {
  const map = new Map<string, string>()
  for (const entry of entries) {
    const eq = entry.lastIndexOf('=')
    const [bucket, value] = read(entry, eq < 0 ? null : entry.slice(0, eq).trim(), entry.slice(eq + 1).trim())
    if (bucket !== '*' && !buckets.includes(bucket) && !buckets.includes('*')) throw new ConfigError(setting, `${JSON.stringify(bucket)} is not one of the configured buckets`)
    if (map.has(bucket)) throw new ConfigError(setting, twice(bucket))
    map.set(bucket, value)
  }
  return map
}

/** Parsed values by setting name, for the settings `which` selects, from `raw` over the defaults. */
function parsedValues(raw: RawSettings, which: (s: Setting) => boolean): Record<string, string | string[] | number | boolean | undefined> {
  const v: Record<string, string | string[] | number | boolean | undefined> = {}
  for (const setting of settings) {
    if (!which(setting)) continue
    const value = raw[setting.name] ?? setting.default
    v[setting.name] = value === undefined ? undefined : parseValue(setting, value)
  }
  return v
}

const isSource = (s: Setting) => s.scope === 'source'

/**
 * Merges defaults < file < environment < flags for `command`, validates everything and returns the
 * frozen configuration. Throws ConfigError naming the first bad setting. A file's `sources` list gives
 * each source's own settings over the merged ones (the top level, environment and flags are the default
 * for every source); without one, the merged settings describe the only source.
 */
export function loadConfig(command: Command, flags: RawSettings, env: NodeJS.ProcessEnv = process.env): Config {
  const file: ConfigFile = typeof flags.config === 'string' ? readConfigFile(flags.config) : { settings: {} }
  const merged: RawSettings = { ...file.settings, ...readEnvironment(env) }
  for (const [name, value] of Object.entries(flags)) if (name !== 'config' && value !== undefined) merged[name] = value

  const v = parsedValues(merged, (s) => !isSource(s))
  const sources: SourceConfig[] = []
  if (command === 'run') {
    const entries = file.sources ?? [{}]
    entries.forEach((own, index) => {
      const where = file.sources ? sourcePlace(index, own) : null
      try {
        sources.push(sourceConfig(index, parsedValues({ ...merged, ...own }, isSource), env))
      } catch (err) {
        if (where && err instanceof ConfigError) throw new ConfigError(`sources[${index}].${err.setting}`, `${err.detail} (${where})`)
        throw err
      }
    })
    for (const [what, key] of [['name', (c: SourceConfig) => c.name], ['queue', (c: SourceConfig) => c.queueUrl]] as const) {
      const seen = new Map<string, number>()
      for (const c of sources) {
        const earlier = seen.get(key(c))
        if (earlier !== undefined) {
          throw new ConfigError(`sources[${c.index}].${what === 'name' ? 'name' : 'queue_url'}`, `the same ${what} as sources[${earlier}] (${key(c)}): each source reads its own queue under its own name`)
        }
        seen.set(key(c), c.index)
      }
    }
  }

  const headers = httpHeaders((v.http_header as string[] | undefined) ?? [])
  // Only run reaches AWS: demo's emulator is on loopback, whatever the environment says.
  const proxy = command === 'run' ? proxyConfig(v.proxy as string | undefined, v.no_proxy as string[] | undefined, env) : DIRECT

  const output = v.output as string
  // parseOutput's errors say what is wrong, and show the URL masked.
  const framing: Framing = sinkFraming(output)
  const tlsCaFile = v.tls_ca_file as string | undefined
  if (tlsCaFile !== undefined) readCaBundle(tlsCaFile)
  const parseThreads = v.cloudtrail_file_parse_thread_num as number
  const config: Config = {
    command,
    sources: Object.freeze(sources),
    parseThreads,
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
    maxObjectSize: v.max_object_size as number,
    maxRecordSize: v.max_record_size as number,
    maxDepth: v.max_depth as number,
    ringSize: 2 ** Math.ceil(Math.log2(v.ring_size as number)),
    maxObjectsInFlight: (v.max_objects_in_flight as number | undefined) ?? parseThreads * 2 + 2,
    shutdownTimeout: v.shutdown_timeout as number,
    stateDir: (v.state_dir as string | undefined) || undefined,
    dedupWindow: (v.dedup_window as number | undefined) ?? 0,
    metricsPort: v.metrics_port as number,
    metricsHost: metricsHost(v.metrics_host as string),
    queueStatsInterval: v.queue_stats_interval as number,
    logLevel: v.log_level as LogLevel,
    statusInterval: v.status_interval as number,
    statsLogInterval: v.stats_log_interval as number,
    drain: v.drain as boolean,
    rules: ruleSpec(parsedValues(merged, (s) => RULE_SETTINGS.has(s.name))),
    httpHeaders: {},
    proxy: DIRECT,
  }
  Object.defineProperty(config, 'httpHeaders', { value: Object.freeze(headers), enumerable: false })
  Object.defineProperty(config, 'proxy', { value: proxy, enumerable: false })
  return Object.freeze(config)
}

/** How an error names a source of the list: its index, and its name or queue as the file gives them. */
function sourcePlace(index: number, own: RawSettings): string {
  // A queue URL names no secret but credentials someone put in it (refused, and not shown).
  const queue = typeof own.queue_url === 'string' ? own.queue_url.replace(/\/\/[^/@]*@/, '//***@').slice(0, 256) : null
  const label = typeof own.source_name === 'string' ? own.source_name : queue
  return `source ${index}${label ? `, ${label}` : ''}`
}

/** Whether two sources' settings are the same, secrets and compiled settings included (a reload restarts a source that changed). */
export function sameSource(a: SourceConfig, b: SourceConfig): boolean {
  const key = (c: SourceConfig) =>
    JSON.stringify({
      ...c,
      index: undefined,
      keyPattern: c.keyPattern.source,
      bucketOwners: [...c.bucketOwners],
      bucketRegions: [...c.bucketRegions],
      credentials: c.credentials,
      externalId: c.externalId,
    })
  return key(a) === key(b)
}

/** The global settings that differ between two configurations (a reload applies only the sources). */
export function globalChanges(a: Config, b: Config): string[] {
  // rules: the top level's are every source's default, and a reload applies them through the sources.
  const plain = (c: Config) => ({ ...c, sources: undefined, rules: undefined, httpHeaders: c.httpHeaders, proxy: c.proxy }) as Record<string, unknown>
  const x = plain(a)
  const y = plain(b)
  return Object.keys(x).filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k]))
}

/** The default source name: ACCOUNT/QUEUE from the queue URL's path (unique across accounts, unlike the queue's name). */
export function defaultSourceName(queueUrl: string): string {
  return new URL(queueUrl).pathname.split('/').filter(Boolean).slice(-2).join('/')
}

/** One source's settings, validated; errors name the setting as it is spelt (the caller adds the source). */
function sourceConfig(index: number, v: Record<string, string | string[] | number | boolean | undefined>, env: NodeJS.ProcessEnv): SourceConfig {
  const sqsEndpoint = endpoint(v.sqs_endpoint !== undefined ? 'sqs_endpoint' : 'endpoint', v.sqs_endpoint ?? v.endpoint)
  const s3Endpoint = endpoint(v.s3_endpoint !== undefined ? 's3_endpoint' : 'endpoint', v.s3_endpoint ?? v.endpoint)
  if (v.queue_url === undefined) throw new ConfigError('queue_url', 'required: the SQS queue URL or ARN')
  const endpointFlags = { fips: v.use_fips_endpoint as boolean, dualStack: v.use_dualstack_endpoint as boolean }
  const queue = resolveQueue(v.queue_url as string, sqsEndpoint, endpointFlags)
  const region = (v.region as string | undefined) || queue.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || ''
  if (!region) throw new ConfigError('region', 'required: cannot be derived from queue_url, and AWS_REGION is not set')
  if (!REGION.test(region)) throw new ConfigError('region', `expected a region such as us-east-1, got ${JSON.stringify(region)}`)

  const bucketList = (v.bucket as string[] | undefined) ?? []
  if (bucketList.length === 0) throw new ConfigError('bucket', 'required: the bucket(s) CloudTrail writes to (or "*" to allow any)')
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
  // Alone they would be dropped in silence (role_session_name has a default, and may be every source's).
  if (roleArn === undefined) {
    if (externalId !== undefined) throw new ConfigError('external_id', 'goes with role_arn')
    if (stsEndpoint !== undefined) throw new ConfigError('sts_endpoint', 'goes with role_arn')
  }

  const name = (v.source_name as string | undefined) ?? defaultSourceName(queue.url)
  if (!/^[\x21-\x7e]{1,128}$/.test(name)) throw new ConfigError('source_name', `expected 1 to 128 printable ASCII characters without spaces, got ${JSON.stringify(name)}`)
  const source: SourceConfig = {
    index,
    name,
    queueName: queue.url.split('/').filter(Boolean).pop() ?? '',
    queueUrl: queue.url,
    region,
    buckets: buckets.includes('*') ? null : buckets,
    bucketOwners: bucketOwners((v.bucket_owner as string[] | undefined) ?? [], buckets),
    bucketRegions: bucketRegions((v.bucket_region as string[] | undefined) ?? [], buckets),
    topics: ((v.topic_arn as string[] | undefined) ?? []).map(topicArn),
    organization: v.organization as string,
    sqsEndpoint,
    s3Endpoint,
    s3ForcePathStyle: (v.s3_force_path_style as boolean | undefined) ?? s3Endpoint !== undefined,
    useFipsEndpoint: endpointFlags.fips,
    useDualstackEndpoint: endpointFlags.dualStack,
    keyPattern: compileKeyPattern(v.key_pattern as string),
    rules: ruleSpec(v),
    pullInterval: v.cloudtrail_msg_pull_interval as number,
    pullThreads: v.cloudtrail_msg_pull_thread_num as number,
    visibilityTimeout: v.visibility_timeout as number,
    waitTime: v.wait_time as number,
    ...(profile !== undefined ? { profile } : {}),
    ...(roleArn !== undefined ? { roleArn } : {}),
    roleSessionName,
    ...(stsEndpoint !== undefined ? { stsEndpoint } : {}),
  }
  if (externalId !== undefined) Object.defineProperty(source, 'externalId', { value: externalId, enumerable: false })
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    const credentials: Credentials = { accessKeyId, secretAccessKey }
    if (v.session_token !== undefined) credentials.sessionToken = v.session_token as string
    Object.defineProperty(source, 'credentials', { value: Object.freeze(credentials), enumerable: false })
  }
  return Object.freeze(source)
}
