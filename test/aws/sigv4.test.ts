// The S3 client's SigV4 signer against AWS's published example and against @smithy/signature-v4 (the
// SDK's signer) over generated requests: the same Authorization for the same request, time and keys.

import { SignatureV4 } from '@smithy/signature-v4'
import { describe, expect, it } from 'vitest'
import { amzDate, EMPTY_SHA256, SigV4Signer, type Credentials } from '../../src/aws/sigv4.ts'
import { Sha256 } from '../../bench/lib/smithy-sha256.ts'

async function smithy(method: string, host: string, path: string, headers: Record<string, string>, credentials: Credentials, region: string, date: Date): Promise<Record<string, string>> {
  const signer = new SignatureV4({ credentials, region, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false })
  const request = { method, protocol: 'https:', hostname: host, path, query: {}, headers: { ...headers, host, 'x-amz-content-sha256': EMPTY_SHA256 } }
  return (await signer.sign(request, { signingDate: date })).headers
}

describe('SigV4Signer', () => {
  it("gives AWS's published signature for its GetObject example", () => {
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "Example: GET Object".
    const headers: Record<string, string> = { host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9' }
    const credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }
    new SigV4Signer().sign('GET', '/test.txt', headers, credentials, 'us-east-1', 's3', new Date(Date.UTC(2013, 4, 24)))
    expect(headers['x-amz-date']).toBe('20130524T000000Z')
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    )
  })

  it('signs as the SDK signs: keys with odd characters, owners, session tokens, regions, days, rotated secrets', async () => {
    const signer = new SigV4Signer()
    const paths = ['/a', '/bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/26/file.json.gz', '/k%20with%20spaces/%2B%21%27%28%29%2A/%E2%82%AC', '/double//slash/', '/trailing%2F']
    let n = 0
    for (const path of paths) {
      for (const region of ['us-east-1', 'eu-central-2']) {
        for (const token of [undefined, 'FwoGZXIvYXdzEJr//////////token+/=']) {
          n++
          const credentials: Credentials = { accessKeyId: `AKID${n}`, secretAccessKey: `secret/${n}+key`, ...(token ? { sessionToken: token } : {}) }
          const date = new Date(Date.UTC(2026, 10, 26 + (n % 3), n % 24, 5, 7))
          const host = n % 2 ? 'bucket.s3.us-east-1.amazonaws.com' : '127.0.0.1:4566'
          const extra: Record<string, string> = n % 2 ? { 'x-amz-expected-bucket-owner': '111122223333' } : { 'x-custom': '  two  spaces  ' }
          const headers: Record<string, string> = { host, ...extra }
          signer.sign('GET', path, headers, credentials, region, 's3', date)
          const expected = await smithy('GET', host, path, extra, credentials, region, date)
          expect(headers.authorization, `${path} ${region} ${token}`).toBe(expected.authorization)
          expect(headers['x-amz-date']).toBe(expected['x-amz-date'])
          expect(headers['x-amz-security-token']).toBe(expected['x-amz-security-token'])
        }
      }
    }
    // HEAD too.
    const headers: Record<string, string> = { host: 'b.s3.amazonaws.com' }
    const credentials = { accessKeyId: 'AKIDHEAD', secretAccessKey: 'head-secret' }
    const date = new Date(Date.UTC(2026, 0, 1))
    signer.sign('HEAD', '/k', headers, credentials, 'us-west-2', 's3', date)
    expect(headers.authorization).toBe((await smithy('HEAD', 'b.s3.amazonaws.com', '/k', {}, credentials, 'us-west-2', date)).authorization)
  })

  it('formats x-amz-date as YYYYMMDDTHHMMSSZ', () => {
    expect(amzDate(new Date(Date.UTC(2026, 10, 26, 9, 8, 7, 654)))).toBe('20261126T090807Z')
  })
})
