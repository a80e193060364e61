// Every failure and skip the collector reports is one row of this table, and nothing else names them:
// the error counter's labels (cloudtrail_errors_total{stage,reason}, every row with a stage exported at 0
// from the start: observe/metrics.ts), the stages and codes of log lines, the reasons the parse workers
// count skipped records under (SkipReason), and the README's table of errors (test/readme.test.ts fails
// when it disagrees). Tests match on `code`, metrics label on `stage` and `reason`. `fate` says what
// becomes of the SQS message.

/** cloudtrail_errors_total{stage}: where in the pipeline it happened. */
export const ERROR_STAGES = ['notification', 's3', 'object', 'record', 'sqs', 'sink', 'credentials'] as const
export type ErrorStage = (typeof ERROR_STAGES)[number]

/** What becomes of the SQS message, by fate (the README's table says it so). */
export const FATES = {
  // deleted, or left for SQS to move when the queue has a redrive policy (acker.ts)
  permanent: 'deleted, or left for the dead-letter queue',
  // left in the queue, made visible again after a backoff (or handed back at once), to come again
  retry: 'kept: it comes back',
  // deleted at once, whatever the redrive policy: it carries nothing to retry
  deleted: 'deleted',
  // the rest of the object is written, and the message deleted once it is confirmed
  skipped: 'goes on without the record',
  counted: 'goes on',
  fatal: 'none: the collector does not start',
} as const
export type Fate = keyof typeof FATES

interface Row {
  /** null: never counted (the collector stops before there is a pipeline). */
  readonly stage: ErrorStage | null
  /** Short snake_case label: cloudtrail_errors_total{reason}. */
  readonly reason: string
  readonly fate: Fate
  /** What it is, for the README's table. */
  readonly about: string
}

