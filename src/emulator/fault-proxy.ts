// A fault-injecting HTTP proxy in front of fauxqs, and the fault lists drawn from (the tests and `make soak`): the collector talks to the proxy, the proxy to the
// real server. A rule per request decides: pass, answer with an AWS error (5xx, throttling) or with
// anything else (what a proxy or a wrong endpoint says), reset the connection, delay, stall or trickle the
// body, or pass the answer without its Content-Length. This is fault injection a server cannot produce on its own, at the edge only.

import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export type Service = 'sqs' | 's3'

export interface ProxiedRequest {
  service: Service
  /** SQS: the action (ReceiveMessage, DeleteMessageBatch…); S3: the HTTP method. */
  action: string
  path: string
  headers: http.IncomingHttpHeaders
}

export type Fault =
  | { kind: 'pass' }
  | { kind: 'error'; status: number; code: string }
  | { kind: 'reset' }
  /** Delays the response (headers and body) by `ms`. */
  | { kind: 'delay'; ms: number }
  /** Sends the headers and part of the body, then resets the connection. */
  | { kind: 'cut'; after: number }
  /** Answers this, whoever would have answered (an HTML 404 from a proxy, say). */
  | { kind: 'answer'; status: number; headers?: http.OutgoingHttpHeaders; body: string }
  /** Passes the answer with its Content-Length removed: chunked, as some proxies and stores send it. */
  | { kind: 'no-length' }
  /** Sends the headers and part of the body, then nothing more: a stalled body, the connection left open. */
  | { kind: 'stall'; after: number }
  /** Sends the body `bytes` at a time, one piece every `ms`: slow, but moving. */
  | { kind: 'trickle'; bytes: number; ms: number }

export type Rule = (req: ProxiedRequest) => Fault

export class FaultProxy {
  rule: Rule = () => ({ kind: 'pass' })
  /** Requests seen and faults injected, per action. */
  readonly seen = new Map<string, number>()
  readonly injected = new Map<string, number>()
  readonly log: { service: Service; action: string; path: string; fault: Fault['kind']; at: number }[] = []
  /** TCP connections accepted from clients (keep-alive reuses them), and those of them still open. */
  connections = 0
  openConnections = 0
  /** The most connections open at once. */
  maxOpenConnections = 0
  private server: http.Server
  private target: URL
  url = ''

  private constructor(target: string) {
    this.target = new URL(target)
    this.server = http.createServer((req, res) => void this.handle(req, res))
    this.server.on('connection', (socket) => {
      this.connections++
      this.maxOpenConnections = Math.max(this.maxOpenConnections, ++this.openConnections)
      socket.on('close', () => this.openConnections--)
    })
  }

