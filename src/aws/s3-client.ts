// S3's GetObject and HeadObject as single signed requests over undici, for the fetcher.
//
// Why not the SDK's GetObject: its middleware stack (endpoint rules per request, serialisation, signing,
// response checksums, the stream mixin) cost 1,150–1,470 µs of main-thread CPU per GET of a CloudTrail
// file of 1,000 records (146 KiB) against 295–465 µs here (bench/s3-get.bench.ts, Node 24), and in
// `run --drain` over such files the main thread's CPU per event fell from 6.0 to 4.8 µs (start-up taken
// off, median of 6 paired runs): the SDK's GET alone was about a µs per event, issue 10's whole budget for
// the main thread.
//
// What it takes from the SDK: the S3Client's own configuration. Its credential provider (static keys, or
// the default chain, refreshed by the SDK before they expire) is called for every request; its endpoint
// rules (region, `s3_endpoint`/`endpoint`, virtual-hosted or path-style, FIPS, dual-stack, partitions) are
// evaluated once per bucket; its clock-skew correction. Each call is one request: the fetcher retries the
// object under the S3 policy (retry.ts), a clock corrected here included (S3Error.skewCorrected). Not done: response checksums (`x-amz-checksum-mode`): TLS protects the transfer and each gzip
// member carries the CRC-32 of its content, which the parse thread checks, and the SDK checked them on
// the main thread; the SDK's retry quota (the S3 policy's attempts per object bound the retries);
// directory buckets and access points (refused: CloudTrail writes to neither). The SDK keeps SQS.
//
// A bucket in another region than the client's (an organization trail's, often): S3 answers 301
// PermanentRedirect, 307, or 400 AuthorizationHeaderMalformed, naming the bucket's region in
// x-amz-bucket-region (or, for the 400, in its message). The bucket's endpoint is then resolved again
// with the SDK's rules in that region (FIPS, dual-stack, path style and a custom endpoint as configured:
// with `s3_endpoint` the host stays and only the signing region changes), remembered with the bucket, and
// the request signed and sent there once more within the same call: one extra request per bucket, not
// per object, and not an attempt of the S3 policy. `bucket_region` names the region from the start.

import type { IncomingHttpHeaders } from 'node:http'
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { getEndpointFromInstructions } from '@smithy/core/endpoints'
import { Agent, type Dispatcher } from 'undici'
import { SigV4Signer, type Credentials } from './sigv4.ts'

/** Waiting for the answer's headers, and for each piece of its body: a stalled body fails, a slow one that moves does not. */
export const ANSWER_TIMEOUT_MS = 60_000
export const CONNECT_TIMEOUT_MS = 10_000
/** What is read of an error answer: S3's error documents are a few hundred bytes; a proxy's page may be anything. */
const ERROR_BODY_BYTES = 16 << 10
/** How far S3's clock may be from ours before requests are signed with its time (the SDK's threshold). */
const CLOCK_SKEW_MS = 5 * 60_000
/** Buckets whose endpoint (and learned region) is remembered; beyond that the memory starts again (with bucket '*', notifications name them): a bucket elsewhere is then redirected once more. */
export const MAX_TARGETS = 256
const USER_AGENT = 'cloudtrail-ingest'

/** Answers that say the bucket is in another region (with the region in x-amz-bucket-region or the message). */
const REDIRECTS = new Set([301, 307])

const CLOCK_SKEW = new Set(['RequestTimeTooSkewed', 'RequestExpired', 'RequestInTheFuture', 'InvalidSignatureException', 'SignatureDoesNotMatch', 'AuthFailure'])

