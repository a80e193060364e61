// Every failure the collector reports is one of these codes. Tests match on `code`, metrics label on
// `reason`, logs carry both. `permanent` decides what happens to the SQS message: a permanent failure is
// counted and the message deleted (or left for the dead-letter queue when the queue has a redrive
// policy); anything else leaves the message in the queue, to come back after its visibility timeout.

export interface ErrorInfo {
  /** Stable identifier, e.g. ERR_OBJECT_NOT_GZIP. */
  readonly code: string
  /** Short snake_case label used in metrics: cloudtrail_errors_total{reason}. */
  readonly reason: string
  readonly permanent: boolean
}

const table = {
  // configuration
  ERR_CONFIG: { reason: 'config', permanent: true },
  // SQS message bodies
  ERR_NOTIFICATION_NOT_JSON: { reason: 'notification_not_json', permanent: true },
  ERR_NOTIFICATION_UNKNOWN: { reason: 'notification_unknown', permanent: true },
  ERR_NOTIFICATION_INVALID: { reason: 'notification_invalid', permanent: true },
  ERR_NOTIFICATION_TOO_LARGE: { reason: 'notification_too_large', permanent: true },
  ERR_BUCKET_NOT_ALLOWED: { reason: 'bucket_not_allowed', permanent: true },
  ERR_KEY_TOO_LONG: { reason: 'key_too_long', permanent: true },
  ERR_KEY_UNSAFE: { reason: 'key_unsafe', permanent: true },
  // S3. Only S3's own NoSuchKey is permanent: a missing bucket or a bare 404 is what a wrong endpoint or
  // region answers for every object, and must not delete every message.
  ERR_S3_NO_SUCH_KEY: { reason: 'no_such_key', permanent: true },
  ERR_S3_NO_SUCH_BUCKET: { reason: 'no_such_bucket', permanent: false },
  ERR_S3_ACCESS_DENIED: { reason: 'access_denied', permanent: false },
  // The bucket answers, but is not owned by bucket_owner (taken over, or bucket_owner is wrong).
  ERR_S3_WRONG_OWNER: { reason: 'bucket_owner_mismatch', permanent: false },
  ERR_S3_TRANSIENT: { reason: 's3_transient', permanent: false },
  // object contents
  ERR_OBJECT_NOT_GZIP: { reason: 'not_gzip', permanent: true },
  ERR_OBJECT_CORRUPT_GZIP: { reason: 'corrupt_gzip', permanent: true },
  ERR_OBJECT_TRUNCATED: { reason: 'truncated', permanent: true },
  ERR_OBJECT_TOO_LARGE: { reason: 'too_large', permanent: true },
  ERR_OBJECT_NOT_JSON: { reason: 'not_json', permanent: true },
  ERR_OBJECT_NO_RECORDS: { reason: 'no_records', permanent: true },
  ERR_OBJECT_RECORDS_NOT_ARRAY: { reason: 'records_not_array', permanent: true },
  ERR_RECORD_TOO_LARGE: { reason: 'record_too_large', permanent: true },
  ERR_RECORD_TOO_DEEP: { reason: 'record_too_deep', permanent: true },
  // SQS and sinks
  ERR_SQS: { reason: 'sqs', permanent: false },
  ERR_SINK: { reason: 'sink', permanent: false },
  ERR_SINK_CLOSED: { reason: 'sink_closed', permanent: false },
  // A record the destination refuses for good (HTTP 413 for one record): not permanent, so that its message
  // is kept (retried, or moved to the dead-letter queue) rather than deleted.
  ERR_SINK_REJECTED: { reason: 'sink_rejected', permanent: false },
  ERR_WORKER: { reason: 'worker', permanent: false },
  // A parse worker failing on the same object on several receives of its message (processor.ts,
  // WORKER_FAILURE_RECEIVES): the object's doing, not the moment's.
  ERR_WORKER_REPEATED: { reason: 'worker_repeated', permanent: true },
  ERR_SHUTDOWN: { reason: 'shutdown', permanent: false },
} as const satisfies Record<string, { reason: string; permanent: boolean }>

export type ErrorCode = keyof typeof table

export function errorInfo(code: ErrorCode): ErrorInfo {
  return { code, ...table[code] }
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(table, code)
}

export interface ErrorContext {
  bucket?: string
  key?: string
  setting?: string
  messageId?: string
  cause?: unknown
}

export class CollectorError extends Error {
  readonly code: ErrorCode
  readonly reason: string
  readonly permanent: boolean
  readonly bucket?: string
  readonly key?: string
  readonly setting?: string
  readonly messageId?: string

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause })
    this.name = 'CollectorError'
    this.code = code
    this.reason = table[code].reason
    this.permanent = table[code].permanent
    if (context.bucket !== undefined) this.bucket = context.bucket
    if (context.key !== undefined) this.key = context.key
    if (context.setting !== undefined) this.setting = context.setting
    if (context.messageId !== undefined) this.messageId = context.messageId
  }
}

/** A setting failed validation: the message names it; the CLI exits with status 2. */
export class ConfigError extends CollectorError {
  constructor(setting: string, message: string) {
    super('ERR_CONFIG', `${setting}: ${message}`, { setting })
    this.name = 'ConfigError'
  }
}

export function isCollectorError(err: unknown): err is CollectorError {
  return err instanceof CollectorError
}

/** The code of any error, for logs: ours, Node's (ECONNRESET) or the AWS SDK's (name). */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof CollectorError) return { code: err.code, message: err.message }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    return { code: typeof code === 'string' ? code : err.name, message: err.message }
  }
  return { code: 'UNKNOWN', message: String(err) }
}
