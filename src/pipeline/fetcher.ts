// S3 GETs on the main thread, asynchronous, through the lean client of s3-client.ts over a keep-alive
// pool (aws.ts). Small objects are read whole into one buffer of their own (transferred to a worker,
// never copied again); larger ones, and answers that do not say their size, are handed over as a stream
// of 256 KiB chunks, so no object is held whole because it is large. The bytes are counted as they are
// read, whatever the answer claims. What each answer means for the message is decided here (s3Error).

import type { S3Client } from '@aws-sdk/client-s3'
import type { Dispatcher } from 'undici'
import { backoffDelay, sleep } from '../backoff.ts'
import { CollectorError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { ObjectRef } from './notifications.ts'
import { WHOLE_OBJECT_BYTES, type ObjectInput } from './pool.ts'
import { S3Error, S3ObjectClient } from '../aws/s3-client.ts'

const STREAM_CHUNK = 256 << 10
/**
 * Attempts per object for transient failures (5xx, throttling, resets, a body cut short, a bare 404),
 * each after a backoff; the client also retries each request 3 times (s3-client.ts, as the SDK did).
 * Beyond that the message goes back to the queue.
 */
const ATTEMPTS = 3
/** What a log quotes of a header from whoever answered (a proxy's Server header, say). */
const HEADER_CHARS = 80

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
}

export interface Opened {
  /** The answer's Content-Length; null when it gave none (the body is then streamed). */
  size: number | null
  input: ObjectInput
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

export class Fetcher {
  private readonly client: S3ObjectClient
  private readonly onBytes: (bytes: number) => void
  private readonly owners: ReadonlyMap<string, string>
  private readonly endpoint: string
  private readonly wholeObjectBytes: number

  /** `s3`: the SDK client whose configuration (credentials, region, endpoint, path style) the GETs follow. */
  constructor(
    s3: S3Client,
    private readonly log: Logger,
    options: FetcherOptions = {},
  ) {
    this.client = new S3ObjectClient(s3, { dispatcher: options.dispatcher })
    this.onBytes = options.onBytes ?? (() => {})
    this.owners = options.owners ?? new Map()
    this.endpoint = options.endpoint ?? 'S3'
    this.wholeObjectBytes = options.wholeObjectBytes ?? WHOLE_OBJECT_BYTES
  }

  /** Starts the GET; throws CollectorError (ERR_S3_…) when the object cannot be had. */
  async open(ref: ObjectRef, signal?: AbortSignal): Promise<Opened> {
    const owner = this.owners.get(ref.bucket) ?? this.owners.get('*')
    for (let attempt = 1; ; attempt++) {
      try {
        const object = await this.client.get(ref.bucket, ref.key, { owner, signal, wholeBytes: this.wholeObjectBytes, chunkBytes: STREAM_CHUNK, onBytes: this.onBytes })
        return 'whole' in object ? { size: object.size, input: { whole: object.whole } } : { size: object.size, input: { chunks: object.chunks } }
      } catch (err) {
        let e = err instanceof CollectorError ? err : s3Error(err, ref, this.endpoint)
        if (e.code === 'ERR_S3_ACCESS_DENIED' && owner !== undefined) e = await this.checkOwner(ref, owner, e, signal)
        if (e.code !== 'ERR_S3_TRANSIENT' || signal?.aborted || attempt >= ATTEMPTS) throw e
        this.log.warn({ stage: 's3', bucket: ref.bucket, key: ref.key, attempt, code: e.code, reason: e.message }, 'S3 GET failed; retrying')
        await sleep(backoffDelay(attempt, { baseMs: 250, maxMs: 5000 }), signal)
      }
    }
  }

  /**
   * S3 answers a wrong ExpectedBucketOwner with the same 403 AccessDenied as a missing permission (or,
   * without s3:ListBucket, a missing key). A HEAD without the owner tells them apart: if that is allowed,
   * the bucket answers but belongs to another account. It reads no content from that bucket.
   */
  private async checkOwner(ref: ObjectRef, owner: string, denied: CollectorError, signal?: AbortSignal): Promise<CollectorError> {
    try {
      await this.client.head(ref.bucket, ref.key, signal)
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