/**
 * An answer other than 2xx. `code` is S3's (its XML error document's), absent when the answer is not S3's;
 * the message is the document's, empty without one.
 */
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
    readonly headers: IncomingHttpHeaders,
    /** The answer's date moved our clock (a signature refused for a skewed clock is then worth another try). */
    readonly clockCorrected = false,
    /** A redirect of a request already sent to this region (after a redirect, or to a region learned before): a loop. */
    readonly followed?: string,
  ) {
    super(message)
    this.name = 'S3Error'
  }

  /** A signature refused for a skewed clock, after the answer set our clock by S3's: worth another try. */
  get skewCorrected(): boolean {
    return this.clockCorrected && this.code !== undefined && CLOCK_SKEW.has(this.code)
  }

  /** x-amz-bucket-region: where a bucket really is, on a redirect or a refusal from another region. */
  get bucketRegion(): string | undefined {
    const region = this.headers['x-amz-bucket-region']
    return typeof region === 'string' ? region : undefined
  }

  /**
   * S3 says the bucket is in another region: a 301 or 307 (a HEAD's has no body, so no code), or a 400
   * AuthorizationHeaderMalformed (signed for the wrong region).
   */
  get redirect(): boolean {
    return REDIRECTS.has(this.status) || (this.status === 400 && this.code === 'AuthorizationHeaderMalformed')
  }

  /**
   * Where a redirect says the bucket is: x-amz-bucket-region, else the region an AuthorizationHeaderMalformed
   * message expects ("the region 'us-east-1' is wrong; expecting 'eu-west-1'"). Undefined when it names none.
   */
  get redirectRegion(): string | undefined {
    if (!this.redirect && !(this.status === 400 && this.bucketRegion !== undefined)) return undefined
    const region = this.bucketRegion ?? /expecting '([^']+)'/.exec(this.message)?.[1]
    return region !== undefined && REGION.test(region) ? region : undefined
  }
}

/** A region's name, as config.ts checks `region` and `bucket_region`. */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/

/** A bucket's new region, as the client learns it (for the log line and cloudtrail_s3_region_redirects_total). */
export interface RegionRedirect {
  bucket: string
  /** The region the request was signed for. */
  from: string
  to: string
}

export interface S3ClientOptions {
  /** Where the requests go: by default a keep-alive pool of its own. Issue 12's HTTPS proxy is a dispatcher too. */
  dispatcher?: Dispatcher
  answerTimeoutMs?: number
  /** bucket_region: the region of each bucket not in the client's, used from the first request. */
  bucketRegions?: ReadonlyMap<string, string>
  /** A redirect taught the client a bucket's region (once per bucket while it is remembered). */
  onRegionRedirect?: (redirect: RegionRedirect) => void
}

export interface GetOptions {
  /** ExpectedBucketOwner. */
  owner?: string
  signal?: AbortSignal
  /** Bodies of known size up to this are read whole, into one buffer of their own. */
  wholeBytes: number
  /** Other bodies are handed over in pieces of this size, each its own buffer. */
  chunkBytes: number
  /** The body's bytes, as they are read. */
  onBytes: (bytes: number) => void
}

/**
 * The object's body: whole (read by the time get() resolves), or as pieces while it is read. `etag`: the
 * answer's ETag header as S3 sent it (quotes included), or null when it had none; CloudTrail objects never
 * change, so bucket, key and ETag name one content (the checkpoints of src/pipeline/checkpoints.ts).
 */
export type S3Object =
  | { size: number; whole: Uint8Array; etag: string | null }
  | { size: number | null; chunks: AsyncIterable<Uint8Array>; etag: string | null }

interface Target {
  origin: string
  /** The endpoint's path: '' for a virtual-hosted bucket, '/bucket' (after the endpoint's own path) for path-style. */
  basePath: string
  host: string
  region: string
  service: string
}

/** A bucket's endpoint, remembered with the region it was resolved for (undefined: the client's own). */
interface Entry {
  region: string | undefined
  target: Promise<Target>
}

/** A keep-alive pool per origin, `connections` wide: what the fetcher uses unless given a dispatcher. */
export function s3Agent(connections: number, options: { connectTimeoutMs?: number } = {}): Agent {
  return new Agent(s3AgentOptions(connections, options))
}

/** s3Agent's options, for a dispatcher that also goes through a proxy (proxy.ts). */
export function s3AgentOptions(connections: number, { connectTimeoutMs = CONNECT_TIMEOUT_MS } = {}): Agent.Options {
  // Connecting (TCP, and TLS's handshake for https) times out; the answer's timeouts are set per request.
  return { connections, connectTimeout: connectTimeoutMs, headersTimeout: ANSWER_TIMEOUT_MS, bodyTimeout: ANSWER_TIMEOUT_MS }
}

