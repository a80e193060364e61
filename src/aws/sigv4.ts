// AWS Signature Version 4 in headers, for the S3 client's GETs and HEADs (src/aws/s3-client.ts): requests
// without a query string or a body. Written here rather than taken from @smithy/signature-v4, which signs
// any request: that one cost 85–98 µs of main-thread CPU per GET, this one 9–13 µs (bench/s3-get.bench.ts,
// Node 24; once per object, about 7% of issue 10's main-thread budget per object): it derives a cache key
// for its signing key with an HMAC of the secret on every request, canonicalises query strings and
// headers for the general case and awaits between each step. test/aws/sigv4.test.ts checks this signer
// against that one and against AWS's published example.

import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto'

export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** The SHA-256 of an empty payload: what a GET or HEAD signs as its body. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

interface SigningKey {
  day: string
  secret: string
  key: KeyObject
}

/** YYYYMMDDTHHMMSSZ. */
export function amzDate(date: Date): string {
  const iso = date.toISOString()
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`
}

export class SigV4Signer {
  /** Signing keys by region and service: derived once a day (or when the secret changes), four HMACs. */
  private readonly keys = new Map<string, SigningKey>()

  /**
   * Adds x-amz-date, x-amz-content-sha256, x-amz-security-token (with a session token) and authorization
   * to `headers`, and signs every header in it: lower-case names, `host` included. `path` is the request's
   * path as sent: S3 signs it as it is, neither encoded again nor normalised.
   */
  sign(method: string, path: string, headers: Record<string, string>, credentials: Credentials, region: string, service: string, date: Date): void {
    const stamp = amzDate(date)
    const day = stamp.slice(0, 8)
    headers['x-amz-date'] = stamp
    headers['x-amz-content-sha256'] = EMPTY_SHA256
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken
    const names = Object.keys(headers).sort()
    let canonical = `${method}\n${path}\n\n`
    for (const name of names) canonical += `${name}:${trimValue(headers[name])}\n`
    const signed = names.join(';')
    canonical += `\n${signed}\n${EMPTY_SHA256}`
    const scope = `${day}/${region}/${service}/aws4_request`
    const toSign = `AWS4-HMAC-SHA256\n${stamp}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`
    const signature = createHmac('sha256', this.signingKey(credentials.secretAccessKey, day, region, service)).update(toSign).digest('hex')
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`
  }

  private signingKey(secret: string, day: string, region: string, service: string): KeyObject {
    const id = `${region}/${service}`
    const cached = this.keys.get(id)
    if (cached && cached.day === day && cached.secret === secret) return cached.key
    let key: Buffer = createHmac('sha256', `AWS4${secret}`).update(day).digest()
    for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest()
    // A KeyObject: an HMAC keyed with a Buffer makes a key object of its own every time.
    const entry = { day, secret, key: createSecretKey(key) }
    this.keys.set(id, entry)
    return entry.key
  }
}

/** SigV4's header value: trimmed, runs of spaces made one. */
function trimValue(value: string): string {
  const trimmed = value.trim()
  return trimmed.includes('  ') ? trimmed.replace(/ {2,}/g, ' ') : trimmed
}
