// CloudTrail log files as CloudTrail writes them: a compact `{"Records":[…]}` document, gzipped, under
//   [prefix/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_<16 base62>.json.gz
// and announced by CloudTrail's SNS message {"s3Bucket":"…","s3ObjectKey":["…"]}.

import { gzipSync } from 'node:zlib'
import { base62 } from './random.ts'
import type { RecordGenerator } from './records.ts'

export interface LogFileOptions {
  /** Records in the file (0 gives `{"Records":[]}`). */
  records: number
  account: string
  region: string
  /** Delivery time: names the file; the records' eventTimes fall in the five minutes before it. */
  time: Date
  /** Organization trails add `o-…/` after `AWSLogs/`. */
  organizationId?: string
  /** The trail's S3 key prefix, without a trailing slash. */
  prefix?: string
}

export interface KeyOptions {
  account: string
  region: string
  time: Date
  organizationId?: string
  prefix?: string
  /** Source of the 16-character suffix; pass the generator's `random` so keys are reproducible. */
  random: () => number
}

export interface LogFile {
  key: string
  /** The gzipped document (zlib level 6). */
  body: Buffer
  /** The uncompressed document. */
  json: string
  records: number
}

/** CloudTrail delivers about every five minutes and stamps the file name with a five-minute boundary. */
const DELIVERY_MS = 5 * 60_000
/** logFileChunks yields pieces of about this many characters (measured: 64 KiB keeps gzip busy without piling up strings). */
const CHUNK_CHARS = 64 * 1024
const HEAD = '{"Records":['
const TAIL = ']}'

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n

export function logFileKey(o: KeyOptions): string {
  checkPlace(o)
  if (typeof o.random !== 'function') throw new TypeError('random must be a function returning numbers in [0, 1)')
  const t = new Date(Math.floor(o.time.getTime() / DELIVERY_MS) * DELIVERY_MS)
  const yyyy = String(t.getUTCFullYear()).padStart(4, '0'), mm = pad2(t.getUTCMonth() + 1), dd = pad2(t.getUTCDate())
  const stamp = `${yyyy}${mm}${dd}T${pad2(t.getUTCHours())}${pad2(t.getUTCMinutes())}Z`
  const folder = `${o.prefix ? o.prefix + '/' : ''}AWSLogs/${o.organizationId ? o.organizationId + '/' : ''}${o.account}/CloudTrail/${o.region}/${yyyy}/${mm}/${dd}/`
  return `${folder}${o.account}_CloudTrail_${o.region}_${stamp}_${base62(o.random, 16)}.json.gz`
}

/**
 * Builds a whole file in memory. The records are drawn first and the key after, so that
 * `logFileChunks` on a generator in the same state yields exactly `json`.
 */
export function buildLogFile(gen: RecordGenerator, o: LogFileOptions): LogFile {
  checkFile(o)
  const parts: string[] = []
  for (const s of records(gen, o)) parts.push(s)
  const json = HEAD + parts.join(',') + TAIL
  const key = logFileKey({ ...o, random: gen.random })
  return { key, body: gzipSync(json, { level: 6 }), json, records: o.records }
}

/**
 * The uncompressed document in pieces of about 64 KiB (`{"Records":[` first, `]}` last), never holding
 * more than one piece, so that a caller can pipe a file of any size through gzip.
 */
export async function* logFileChunks(gen: RecordGenerator, o: LogFileOptions): AsyncGenerator<Buffer> {
  checkFile(o)
  let piece = HEAD
  let first = true
  for (const s of records(gen, o)) {
    piece += first ? s : ',' + s
    first = false
    if (piece.length >= CHUNK_CHARS) {
      yield Buffer.from(piece)
      piece = ''
    }
  }
  yield Buffer.from(piece + TAIL)
}

/** CloudTrail's SNS message for delivered files. CloudTrail does not URL-encode the keys. */
export function cloudTrailNotification(bucket: string, keys: string[]): string {
  if (typeof bucket !== 'string' || bucket.length === 0) throw new TypeError('bucket must be a non-empty string')
  if (!Array.isArray(keys) || keys.length === 0) throw new TypeError('keys must be a non-empty array')
  for (const k of keys) if (typeof k !== 'string' || k.length === 0) throw new TypeError('keys must be non-empty strings')
  return JSON.stringify({ s3Bucket: bucket, s3ObjectKey: keys })
}

/** The records, serialized, with eventTimes spread evenly over the delivery window before `o.time`. */
function* records(gen: RecordGenerator, o: LogFileOptions): Generator<string> {
  const end = o.time.getTime()
  const step = o.records > 0 ? DELIVERY_MS / o.records : 0
  const place = { account: o.account, region: o.region }
  for (let i = 0; i < o.records; i++) yield JSON.stringify(gen.next(new Date(end - DELIVERY_MS + i * step), place))
}

function checkPlace(o: { account: unknown; region: unknown; time: unknown; organizationId?: unknown; prefix?: unknown }): void {
  if (typeof o.account !== 'string' || !/^\d{12}$/.test(o.account)) throw new RangeError(`account must be a 12-digit account id, got ${JSON.stringify(o.account)}`)
  if (typeof o.region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(o.region)) throw new RangeError(`region must be a region name such as us-east-1, got ${JSON.stringify(o.region)}`)
  if (!(o.time instanceof Date) || !Number.isFinite(o.time.getTime())) throw new RangeError('time must be a valid Date')
  if (o.organizationId !== undefined && (typeof o.organizationId !== 'string' || !/^o-[a-z0-9]{10,32}$/.test(o.organizationId))) {
    throw new RangeError(`organizationId must look like o-a1b2c3d4e5, got ${JSON.stringify(o.organizationId)}`)
  }
  if (o.prefix !== undefined && (typeof o.prefix !== 'string' || o.prefix.startsWith('/') || o.prefix.endsWith('/'))) {
    throw new RangeError(`prefix must be a string without a leading or trailing slash, got ${JSON.stringify(o.prefix)}`)
  }
}

function checkFile(o: LogFileOptions): void {
  if (!Number.isSafeInteger(o.records) || o.records < 0) throw new RangeError(`records must be a non-negative integer, got ${String(o.records)}`)
  checkPlace(o)
}
