// S3's endpoints for a bucket in another region, in front of fauxqs (which has one region and redirects
// nothing): a request signed for another region than its bucket's (the credential scope of its
// Authorization header, Credential=AKID/DATE/REGION/s3/aws4_request) is answered as S3 answers it, a 301
// PermanentRedirect naming the bucket's region in x-amz-bucket-region with S3's error document (none for
// a HEAD), or one of the variants below; a request signed for the bucket's region goes to fauxqs
// unchanged. The bucket is the host's first label when the host is virtual-hosted, else the path's first
// segment.

import { once } from 'node:events'
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * redirect: 301 PermanentRedirect with x-amz-bucket-region; malformed: 400 AuthorizationHeaderMalformed
 * with it; malformed-message: the 400 naming the region only in its message; no-region: a 301 naming
 * none; loop: a 301 to the bucket's region even when the request was signed for it.
 */
export type Answer = 'redirect' | 'malformed' | 'malformed-message' | 'no-region' | 'loop'

export interface StandInRequest {
  method: string
  bucket: string
  host: string
  path: string
  /** The region the request was signed for. */
  signedFor: string
  /** What the stand-in answered: a status of its own, or 'forwarded'. */
  answered: number | 'forwarded'
}

export interface RegionStandIn {
  url: string
  /** Every request, in order. */
  requests: StandInRequest[]
  answer: Answer
  stop(): Promise<void>
}

/** `regionOf`: each bucket's region (undefined: the bucket answers in every region, as fauxqs). */
export async function regionStandIn(upstream: string, regionOf: (bucket: string) => string | undefined, answer: Answer = 'redirect'): Promise<RegionStandIn> {
  const to = new URL(upstream)
  const requests: StandInRequest[] = []
  const server = createServer((req, res) => {
    const host = String(req.headers.host ?? '')
    const path = req.url ?? '/'
    const hostname = host.replace(/:\d+$/, '')
    const virtual = /^[^.]+\.s3[.-]/.test(hostname)
    const bucket = virtual ? hostname.slice(0, hostname.indexOf('.')) : decodeURIComponent(path.split('/')[1] ?? '')
    const signedFor = /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\/aws4_request/.exec(String(req.headers.authorization ?? ''))?.[1] ?? ''
    const region = regionOf(bucket)
    const entry: StandInRequest = { method: req.method ?? '', bucket, host, path, signedFor, answered: 'forwarded' }
    requests.push(entry)
    if (region !== undefined && (signedFor !== region || stand.answer === 'loop')) {
      entry.answered = refuse(req, res, stand.answer, signedFor, region)
      return
    }
    forward(to, req, res)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const stand: RegionStandIn = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    answer,
    stop: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
  return stand
}

function refuse(req: IncomingMessage, res: ServerResponse, answer: Answer, signedFor: string, region: string): number {
  const headers: Record<string, string> = { 'content-type': 'application/xml', 'x-amz-request-id': 'STANDIN', 'x-amz-bucket-region': region }
  let status = 301
  let body: string
  if (answer === 'malformed' || answer === 'malformed-message') {
    status = 400
    if (answer === 'malformed-message') delete headers['x-amz-bucket-region']
    body = errorDocument('AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${signedFor}' is wrong; expecting '${region}'`, `<Region>${region}</Region>`)
  } else {
    if (answer === 'no-region') delete headers['x-amz-bucket-region']
    body = errorDocument('PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.', `<Endpoint>s3.${region}.amazonaws.com</Endpoint>`)
  }
  req.resume()
  if (req.method === 'HEAD') res.writeHead(status, headers).end()
  else res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) }).end(body)
  return status
}

function errorDocument(code: string, message: string, extra: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>STANDIN</RequestId><HostId>STANDIN</HostId></Error>`
}

function forward(to: URL, req: IncomingMessage, res: ServerResponse): void {
  const out = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers)
    answer.pipe(res)
  })
  out.on('error', () => res.destroy())
  req.pipe(out)
}