export class S3ObjectClient {
  private readonly dispatcher: Dispatcher
  private readonly answerTimeoutMs: number
  private readonly signer = new SigV4Signer()
  private readonly targets = new Map<string, Entry>()
  private readonly bucketRegions: ReadonlyMap<string, string>
  private readonly onRegionRedirect: (redirect: RegionRedirect) => void
  /** Added to our clock when signing: S3's time minus ours, once an answer said they differ. */
  private clockOffset = 0

  constructor(
    private readonly sdk: S3Client,
    options: S3ClientOptions = {},
  ) {
    this.dispatcher = options.dispatcher ?? s3Agent(8)
    this.answerTimeoutMs = options.answerTimeoutMs ?? ANSWER_TIMEOUT_MS
    this.bucketRegions = options.bucketRegions ?? new Map()
    this.onRegionRedirect = options.onRegionRedirect ?? (() => {})
  }

  /** GetObject; rejects with S3Error for an answer other than 200, or what the network did. */
  get(bucket: string, key: string, options: GetOptions): Promise<S3Object> {
    return this.send('GET', bucket, key, options) as Promise<S3Object>
  }

  /** HeadObject: resolves when the object answers 2xx. undici closes the connection after a HEAD (servers that send a body anyway). */
  async head(bucket: string, key: string, signal?: AbortSignal): Promise<void> {
    await this.send('HEAD', bucket, key, { signal, wholeBytes: 0, chunkBytes: 0, onBytes: () => {} })
  }

  close(): Promise<void> {
    return this.dispatcher.close()
  }

  private async send(method: 'GET' | 'HEAD', bucket: string, key: string, options: GetOptions): Promise<S3Object | null> {
    const target = await this.target(bucket)
    try {
      return await this.sendTo(target, method, key, options)
    } catch (err) {
      const region = err instanceof S3Error ? err.redirectRegion : undefined
      if (region === undefined) throw err
      // Sent to the region S3 names already: a loop (a wrong s3_endpoint, say), not followed.
      if (region === target.region) throw looped(err as S3Error, region)
      // The bucket is elsewhere: its endpoint there, and the same request signed for it, once.
      const moved = await this.relocate(bucket, target.region, region)
      try {
        return await this.sendTo(moved, method, key, options)
      } catch (again) {
        throw again instanceof S3Error && again.redirect ? looped(again, moved.region) : again
      }
    }
  }

  private async sendTo(target: Target, method: 'GET' | 'HEAD', key: string, options: GetOptions): Promise<S3Object | null> {
    const path = `${target.basePath}/${encodeKey(key)}`
    if (options.signal?.aborted) throw abortReason(options.signal)
    const credentials = (await this.sdk.config.credentials()) as Credentials
    const headers: Record<string, string> = { host: target.host }
    if (options.owner !== undefined) headers['x-amz-expected-bucket-owner'] = options.owner
    this.signer.sign(method, path, headers, credentials, target.region, target.service, new Date(Date.now() + this.clockOffset))
    headers['user-agent'] = USER_AGENT
    const exchange = new Exchange(method, options, (date) => this.correctClock(date))
    try {
      this.dispatcher.dispatch({ origin: target.origin, path, method, headers, headersTimeout: this.answerTimeoutMs, bodyTimeout: this.answerTimeoutMs }, exchange)
    } catch (err) {
      exchange.onResponseError(null, err as Error)
    }
    return exchange.result
  }

  /** The SDK's endpoint rules for this bucket, evaluated once (24 µs each), in bucket_region's region if it names one. */
  private target(bucket: string): Promise<Target> {
    return this.targets.get(bucket)?.target ?? this.remember(bucket, this.bucketRegions.get(bucket))
  }

  /**
   * A redirect named the bucket's region: its endpoint there, unless a request of the same bucket learned
   * it meanwhile (objects of one bucket are fetched at once: one of them logs and counts it).
   */
  private relocate(bucket: string, from: string, region: string): Promise<Target> {
    const entry = this.targets.get(bucket)
    if (entry?.region === region) return entry.target
    this.onRegionRedirect({ bucket, from, to: region })
    return this.remember(bucket, region)
  }

