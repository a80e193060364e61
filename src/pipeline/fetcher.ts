// S3 GETs on the main thread, asynchronous, through the lean client of s3-client.ts over a keep-alive
// pool (aws.ts). Small objects are read whole into one buffer of their own (transferred to a worker,
// never copied again); larger ones, and answers that do not say their size, are handed over as a stream
// of 256 KiB chunks, so no object is held whole because it is large. The bytes are counted as they are
// read, whatever the answer claims. What each answer means for the message is decided here (s3Error).

import type { S3Client } from '@aws-sdk/client-s3'
import type { Dispatcher } from 'undici'
import { CollectorError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { ObjectRef } from './notifications.ts'
import { WHOLE_OBJECT_BYTES, type ObjectInput } from './pool.ts'
import { S3Error, S3ObjectClient } from '../aws/s3-client.ts'
import { S3_OBJECT, withRetry } from '../retry.ts'

const STREAM_CHUNK = 256 << 10
/** What a log quotes of a header from whoever answered (a proxy's Server header, say). */
const HEADER_CHARS = 80
/** KMS keys remembered as logged; beyond that the memory starts again. */
const KMS_KEYS_LOGGED = 64

export interface FetcherOptions {
  /** Called with the compressed bytes as they are read (cloudtrail_s3_bytes_total). */
  onBytes?: (bytes: number) => void
  /** bucket_owner: the account each bucket must belong to, sent as ExpectedBucketOwner; '*' for any other bucket. */
  owners?: ReadonlyMap<string, string>
  /** Where the GETs go, for messages: s3_endpoint, or S3's regional endpoint. */
  endpoint?: string
  wholeObjectBytes?: number
  /** Where the requests go (aws.ts: a keep-alive pool sized to the objects in flight); by default a pool of the client's own. */
  dispatcher?: Dispatcher
  /** bucket_region: the region of each bucket not in the S3 client's; the others' are learned from S3's redirects. */
  regions?: ReadonlyMap<string, string>
  /** A redirect taught the client a bucket's region (cloudtrail_s3_region_redirects_total); it is logged here. */
  onRegionRedirect?: () => void
}

export interface Opened {
  /** The answer's Content-Length; null when it gave none (the body is then streamed). */
  size: number | null
  input: ObjectInput
  /** The answer's ETag (null: none): what the object's checkpoint is kept under, with its bucket and key. */
  etag: string | null
}

function s3Error(err: unknown, ref: ObjectRef, endpoint: string): CollectorError {
  const context = { bucket: ref.bucket, key: ref.key, cause: err }
  if (!(err instanceof S3Error)) {
    // The network (a reset, a timeout, a refused connection), or a body cut short.
    const e = err as { code?: unknown; name?: string; message?: string }
    const name = typeof e.code === 'string' ? e.code : (e.name ?? 'error')
    return new CollectorError('ERR_S3_TRANSIENT', `S3 GET failed: ${name}: ${e.message ?? String(err)}`, context)
  }
  const { code, status } = err
  if (err.redirect) return new CollectorError('ERR_S3_TRANSIENT', redirectMessage(err, ref), context)
  if (code !== undefined && isKmsRefusal(code, status, err.message)) {
    const key = kmsKeyOf(err.message)
    // KMS.DisabledException, KMS.NotFoundException, KMS.KMSInvalidStateException: the key itself, not a permission.
    const keyState = code.startsWith('KMS.') && code !== 'KMS.AccessDeniedException'
    const what = keyState ? `KMS refused the object's key (${code})` : "kms:Decrypt denied on the object's KMS key"
    const fix = keyState ? 'the key must be enabled, and kms:Decrypt allowed on it' : "allow kms:Decrypt on it to the collector's role"
    return new CollectorError(
      'ERR_S3_KMS_DENIED',
      `${what}${key ? ` ${key}` : ''}: ${fix}, in the role's policy and the key policy (SSE-KMS)${err.message ? `; S3 said: ${err.message}` : ''}`,
      context,
    )
  }
  if (code === 'NoSuchKey') return new CollectorError('ERR_S3_NO_SUCH_KEY', 'the object does not exist', context)
  if (code === 'NoSuchBucket') return new CollectorError('ERR_S3_NO_SUCH_BUCKET', `the bucket does not exist at ${endpoint} (wrong region or s3_endpoint?)`, context)
  if (status === 403 && code) {
    return new CollectorError('ERR_S3_ACCESS_DENIED', `access denied (${code}): check s3:GetObject on the bucket; without s3:ListBucket, S3 answers a missing key so too`, context)
  }
  if ((status === 404 || status === 403) && !code) {
    // Not S3 speaking: a proxy, a wrong s3_endpoint, an S3-compatible store's router. Nothing says the
    // object is missing, so this is retried and never deletes the message.
    const { server, 'content-type': type } = err.headers
    const from = [typeof server === 'string' && `server ${server}`, typeof type === 'string' && `content-type ${type}`].filter(Boolean).join(', ').slice(0, HEADER_CHARS)
    return new CollectorError('ERR_S3_TRANSIENT', `HTTP ${status} without an S3 error code from ${endpoint}${from ? ` (${from})` : ''}: is s3_endpoint right, or a proxy in the way?`, context)
  }
  return new CollectorError('ERR_S3_TRANSIENT', `S3 GET failed: ${code ?? 'no S3 error code'} (HTTP ${status})${err.message ? `: ${err.message}` : ''}`, context)
}

/** A redirect the client did not follow: it names no region, or the one the request was sent to (a loop). */
function redirectMessage(err: S3Error, ref: ObjectRef): string {
  const answer = `${err.code ?? 'no S3 error code'}, HTTP ${err.status}`
  const fix = `set bucket_region = ${ref.bucket}=REGION (or check s3_endpoint)`
  const to = err.redirectRegion
  if (err.followed !== undefined) return `S3 redirected the GET${to ? ` to ${to}` : ''} after it was sent to ${err.followed} (${answer}), a loop: ${fix}`
  return `S3 redirected the GET (${answer}) without naming the bucket's region: ${fix}`
}

/** An SSE-KMS object whose key may not be used: KMS's own codes, or S3's 403 naming a kms: action. */
function isKmsRefusal(code: string, status: number, message: string): boolean {
  return code.startsWith('KMS.') || (status === 403 && /\bkms:[A-Za-z]+/.test(message))
}

/** The key's ARN when S3's message names it ("… kms:Decrypt on resource: arn:aws:kms:REGION:ACCOUNT:key/ID"). */
function kmsKeyOf(message: string): string | undefined {
  return /\barn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:(?:key|alias)\/[\w/-]+/.exec(message)?.[0]
}

/** A signature refused for a skewed clock, once S3's answer has set our clock right. */
function skewCorrected(e: CollectorError): boolean {
  return e.cause instanceof S3Error && e.cause.skewCorrected
}

/** What the S3 policy tries again: a transient failure, or a signature refused before our clock was set by S3's. */
function retryableS3(err: unknown): boolean {
  return err instanceof CollectorError && (err.code === 'ERR_S3_TRANSIENT' || skewCorrected(err))
}

export class Fetcher {
  private readonly client: S3ObjectClient
  private readonly onBytes: (bytes: number) => void
  private readonly owners: ReadonlyMap<string, string>
  private readonly endpoint: string
  private readonly wholeObjectBytes: number
  /** The KMS keys already named in a log (null: a refusal that named none). */
  private readonly kmsKeysLogged = new Set<string | null>()

  /** `s3`: the SDK client whose configuration (credentials, region, endpoint, path style) the GETs follow. */
  constructor(
    s3: S3Client,
    private readonly log: Logger,
    options: FetcherOptions = {},
  ) {
    const onRegionRedirect = options.onRegionRedirect ?? (() => {})
    this.client = new S3ObjectClient(s3, {
      dispatcher: options.dispatcher,
      bucketRegions: options.regions,
      onRegionRedirect: ({ bucket, from, to }) => {
        this.log.info({ stage: 's3', bucket, from, to }, 'the bucket is in another region: its GETs go there (bucket_region spares the redirect)')
        onRegionRedirect()
      },
    })
    this.onBytes = options.onBytes ?? (() => {})
    this.owners = options.owners ?? new Map()
    this.endpoint = options.endpoint ?? 'S3'
    this.wholeObjectBytes = options.wholeObjectBytes ?? WHOLE_OBJECT_BYTES
  }

  /**
   * Starts the GET; throws CollectorError (ERR_S3_…) when the object cannot be had. A transient failure
   * (5xx, throttling, resets, a body cut short, a bare 404, a clock S3 corrected) is tried again under the
   * S3 policy (retry.ts); beyond it the message goes back to the queue. The policy costs 2–6 µs of
   * main-thread CPU per object that succeeds at once (tinybench, Node 24: withRetry around a resolved GET
   * against a bare await), next to the 295–465 µs of the GET itself (s3-client.ts).
   */
  async open(ref: ObjectRef, signal?: AbortSignal): Promise<Opened> {
    const owner = this.owners.get(ref.bucket) ?? this.owners.get('*')
    const get = async () => {
      try {
        return await this.client.get(ref.bucket, ref.key, { owner, signal, wholeBytes: this.wholeObjectBytes, chunkBytes: STREAM_CHUNK, onBytes: this.onBytes })
      } catch (err) {
        if (err instanceof CollectorError) throw err
        const e = s3Error(err, ref, this.endpoint)
        if (e.code === 'ERR_S3_KMS_DENIED') this.kmsDenied(ref, e)
        if (e.code === 'ERR_S3_ACCESS_DENIED' && owner !== undefined && !skewCorrected(e)) throw await this.checkOwner(ref, owner, e, signal)
        throw e
      }
    }
    const object = await withRetry(S3_OBJECT, get, {
      signal,
      retryable: retryableS3,
      onRetry: (err, attempt) => {
        const e = err as CollectorError
        this.log.warn({ stage: 's3', bucket: ref.bucket, key: ref.key, attempt, code: e.code, reason: e.message }, 'S3 GET failed; retrying')
      },
    })
    const { size, etag } = object
    return 'whole' in object ? { size, etag, input: { whole: object.whole } } : { size, etag, input: { chunks: object.chunks } }
  }

  /**
   * Once per KMS key (or once for objects whose key S3 does not name): which key, and the permission it
   * lacks, at error. The objects' own failures are logged and counted as every failure is.
   */
  private kmsDenied(ref: ObjectRef, e: CollectorError): void {
    const kmsKey = kmsKeyOf((e.cause as S3Error).message) ?? null
    if (this.kmsKeysLogged.has(kmsKey)) return
    if (this.kmsKeysLogged.size >= KMS_KEYS_LOGGED) this.kmsKeysLogged.clear()
    this.kmsKeysLogged.add(kmsKey)
    this.log.error({ stage: 's3', bucket: ref.bucket, key: ref.key, code: e.code, kmsKey: kmsKey ?? undefined, permission: 'kms:Decrypt', reason: e.message }, "the object is encrypted with a KMS key the collector may not use (SSE-KMS): allow kms:Decrypt on it")
  }

  /**
   * S3 answers a wrong ExpectedBucketOwner with the same 403 AccessDenied as a missing permission (or,
   * without s3:ListBucket, a missing key). A HEAD without the owner tells them apart: if that is allowed,
   * the bucket answers but belongs to another account. It reads no content from that bucket.
   */
  private async checkOwner(ref: ObjectRef, owner: string, denied: CollectorError, signal?: AbortSignal): Promise<CollectorError> {
    try {
      await withRetry(S3_OBJECT, () => this.client.head(ref.bucket, ref.key, signal), { signal, retryable: (err) => retryableS3(s3Error(err, ref, this.endpoint)) })
    } catch {
      return denied
    }
    return new CollectorError('ERR_S3_WRONG_OWNER', `the bucket is not owned by account ${owner} (bucket_owner): deleted and created again by another account, or bucket_owner is wrong`, {
      bucket: ref.bucket,
      key: ref.key,
      cause: denied.cause,
    })
  }
}