const table = {
  // start-up
  ERR_CONFIG: { stage: null, reason: 'config', fate: 'fatal', about: 'a setting fails validation (exit status 2)' },
  ERR_SQS: { stage: null, reason: 'sqs', fate: 'fatal', about: "the queue's attributes cannot be read at start (no such queue, access denied, bad credentials)" },
  ERR_STATE: { stage: null, reason: 'state', fate: 'fatal', about: "`state_dir`'s checkpoint store cannot be opened at start (not writable, in use by another collector, `node:sqlite` missing)" },
  // SQS message bodies
  ERR_NOTIFICATION_NOT_JSON: { stage: 'notification', reason: 'notification_not_json', fate: 'permanent', about: 'the body (or its SNS Message) is not JSON' },
  ERR_NOTIFICATION_UNKNOWN: { stage: 'notification', reason: 'notification_unknown', fate: 'permanent', about: 'JSON of no known notification shape' },
  ERR_NOTIFICATION_INVALID: { stage: 'notification', reason: 'notification_invalid', fate: 'permanent', about: 'a known shape with the wrong types' },
  ERR_NOTIFICATION_TOO_LARGE: { stage: 'notification', reason: 'notification_too_large', fate: 'permanent', about: 'a body larger than 1 MiB' },
  // Anyone who can publish to the queue must not be able to make the collector read other buckets.
  ERR_BUCKET_NOT_ALLOWED: { stage: 'notification', reason: 'bucket_not_allowed', fate: 'permanent', about: 'a bucket not configured (never fetched)' },
  // topic_arn narrows the envelopes taken to those topics. The TopicArn of an envelope is what its writer
  // says: a filter for a queue fed by several topics, not a defence (the queue policy is).
  ERR_NOTIFICATION_TOPIC: { stage: 'notification', reason: 'topic_not_allowed', fate: 'permanent', about: 'an SNS envelope from a topic not in `topic_arn` (never fetched)' },
  ERR_KEY_TOO_LONG: { stage: 'notification', reason: 'key_too_long', fate: 'permanent', about: "a key longer than S3's 1,024 bytes (never fetched)" },
  ERR_KEY_UNSAFE: { stage: 'notification', reason: 'key_unsafe', fate: 'permanent', about: 'a key with a `.` or `..` segment or a leading `/` (never fetched)' },
  ERR_NOTIFICATION_DUPLICATE_KEY: { stage: 'notification', reason: 'duplicate_key', fate: 'counted', about: 'a key named twice in one message (fetched once)' },
  // A cross-account subscription waits for its owner to confirm it; the message itself carries no data.
  ERR_NOTIFICATION_SUBSCRIPTION: { stage: 'notification', reason: 'subscription_confirmation', fate: 'deleted', about: 'an SNS SubscriptionConfirmation (confirm it in the SNS console)' },
  // S3. Only S3's own NoSuchKey is permanent: a missing bucket or a bare 404 is what a wrong endpoint or
  // region answers for every object, and must not delete every message.
  ERR_S3_NO_SUCH_KEY: { stage: 's3', reason: 'no_such_key', fate: 'permanent', about: "S3's own `NoSuchKey`" },
  ERR_S3_NO_SUCH_BUCKET: { stage: 's3', reason: 'no_such_bucket', fate: 'retry', about: '`NoSuchBucket` (what a wrong region or endpoint says of every bucket)' },
  ERR_S3_ACCESS_DENIED: { stage: 's3', reason: 'access_denied', fate: 'retry', about: '`AccessDenied` (no `s3:GetObject`, or a missing key without `s3:ListBucket`)' },
  // SSE-KMS: S3 answers 403 AccessDenied naming kms:Decrypt (and often the key), or a KMS.* code of KMS's.
  ERR_S3_KMS_DENIED: { stage: 's3', reason: 'kms_access_denied', fate: 'retry', about: "the object's KMS key refuses `kms:Decrypt` to the collector, or is disabled or gone (`KMS.*` codes)" },
  // The bucket answers, but is not owned by bucket_owner (taken over, or bucket_owner is wrong).
  ERR_S3_WRONG_OWNER: { stage: 's3', reason: 'bucket_owner_mismatch', fate: 'retry', about: 'a bucket not owned by `bucket_owner`' },
  ERR_S3_TRANSIENT: { stage: 's3', reason: 's3_transient', fate: 'retry', about: '5xx, throttling, network errors, timeouts, a 404 or 403 without an S3 error code, a body cut short, a redirect naming no region or a second one' },
  // object contents
  ERR_OBJECT_NOT_GZIP: { stage: 'object', reason: 'not_gzip', fate: 'permanent', about: 'the object is not gzip' },
  ERR_OBJECT_CORRUPT_GZIP: { stage: 'object', reason: 'corrupt_gzip', fate: 'permanent', about: 'corrupt gzip' },
  ERR_OBJECT_TRUNCATED: { stage: 'object', reason: 'truncated', fate: 'permanent', about: 'the gzip stream ends early' },
  ERR_OBJECT_TOO_LARGE: { stage: 'object', reason: 'too_large', fate: 'permanent', about: 'inflates beyond `max_object_size`' },
  ERR_OBJECT_NOT_JSON: { stage: 'object', reason: 'not_json', fate: 'permanent', about: 'the document is not JSON' },
  ERR_OBJECT_NO_RECORDS: { stage: 'object', reason: 'no_records', fate: 'permanent', about: 'the document has no `Records`' },
  ERR_OBJECT_RECORDS_NOT_ARRAY: { stage: 'object', reason: 'records_not_array', fate: 'permanent', about: '`Records` is not an array' },
  ERR_WORKER: { stage: 'object', reason: 'worker', fate: 'retry', about: 'a parse thread dies or throws on the object' },
  // A parse worker failing on the same object on several receives of its message (processor.ts,
  // WORKER_FAILURE_RECEIVES): the object's doing, not the moment's.
  ERR_WORKER_REPEATED: { stage: 'object', reason: 'worker_repeated', fate: 'permanent', about: 'a parse thread fails on the object from the third receive of its message' },
  ERR_SHUTDOWN: { stage: 'object', reason: 'shutdown', fate: 'retry', about: '`shutdown_timeout` cuts the object short (its message goes back at once)' },
  // records, left out of an object that is otherwise written (the parse workers count them: SkipReason)
  ERR_RECORD_NOT_OBJECT: { stage: 'record', reason: 'non_object', fate: 'skipped', about: 'a record that is not an object' },
  ERR_RECORD_TOO_LARGE: { stage: 'record', reason: 'record_too_large', fate: 'skipped', about: 'a record larger than `max_record_size`, as written or once formatted' },
  ERR_RECORD_TOO_DEEP: { stage: 'record', reason: 'record_too_deep', fate: 'skipped', about: 'a record nested deeper than `max_depth`' },
  ERR_RECORD_NOT_JSON: { stage: 'record', reason: 'record_not_json', fate: 'skipped', about: 'a record that is not JSON' },
  ERR_RECORD_INVALID_UTF8: { stage: 'record', reason: 'invalid_utf8', fate: 'counted', about: 'invalid UTF-8 in a record (written with U+FFFD)' },
  // SQS calls; the log line carries SQS's own error code
  ERR_SQS_RECEIVE: { stage: 'sqs', reason: 'receive_failed', fate: 'counted', about: '`ReceiveMessage` fails (retried with backoff)' },
  ERR_SQS_RECEIVE_OVERFLOW: { stage: 'sqs', reason: 'receive_overflow', fate: 'retry', about: 'a receive returns more messages than asked for (the extra ones go back at once)' },
  ERR_SQS_DELETE: { stage: 'sqs', reason: 'delete_failed', fate: 'counted', about: '`DeleteMessageBatch` fails (retried)' },
  ERR_SQS_DELETE_REFUSED: { stage: 'sqs', reason: 'delete_refused', fate: 'counted', about: 'SQS refuses a delete (the receipt handle expired: the message comes again)' },
  ERR_SQS_VISIBILITY: { stage: 'sqs', reason: 'visibility_failed', fate: 'counted', about: 'a visibility change (heartbeat, hand-back, backoff) fails: the message comes back when its visibility runs out' },
  ERR_SQS_VISIBILITY_REFUSED: { stage: 'sqs', reason: 'visibility_refused', fate: 'counted', about: 'SQS refuses to extend the visibility of a message in flight' },
  ERR_SQS_QUEUE_ATTRIBUTES: { stage: 'sqs', reason: 'queue_attributes_failed', fate: 'counted', about: '`GetQueueAttributes` fails (the queue gauges keep their last values)' },
  // sinks
  ERR_SINK: { stage: 'sink', reason: 'sink', fate: 'retry', about: 'the sink fails to write or confirm' },
  ERR_SINK_CLOSED: { stage: 'sink', reason: 'sink_closed', fate: 'retry', about: 'a write to a sink that is closed' },
  // A record the destination refuses for good (HTTP 413 for one record): not permanent, so that its message
  // is kept (retried, or moved to the dead-letter queue) rather than deleted.
  ERR_SINK_REJECTED: { stage: 'sink', reason: 'sink_rejected', fate: 'retry', about: 'the HTTP destination refuses a single record as too large (413)' },
  // A source's credentials: AssumeRole of its role_arn (aws/credentials.ts), counted once per call to STS,
  // not per request that waited on it. The GETs and receives that needed them fail as their own stage says.
  ERR_STS_ASSUME_ROLE: { stage: 'credentials', reason: 'assume_role_failed', fate: 'retry', about: '`AssumeRole` of `role_arn` fails (a trust policy or `external_id` refused, STS unreachable): old credentials are served until they expire' },
} as const satisfies Record<`ERR_${string}`, Row>