  private remember(bucket: string, region: string | undefined): Promise<Target> {
    if (!this.targets.has(bucket) && this.targets.size >= MAX_TARGETS) this.targets.clear()
    const entry: Entry = { region, target: this.resolve(bucket, region) }
    this.targets.set(bucket, entry)
    entry.target.catch(() => {
      if (this.targets.get(bucket) === entry) this.targets.delete(bucket)
    })
    return entry.target
  }

  /** `region`: the bucket's, when it is not the client's: the same configuration otherwise. */
  private async resolve(bucket: string, region: string | undefined): Promise<Target> {
    const config = region === undefined ? this.sdk.config : { ...this.sdk.config, region: () => Promise.resolve(region) }
    const endpoint = await getEndpointFromInstructions({ Bucket: bucket, Key: 'k' }, GetObjectCommand, config)
    const scheme = (endpoint.properties?.authSchemes as { name?: string; signingRegion?: string; signingName?: string }[] | undefined)?.[0]
    if (scheme && scheme.name !== 'sigv4') throw new Error(`bucket ${bucket} needs ${scheme.name} signing (a directory bucket or an access point), which this collector does not do`)
    const url = endpoint.url
    return {
      origin: url.origin,
      basePath: url.pathname.replace(/\/+$/, ''),
      host: url.host,
      region: scheme?.signingRegion ?? region ?? (await this.sdk.config.region()),
      service: scheme?.signingName ?? 's3',
    }
  }

  /** The SDK's clock-skew correction: an answer dated more than 5 minutes from our clock sets the offset. */
  private correctClock(date: string | undefined): boolean {
    const server = date === undefined ? NaN : Date.parse(date)
    if (!Number.isFinite(server) || Math.abs(server - (Date.now() + this.clockOffset)) < CLOCK_SKEW_MS) return false
    this.clockOffset = server - Date.now()
    return true
  }
}

/** A redirect of a request already sent to `region`. */
function looped(err: S3Error, region: string): S3Error {
  return new S3Error(err.status, err.code, err.message, err.headers, err.clockCorrected, region)
}

/** Each segment URI-encoded (RFC 3986: `!'()*` too), `/` kept: the SDK's greedy {Key+} label. */
function encodeKey(key: string): string {
  let out = ''
  for (let from = 0; ; ) {
    const slash = key.indexOf('/', from)
    const segment = slash < 0 ? key.slice(from) : key.slice(from, slash)
    out += encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    if (slash < 0) return out
    out += '/'
    from = slash + 1
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError')
}

/**
 * S3's error document: `<Error><Code>…</Code><Message>…</Message>…</Error>`. Only an answer shaped so has an
 * S3 code: an HTML or JSON page from a proxy or a router has none, whatever its status.
 */
function parseError(status: number, body: string, headers: IncomingHttpHeaders, clockCorrected: boolean): S3Error {
  const doc = /<Error>([\s\S]*)<\/Error>/.exec(body)?.[1]
  const code = (doc && /<Code>([^<]+)<\/Code>/.exec(doc)?.[1]) || undefined
  const message = doc ? unescapeXml(/<Message>([^<]*)<\/Message>/.exec(doc)?.[1] ?? '') : ''
  return new S3Error(status, code, message, headers, clockCorrected)
}

function unescapeXml(text: string): string {
  if (!text.includes('&')) return text
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (whole, name: string) => {
    if (name === 'lt') return '<'
    if (name === 'gt') return '>'
    if (name === 'amp') return '&'
    if (name === 'quot') return '"'
    if (name === 'apos') return "'"
    const cp = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10)
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : whole
  })
}

type Mode = 'waiting' | 'error' | 'whole' | 'chunks' | 'head'