  static async start(target: string): Promise<FaultProxy> {
    const proxy = new FaultProxy(target)
    proxy.server.listen(0, '127.0.0.1')
    await once(proxy.server, 'listening')
    proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`
    return proxy
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  count(action: string): number {
    return this.seen.get(action) ?? 0
  }

  faults(action: string): number {
    return this.injected.get(action) ?? 0
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks)
    const target = String(req.headers['x-amz-target'] ?? '')
    const service: Service = target.startsWith('AmazonSQS') || /Action=/.test(body.toString('latin1', 0, 200)) ? 'sqs' : 's3'
    const action = service === 'sqs' ? (target.split('.')[1] ?? /Action=(\w+)/.exec(body.toString('latin1'))?.[1] ?? 'unknown') : (req.method ?? 'GET')
    const path = req.url ?? '/'
    this.seen.set(action, (this.seen.get(action) ?? 0) + 1)
    const fault = this.rule({ service, action, path, headers: req.headers })
    this.log.push({ service, action, path, fault: fault.kind, at: Date.now() })
    if (fault.kind !== 'pass' && fault.kind !== 'delay' && fault.kind !== 'no-length' && fault.kind !== 'trickle') this.injected.set(action, (this.injected.get(action) ?? 0) + 1)

    if (fault.kind === 'reset') {
      req.socket.destroy()
      return
    }
    if (fault.kind === 'error') {
      this.sendError(res, service, fault.status, fault.code)
      return
    }
    if (fault.kind === 'answer') {
      res.writeHead(fault.status, fault.headers)
      res.end(fault.body)
      return
    }
    if (fault.kind === 'delay') {
      this.injected.set(`${action}:delay`, (this.injected.get(`${action}:delay`) ?? 0) + 1)
      await new Promise((r) => setTimeout(r, fault.ms))
    }
    const upstream = http.request(
      { host: this.target.hostname, port: this.target.port, method: req.method, path, headers: { ...req.headers, host: this.target.host } },
      (up) => {
        const headers = { ...up.headers }
        if (fault.kind === 'no-length') delete headers['content-length']
        res.writeHead(up.statusCode ?? 502, headers)
        if (fault.kind === 'cut' || fault.kind === 'stall') {
          let sent = 0
          up.on('data', (d: Buffer) => {
            if (sent >= fault.after) return
            const part = d.subarray(0, fault.after - sent)
            sent += part.length
            res.write(part)
            if (sent >= fault.after && fault.kind === 'cut') setImmediate(() => req.socket.destroy())
          })
          if (fault.kind === 'cut') up.on('end', () => req.socket.destroy())
        } else if (fault.kind === 'trickle') {
          void (async () => {
            const parts: Buffer[] = []
            for await (const d of up) parts.push(d as Buffer)
            const all = Buffer.concat(parts)
            for (let at = 0; at < all.length && !res.destroyed; at += fault.bytes) {
              res.write(all.subarray(at, at + fault.bytes))
              await new Promise((r) => setTimeout(r, fault.ms))
            }
            res.end()
          })()
        } else {
          up.pipe(res)
        }
      },
    )
    upstream.on('error', () => req.socket.destroy())
    upstream.end(body)
  }

  private sendError(res: http.ServerResponse, service: Service, status: number, code: string): void {
    if (service === 'sqs') {
      // The JSON protocol's error shape (and the query-compatible header the SDK reads the code from).
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${code};${status < 500 ? 'Sender' : 'Receiver'}` })
      res.end(JSON.stringify({ __type: `com.amazonaws.sqs#${code}`, message: `injected ${code}` }))
    } else {
      res.writeHead(status, { 'content-type': 'application/xml' })
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected ${code}</Message><RequestId>FAULT</RequestId></Error>`)
    }
  }
}

/** A deterministic "share" of requests: every n-th matching request gets the fault. */
export function everyNth(n: number, fault: Fault, match: (r: ProxiedRequest) => boolean): Rule {
  let i = 0
  return (r) => (match(r) && ++i % n === 0 ? fault : { kind: 'pass' })
}

export interface TransientFaultOptions {
  /** How long a slow answer is held, ms. */
  delayMs?: number
  /** Bytes of a body sent before the connection is reset; false leaves cut bodies out. */
  cutAfter?: number | false
}

/**
 * The transient faults of a real endpoint or the network between: a 500, a 503 SlowDown, a reset
 * connection, a slow answer and (unless `cutAfter` is false) a body cut short. The soak and the
 * reliability suite draw from this list.
 */
export function transientFaults({ delayMs = 1500, cutAfter = 200 }: TransientFaultOptions = {}): Fault[] {
  return [
    { kind: 'error', status: 500, code: 'InternalError' },
    { kind: 'error', status: 503, code: 'SlowDown' },
    { kind: 'reset' },
    { kind: 'delay', ms: delayMs },
    ...(cutAfter === false ? [] : [{ kind: 'cut', after: cutAfter } as const]),
  ]
}

/**
 * A `share` (0 to 1) of requests get one of `faults`, both drawn from `random` (seeded, for a test that
 * wants the same faults on every run). GetQueueAttributes always passes, so that the backlog the collector
 * reports stays true; an SQS answer cut short is a reset (they are small JSON bodies).
 */
export function faultShare(share: number, faults: readonly Fault[], random: () => number = Math.random): Rule {
  return (r) => {
    if (r.action === 'GetQueueAttributes' || random() >= share) return { kind: 'pass' }
    const fault = faults[Math.floor(random() * faults.length)]
    return r.service === 'sqs' && fault.kind === 'cut' ? { kind: 'reset' } : fault
  }
}