type Table = typeof table
export type ErrorCode = keyof Table
/** Every reason of cloudtrail_errors_total. */
export type ErrorReason = Table[ErrorCode]['reason']
/** The codes a parse worker counts as records left out, and their reasons (the keys of its skip counts). */
export type SkipCode = { [C in ErrorCode]: Table[C]['fate'] extends 'skipped' ? C : never }[ErrorCode]
export type SkipReason = Table[SkipCode]['reason']

export interface ErrorInfo {
  /** Stable identifier, e.g. ERR_OBJECT_NOT_GZIP. */
  readonly code: ErrorCode
  readonly stage: ErrorStage | null
  readonly reason: ErrorReason
  readonly fate: Fate
  /** The message is given up: deleted, or left for the dead-letter queue (fate 'permanent'). */
  readonly permanent: boolean
  readonly about: string
}

/** Every row, in the table's order (stage by stage: the order the counters are exported in). */
export const ERRORS: readonly ErrorInfo[] = Object.entries(table).map(([code, row]) =>
  Object.freeze({ code: code as ErrorCode, ...row, permanent: row.fate === 'permanent' }),
)

const byCode = new Map(ERRORS.map((e) => [e.code, e]))

export function errorInfo(code: ErrorCode): ErrorInfo {
  return byCode.get(code)!
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(table, code)
}

/** The code of a record skip a parse worker counted under `reason`. */
export const SKIP_CODES: Readonly<Record<SkipReason, SkipCode>> = Object.fromEntries(
  ERRORS.filter((e) => e.fate === 'skipped').map((e) => [e.reason, e.code]),
) as Record<SkipReason, SkipCode>

export interface ErrorContext {
  bucket?: string
  key?: string
  setting?: string
  messageId?: string
  cause?: unknown
}

export class CollectorError extends Error {
  readonly code: ErrorCode
  readonly stage: ErrorStage | null
  readonly reason: ErrorReason
  readonly permanent: boolean
  readonly bucket?: string
  readonly key?: string
  readonly setting?: string
  readonly messageId?: string

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause })
    this.name = 'CollectorError'
    const info = errorInfo(code)
    this.code = code
    this.stage = info.stage
    this.reason = info.reason
    this.permanent = info.permanent
    if (context.bucket !== undefined) this.bucket = context.bucket
    if (context.key !== undefined) this.key = context.key
    if (context.setting !== undefined) this.setting = context.setting
    if (context.messageId !== undefined) this.messageId = context.messageId
  }
}

/** A setting failed validation: the message names it; the CLI exits with status 2. */
export class ConfigError extends CollectorError {
  /** The setting at fault, as a user spells it (`sources[1].bucket` inside a list of sources). */
  declare readonly setting: string
  /** What is wrong with it, without the setting's name. */
  readonly detail: string

  // No parameter properties: Node's type stripping (the suites import src/ as it is) takes none.
  constructor(setting: string, detail: string) {
    super('ERR_CONFIG', `${setting}: ${detail}`, { setting })
    this.detail = detail
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