/**
 * One request and its answer, as undici's handler callbacks: no stream in between. A body of known size
 * up to `wholeBytes` is copied into one buffer as it arrives; any other is cut into `chunkBytes` pieces,
 * pulled by the fetcher's reader, and the socket is paused while a piece waits for it.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly result: Promise<S3Object | null>
  private resolve!: (value: S3Object | null) => void
  private reject!: (err: Error) => void
  private settled = false
  private controller: Dispatcher.DispatchController | null = null
  private mode: Mode = 'waiting'
  private aborted: Error | null = null
  private stopListening: (() => void) | null = null
  private size: number | null = null
  private etag: string | null = null
  private whole: Buffer | null = null
  private at = 0
  private counted = false
  private chunks: BodyChunks | null = null
  private errorStatus = 0
  private errorHeaders: IncomingHttpHeaders = {}
  private errorBody: Buffer[] = []
  private errorBytes = 0
  private clockCorrected = false

  constructor(
    private readonly method: 'GET' | 'HEAD',
    private readonly options: GetOptions,
    private readonly correctClock: (date: string | undefined) => boolean,
  ) {
    this.result = new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    const signal = options.signal
    if (signal) {
      if (signal.aborted) this.abort(abortReason(signal))
      else {
        const onAbort = () => this.abort(abortReason(signal))
        signal.addEventListener('abort', onAbort, { once: true })
        this.stopListening = () => signal.removeEventListener('abort', onAbort)
      }
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.aborted) controller.abort(this.aborted)
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (status < 200 || status > 299) {
      this.mode = 'error'
      this.errorStatus = status
      this.errorHeaders = headers
      this.clockCorrected = status >= 400 && this.correctClock(typeof headers.date === 'string' ? headers.date : undefined)
      return
    }
    if (this.method === 'HEAD') {
      this.mode = 'head'
      return
    }
    const etag = headers.etag
    this.etag = typeof etag === 'string' ? etag : null
    const length = headers['content-length']
    this.size = typeof length === 'string' && /^\d{1,15}$/.test(length) ? Number(length) : null
    if (this.size !== null && this.size <= this.options.wholeBytes) {
      this.mode = 'whole'
      // Not zero-filled: every byte is written before the buffer is handed over, or it is dropped.
      this.whole = Buffer.allocUnsafeSlow(this.size)
      return
    }
    this.mode = 'chunks'
    this.chunks = new BodyChunks(this.options.chunkBytes, this.size, this.options.onBytes, controller, (err) => this.abort(err), () => this.done())
    this.settle(null, { size: this.size, chunks: this.chunks, etag: this.etag })
  }

  onResponseData(controller: Dispatcher.DispatchController, data: Buffer): void {
    switch (this.mode) {
      case 'whole': {
        const whole = this.whole!
        if (this.at + data.length > whole.length) {
          const err = new Error(`body longer than its Content-Length (${whole.length})`)
          this.countWhole()
          this.fail(err)
          controller.abort(err)
          return
        }
        whole.set(data, this.at)
        this.at += data.length
        return
      }
      case 'chunks':
        this.chunks!.push(data)
        return
      case 'error':
        if (this.errorBytes < ERROR_BODY_BYTES) {
          this.errorBody.push(data)
          this.errorBytes += data.length
          if (this.errorBytes >= ERROR_BODY_BYTES) {
            // Enough to tell what it is; the rest is not read (nor the connection kept).
            this.failWithAnswer()
            controller.abort(new Error('error answer too long'))
          }
        }
        return
    }
  }

  onResponseEnd(): void {
    switch (this.mode) {
      case 'whole':
        if (this.settled) return
        this.countWhole()
        if (this.at !== this.size) this.fail(new Error(`body ended after ${this.at} of ${this.size} bytes`))
        else this.settle(null, { size: this.size, whole: this.whole!, etag: this.etag })
        return
      case 'chunks':
        this.chunks!.end()
        return
      case 'error':
        this.failWithAnswer()
        return
      case 'head':
        this.settle(null, null)
        return
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    const reason = this.aborted ?? err
    if (this.mode === 'whole') this.countWhole()
    if (this.mode === 'chunks') this.chunks!.fail(reason)
    // An error answer cut short is still the answer (a 503 whose body was cut is worth another try).
    else if (this.mode === 'error' && !this.aborted) this.failWithAnswer()
    else this.fail(reason)
  }

  private countWhole(): void {
    if (this.counted) return
    this.counted = true
    this.options.onBytes(this.at)
  }

  /** Stops the request (the signal, or the reader giving up): it fails with `reason`. */
  private abort(reason: Error): void {
    if (this.aborted) return
    this.aborted = reason
    if (this.controller) this.controller.abort(reason)
    // Before undici started it (waiting for a connection), there is no controller yet: fail now, and
    // onRequestStart aborts it.
    else this.fail(reason)
  }

  private failWithAnswer(): void {
    if (this.settled) return
    const body = Buffer.concat(this.errorBody).toString('utf8')
    this.fail(parseError(this.errorStatus, body, this.errorHeaders, this.clockCorrected))
  }

  private fail(err: Error): void {
    this.settle(err, null)
    this.done()
  }

  private settle(err: Error | null, value: S3Object | null): void {
    if (this.settled) return
    this.settled = true
    if (err) this.reject(err)
    else this.resolve(value)
    if (this.mode !== 'chunks' || err) this.done()
  }

  private done(): void {
    this.stopListening?.()
    this.stopListening = null
  }
}

