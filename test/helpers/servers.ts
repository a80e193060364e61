// Small real servers on 127.0.0.1 for the sink tests: a TCP/TLS syslog receiver that parses RFC 6587
// octet-counted frames, and an HTTP(S) receiver whose answers can be switched while a test runs. Both can
// stop listening and come back on the same port, to look like a destination that went away.

import { once } from 'node:events'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import type { AddressInfo } from 'node:net'

export interface TlsMaterial {
  key: string
  cert: string
}

async function listen(server: net.Server, port = 0): Promise<number> {
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

/** Octet-counted syslog receiver (RFC 6587 §3.4.1: `LEN SP MSG`). */
export class SyslogServer {
  /** Every complete frame, `LEN SP MSG` bytes exactly as received, in arrival order. */
  readonly frames: Buffer[] = []
  /** The same frames by connection: byConnection[0] holds those of the first connection accepted. */
  readonly byConnection: Buffer[][] = []
  /** Connections accepted so far. */
  connections = 0
  /** Framing errors seen (a test expects none). */
  framingErrors = 0
  port = 0
  #server: net.Server
  #sockets = new Set<net.Socket>()
  #paused = false

  private constructor(material?: TlsMaterial) {
    const onSocket = (socket: net.Socket) => this.#accept(socket)
    this.#server = material ? tls.createServer(material, onSocket) : net.createServer(onSocket)
    this.#server.on('tlsClientError', () => {}) // a rejected client certificate check is part of some tests
  }

  static async start(material?: TlsMaterial): Promise<SyslogServer> {
    const server = new SyslogServer(material)
    server.port = await listen(server.#server)
    return server
  }

  /** Stops reading on every connection (present and future), so the client's buffers fill up. */
  pause(): void {
    this.#paused = true
    for (const socket of this.#sockets) socket.pause()
  }

  resume(): void {
    this.#paused = false
    for (const socket of this.#sockets) socket.resume()
  }

  /** Drops every connection with a TCP RST, as a crashed receiver would. */
  reset(): void {
    for (const socket of this.#sockets) socket.resetAndDestroy()
  }

  /** Stops listening and drops every connection: connects are refused until start(). */
  async stop(): Promise<void> {
    const closed = new Promise((resolve) => this.#server.close(resolve))
    for (const socket of this.#sockets) socket.destroy()
    await closed
  }

  /** Listens again on the same port. */
  async restart(): Promise<void> {
    await listen(this.#server, this.port)
  }

  async close(): Promise<void> {
    if (this.#server.listening) await this.stop()
  }

  #accept(socket: net.Socket): void {
    this.connections++
    const frames: Buffer[] = []
    this.byConnection.push(frames)
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
    socket.on('error', () => {})
    let buffered: Buffer = Buffer.alloc(0)
    socket.on('data', (data: Buffer) => {
      buffered = buffered.length === 0 ? data : Buffer.concat([buffered, data])
      let at = 0
      for (;;) {
        const space = buffered.indexOf(0x20, at)
        if (space < 0) break
        const digits = buffered.subarray(at, space).toString('latin1')
        if (!/^[1-9]\d{0,8}$/.test(digits)) {
          this.framingErrors++
          socket.destroy()
          return
        }
        const end = space + 1 + Number(digits)
        if (end > buffered.length) break
        const frame = Buffer.from(buffered.subarray(at, end))
        this.frames.push(frame)
        frames.push(frame)
        at = end
      }
      buffered = buffered.subarray(at) // an incomplete frame at close is simply dropped
    })
    if (this.#paused) socket.pause()
  }
}

export interface HttpAnswer {
  status: number
  headers?: Record<string, string>
  /** Wait this long before answering (a slow SIEM). */
  delayMs?: number
}

export interface RecordedRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  rawHeaders: string[]
  body: Buffer
  /** When the body had been read (Date.now()). */
  at: number
  /** What the server answered; 0 while it has not answered yet. */
  status: number
}

/** HTTP(S) receiver. `answer` decides each response and may be swapped at any time. */
export class TestHttpServer {
  readonly requests: RecordedRequest[] = []
  answer: (request: RecordedRequest) => HttpAnswer = () => ({ status: 200 })
  port = 0
  readonly #server: http.Server

  private constructor(material?: TlsMaterial) {
    // A client that gives up mid-body (destroy()) aborts the read; that request is simply not recorded.
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.#handle(req, res).catch(() => res.destroy())
    this.#server = material ? https.createServer(material, handler) : http.createServer(handler)
    this.#server.on('tlsClientError', () => {})
  }

  static async start(material?: TlsMaterial): Promise<TestHttpServer> {
    const server = new TestHttpServer(material)
    server.port = await listen(server.#server)
    return server
  }

  get url(): string {
    return `${this.#server instanceof https.Server ? 'https' : 'http'}://127.0.0.1:${this.port}/ingest`
  }

  get listening(): boolean {
    return this.#server.listening
  }

  /** Bodies the server answered with a 2xx, in arrival order. */
  accepted(): Buffer[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.body)
  }

  /** Stops listening and closes every connection: connects are refused until reopen(). */
  async refuse(): Promise<void> {
    const closed = new Promise((resolve) => this.#server.close(resolve))
    this.#server.closeAllConnections()
    await closed
  }

  /** Listens again on the same port. */
  async reopen(): Promise<void> {
    await listen(this.#server, this.port)
  }

  async close(): Promise<void> {
    if (this.#server.listening) await this.refuse()
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const parts: Buffer[] = []
    for await (const part of req) parts.push(part as Buffer)
    const request: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.concat(parts),
      at: Date.now(),
      status: 0,
    }
    this.requests.push(request)
    const answer = this.answer(request)
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs))
    request.status = answer.status
    res.writeHead(answer.status, answer.headers).end()
  }
}
