// S3 GETs on the main thread, asynchronous, over the keep-alive pool of aws.ts. Small objects are read
// whole into one buffer of their own (transferred to a worker, never copied again); larger ones, and
// answers that do not say their size, are handed over as a stream of 256 KiB chunks, so no object is
// held whole because it is large. The bytes are counted as they are read, whatever the answer claims.

import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import type { Readable } from 'node:stream'
import { backoffDelay, sleep } from './backoff.ts'
import { CollectorError } from './errors.ts'
import type { Logger } from './log.ts'
import type { ObjectRef } from './notifications.ts'
import { WHOLE_OBJECT_BYTES, type ObjectInput } from './pool.ts'

const STREAM_CHUNK = 256 << 10
/**
 * Attempts per object for transient failures (5xx, throttling, resets, a body cut short, a bare 404),
 * each after a backoff; the SDK also retries each request 3 times. Beyond that the message goes back to
 * the queue.
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
}

export interface Opened {
  /** The answer's Content-Length; null when it gave none (the body is then streamed). */
  size: number | null
  input: ObjectInput
}

interface SdkError {
  name?: string
  Code?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
  $response?: { headers?: Record<string, string | undefined> }
}

/** The error code of S3's XML error document; the SDK names an answer without one after its status (NotFound, Unknown). */
function s3Code(e: SdkError): string | undefined {
  if (typeof e.Code === 'string' && e.Code !== '') return e.Code
  // Modelled exceptions carry the document's code as their name, and only then.
  return e.name === 'NoSuchKey' || e.name === 'NoSuchBucket' || e.name === 'AccessDenied' ? e.name : undefined
}

function s3Error(err: unknown, ref: ObjectRef, endpoint: string): CollectorError {
  const e = err as SdkError
  const code = s3Code(e)
  const status = e.$metadata?.httpStatusCode
  const context = { bucket: ref.bucket, key: ref.key, cause: err }
  if (code === 'NoSuchKey') return new CollectorError('ERR_S3_NO_SUCH_KEY', 'the object does not exist', context)
  if (code === 'NoSuchBucket') return new CollectorError('ERR_S3_NO_SUCH_BUCKET', `the bucket does not exist at ${endpoint} (wrong region or s3_endpoint?)`, context)
  if (status === 403 && code) {
    return new CollectorError('ERR_S3_ACCESS_DENIED', `access denied (${code}): check s3:GetObject on the bucket; without s3:ListBucket, S3 answers a missing key so too`, context)
  }
  if ((status === 404 || status === 403) && !code) {
    // Not S3 speaking: a proxy, a wrong s3_endpoint, an S3-compatible store's router. Nothing says the
    // object is missing, so this is retried and never deletes the message.
    const headers = e.$response?.headers ?? {}
    const from = [headers.server && `server ${headers.server}`, headers['content-type'] && `content-type ${headers['content-type']}`].filter(Boolean).join(', ').slice(0, HEADER_CHARS)
    return new CollectorError('ERR_S3_TRANSIENT', `HTTP ${status} without an S3 error code from ${endpoint}${from ? ` (${from})` : ''}: is s3_endpoint right, or a proxy in the way?`, context)
  }
  const name = code ?? e.name ?? ''
  return new CollectorError('ERR_S3_TRANSIENT', `S3 GET failed: ${name || 'error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? ''}`.trim(), context)
}

export class Fetcher {
  private readonly onBytes: (bytes: number) => void
  private readonly owners: ReadonlyMap<string, string>
  private readonly endpoint: string
  private readonly wholeObjectBytes: number

  constructor(
    private readonly s3: S3Client,
    private readonly log: Logger,
    options: FetcherOptions = {},
  ) {
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
        const { body, size } = await this.get(ref, owner, signal)
        if (size === null || size > this.wholeObjectBytes) return { size, input: { chunks: coalesce(body, STREAM_CHUNK, size, this.onBytes) } }
        return { size, input: { whole: await readWhole(body, size, this.onBytes) } }
      } catch (err) {
        let e = err instanceof CollectorError ? err : s3Error(err, ref, this.endpoint)
        if (e.code === 'ERR_S3_ACCESS_DENIED' && owner !== undefined) e = await this.checkOwner(ref, owner, e, signal)
        if (e.code !== 'ERR_S3_TRANSIENT' || signal?.aborted || attempt >= ATTEMPTS) throw e
        this.log.warn({ stage: 's3', bucket: ref.bucket, key: ref.key, attempt, code: e.code, reason: e.message }, 'S3 GET failed; retrying')
        await sleep(backoffDelay(attempt, { baseMs: 250, maxMs: 5000 }), signal)
      }
    }
  }

  /** The GET; what it throws, open() maps to ERR_S3_… codes. */
  private async get(ref: ObjectRef, owner: string | undefined, signal?: AbortSignal): Promise<{ body: Readable; size: number | null }> {
    const input = owner === undefined ? { Bucket: ref.bucket, Key: ref.key } : { Bucket: ref.bucket, Key: ref.key, ExpectedBucketOwner: owner }
    const out = await this.s3.send(new GetObjectCommand(input), { abortSignal: signal })
    const body = out.Body as Readable | undefined
    if (!body) throw new Error('empty response body')
    return { body, size: out.ContentLength ?? null }
  }

  /**
   * S3 answers a wrong ExpectedBucketOwner with the same 403 AccessDenied as a missing permission (or,
   * without s3:ListBucket, a missing key). A HEAD without the owner tells them apart: if that is allowed,
   * the bucket answers but belongs to another account. It reads no content from that bucket.
   */
  private async checkOwner(ref: ObjectRef, owner: string, denied: CollectorError, signal?: AbortSignal): Promise<CollectorError> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key }), { abortSignal: signal })
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

/** Reads a body of known size into one buffer of its own. */
async function readWhole(body: Readable, size: number, onBytes: (bytes: number) => void): Promise<Uint8Array> {
  const out = new Uint8Array(size)
  let at = 0
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      if (at + chunk.length > size) throw new Error(`body longer than its Content-Length (${size})`)
      out.set(chunk, at)
      at += chunk.length
    }
  } finally {
    onBytes(at)
  }
  if (at !== size) throw new Error(`body ended after ${at} of ${size} bytes`)
  return out
}

/**
 * Socket reads (16–64 KiB) gathered into chunks of `size` bytes, each its own buffer; counted as they
 * are read. With a Content-Length (`expected`), a body of another length fails as a transient error.
 */
async function* coalesce(body: Readable, size: number, expected: number | null, onBytes: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(size)
  let at = 0
  let read = 0
  let counted = 0
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      read += chunk.length
      if (expected !== null && read > expected) throw new Error(`body longer than its Content-Length (${expected})`)
      let from = 0
      while (from < chunk.length) {
        const n = Math.min(size - at, chunk.length - from)
        buf.set(chunk.subarray(from, from + n), at)
        at += n
        from += n
        if (at === size) {
          onBytes(read - counted)
          counted = read
          yield buf
          buf = new Uint8Array(size)
          at = 0
        }
      }
    }
    if (expected !== null && read !== expected) throw new Error(`body ended after ${read} of ${expected} bytes`)
    if (at > 0) yield buf.subarray(0, at).slice()
  } finally {
    if (read > counted) onBytes(read - counted)
    body.destroy()
  }
}