/**
 * The body in pieces of `size` bytes, each a buffer of its own (the pool transfers them), read as the
 * consumer asks: while one piece waits, the socket is paused. Counted as read; with a Content-Length
 * (`expected`), a body of another length fails.
 */
class BodyChunks implements AsyncIterableIterator<Uint8Array> {
  private readonly ready: Uint8Array[] = []
  private current: Buffer
  private at = 0
  private read = 0
  private counted = 0
  private ended = false
  private error: Error | null = null
  private finished = false
  private waiter: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (err: Error) => void } | null = null

  constructor(
    private readonly size: number,
    private readonly expected: number | null,
    private readonly onBytes: (bytes: number) => void,
    private readonly controller: Dispatcher.DispatchController,
    private readonly abort: (reason: Error) => void,
    private readonly onFinished: () => void,
  ) {
    this.current = Buffer.allocUnsafeSlow(size)
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  push(data: Buffer): void {
    if (this.finished || this.error) return
    this.read += data.length
    if (this.expected !== null && this.read > this.expected) {
      this.abort(new Error(`body longer than its Content-Length (${this.expected})`))
      return
    }
    for (let from = 0; from < data.length; ) {
      const n = Math.min(this.size - this.at, data.length - from)
      this.current.set(from === 0 && n === data.length ? data : data.subarray(from, from + n), this.at)
      this.at += n
      from += n
      if (this.at === this.size) {
        this.count()
        this.deliver(this.current)
        this.current = Buffer.allocUnsafeSlow(this.size)
        this.at = 0
      }
    }
    if (this.ready.length > 0) this.controller.pause()
  }

  end(): void {
    if (this.finished || this.error) return
    if (this.expected !== null && this.read !== this.expected) {
      this.fail(new Error(`body ended after ${this.read} of ${this.expected} bytes`))
      return
    }
    this.count()
    this.ended = true
    if (this.at > 0) this.deliver(new Uint8Array(this.current.subarray(0, this.at)))
    else if (this.waiter) this.take()
  }

  fail(err: Error): void {
    if (this.finished || this.error || this.ended) return
    this.error = err
    this.count()
    if (this.waiter) this.take()
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.waiter) return Promise.reject(new Error('the body is read one piece at a time'))
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject }
      if (this.ready.length > 0 || this.ended || this.error || this.finished) this.take()
    })
  }

  /** The reader stopped (the object failed, or the parse was aborted): the request is aborted. */
  return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.finished) {
      if (!this.ended && !this.error) this.abort(new Error('the body was not read to its end'))
      this.finish()
    }
    return Promise.resolve({ done: true, value: undefined })
  }

  private deliver(chunk: Uint8Array): void {
    this.ready.push(chunk)
    if (this.waiter) this.take()
  }

  private take(): void {
    const waiter = this.waiter!
    this.waiter = null
    if (this.error) {
      this.finish()
      waiter.reject(this.error)
    } else if (this.ready.length > 0) {
      waiter.resolve({ done: false, value: this.ready.shift()! })
      if (this.ready.length === 0 && !this.ended) this.controller.resume()
    } else {
      this.finish()
      waiter.resolve({ done: true, value: undefined })
    }
  }

  private count(): void {
    if (this.read > this.counted) this.onBytes(this.read - this.counted)
    this.counted = this.read
  }

  private finish(): void {
    if (this.finished) return
    this.finished = true
    this.ready.length = 0
    this.count()
    this.onFinished()
  }
}
