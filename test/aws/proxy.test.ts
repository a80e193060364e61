// The HTTPS proxy: NO_PROXY's rules and the settings over the environment (no network), then SQS and S3
// through a CONNECT proxy of the test's own in front of fauxqs: the proxy sees the tunnels, NO_PROXY
// skips it, and a proxy that refuses or is not there is a transient failure that says so. The
// environment is always the test's own: the runner's HTTPS_PROXY or NO_PROXY must change nothing here.

import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { describe, expect, it } from 'vitest'
import type { AwsClients } from '../../src/aws/clients.ts'
import { clientsOf } from '../helpers/clients.ts'
import { describeRoute, DIRECT, proxyFor, proxySettings, type ProxySettings } from '../../src/aws/proxy.ts'
import { loadConfig } from '../../src/config.ts'
import { describeError, type CollectorError } from '../../src/errors.ts'
import { silentLogger } from '../../src/log.ts'
import { Fetcher } from '../../src/pipeline/fetcher.ts'
import { cleanup, emulator, useCleanup } from '../helpers/cleanup.ts'
import { inProcessCollector } from '../helpers/collector.ts'
import { credentials, type Emulator } from '../helpers/fauxqs.ts'
import { capture } from '../helpers/pipeline.ts'
import { waitUntil } from '../helpers/wait.ts'

useCleanup()

const KEY = 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/26/111122223333_CloudTrail_us-east-1_20261126T1200Z_abcdefghijklmnop.json.gz'

function rules(noProxy: string, proxy = 'http://proxy.corp:3128'): ProxySettings {
  return proxySettings(undefined, undefined, { HTTPS_PROXY: proxy, HTTP_PROXY: proxy, NO_PROXY: noProxy })
}

describe('proxy rules', () => {
  it('NO_PROXY: hosts with their subdomains, leading dots, ports, IP addresses, CIDR blocks and *', () => {
    const cases: [noProxy: string, url: string, direct: boolean][] = [
      ['', 'https://sqs.us-east-1.amazonaws.com/', false],
      ['s3.us-east-1.amazonaws.com', 'https://s3.us-east-1.amazonaws.com/', true],
      // A virtual-hosted bucket is a subdomain of the regional endpoint.
      ['s3.us-east-1.amazonaws.com', 'https://logs.s3.us-east-1.amazonaws.com/', true],
      ['s3.us-east-1.amazonaws.com', 'https://sqs.us-east-1.amazonaws.com/', false],
      ['amazonaws.com', 'https://notamazonaws.com/', false],
      ['.amazonaws.com', 'https://sqs.us-east-1.amazonaws.com/', true],
      ['.amazonaws.com', 'https://amazonaws.com/', false],
      ['*.amazonaws.com', 'https://s3.amazonaws.com/', true],
      ['AMAZONAWS.COM.', 'https://sqs.us-east-1.amazonaws.com/', true],
      ['127.0.0.1:9000', 'http://127.0.0.1:9000/', true],
      ['127.0.0.1:9000', 'http://127.0.0.1:9001/', false],
      ['sqs.us-east-1.amazonaws.com:443', 'https://sqs.us-east-1.amazonaws.com/', true],
      ['sqs.us-east-1.amazonaws.com:80', 'https://sqs.us-east-1.amazonaws.com/', false],
      ['10.0.0.0/8', 'http://10.1.2.3:9000/', true],
      ['10.0.0.0/8', 'http://11.1.2.3:9000/', false],
      ['::1', 'http://[::1]:9000/', true],
      ['[::1]:9000', 'http://[::1]:9000/', true],
      ['*', 'https://sqs.us-east-1.amazonaws.com/', true],
      ['localhost, *', 'https://s3.amazonaws.com/', true],
      ['localhost internal.corp', 'https://s3.internal.corp/', true],
    ]
    for (const [noProxy, url, direct] of cases) {
      expect({ noProxy, url, proxy: proxyFor(rules(noProxy), url) }).toEqual({ noProxy, url, proxy: direct ? null : 'http://proxy.corp:3128' })
    }
  })

  it('the setting over the environment, lower case before upper case, each scheme its own variable', () => {
    const env = { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2', HTTP_PROXY: 'plain:3', NO_PROXY: 'a.corp', no_proxy: 'b.corp' }
    const fromEnv = proxySettings(undefined, undefined, env)
    expect(fromEnv).toMatchObject({ https: 'http://lower:1', http: 'http://plain:3', noProxy: ['b.corp'], source: { https: 'https_proxy', http: 'HTTP_PROXY', noProxy: 'no_proxy' } })
    const set = proxySettings('https://u:p@proxy.corp:8443', ['c.corp'], env)
    expect(set).toMatchObject({ https: 'https://u:p@proxy.corp:8443', http: 'https://u:p@proxy.corp:8443', noProxy: ['c.corp'], source: { https: 'proxy', noProxy: 'no_proxy' } })
    expect(proxySettings(undefined, undefined, {})).toMatchObject({ https: null, http: null, noProxy: [] })
    expect(describeRoute(set, 'https://sqs.us-east-1.amazonaws.com/1/q')).toBe('https://***@proxy.corp:8443')
    expect(describeRoute(set, 'https://s3.c.corp')).toBe('direct')
    expect(describeRoute(DIRECT, 'https://sqs.us-east-1.amazonaws.com')).toBe('direct')
  })

  it('a proxy that is not http(s)://host:port is refused, naming where it came from, the password masked', () => {
    expect(() => proxySettings('socks5://proxy:1080', undefined, {})).toThrow(/^proxy: expected http:\/\/host:port/)
    expect(() => proxySettings(undefined, undefined, { HTTPS_PROXY: 'http://u:secret@proxy:3128/path' })).toThrow(/^HTTPS_PROXY: .*\*\*\*@proxy/)
    expect(() => proxySettings(undefined, undefined, { HTTPS_PROXY: 'http://u:secret@proxy:3128/path' })).not.toThrow(/secret/)
  })

  it('config: run reads the settings and the environment it is given; other commands never proxy', () => {
    const flags = { queue_url: 'https://sqs.us-east-1.amazonaws.com/111122223333/q', bucket: ['logs-bucket'] }
    const env = { HTTPS_PROXY: 'http://proxy.corp:3128', NO_PROXY: 's3.us-east-1.amazonaws.com' }
    const run = loadConfig('run', flags, env)
    expect(run.proxy).toMatchObject({ https: 'http://proxy.corp:3128', noProxy: ['s3.us-east-1.amazonaws.com'] })
    // Not enumerable: a proxy URL may hold a password.
    expect(JSON.stringify(run)).not.toContain('proxy.corp')
    expect(loadConfig('run', { ...flags, proxy: 'http://other:8080', no_proxy: ['x.corp'] }, env).proxy).toMatchObject({ https: 'http://other:8080', noProxy: ['x.corp'] })
    expect(loadConfig('demo', {}, env).proxy).toBe(DIRECT)
    expect(() => loadConfig('run', flags, { HTTPS_PROXY: 'ftp://proxy' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', setting: 'HTTPS_PROXY' }))
  })
})

/** An HTTP proxy that answers CONNECT by piping to the target, counting the tunnels; `auth` is the Proxy-Authorization it asks for. */
class ConnectProxy {
  readonly tunnels: string[] = []
  readonly refused: string[] = []
  /** Requests in absolute form (none expected: every proxied request tunnels). */
  forwarded = 0
  private readonly sockets = new Set<Socket>()

  private constructor(
    private readonly server: Server,
    private readonly auth: string | undefined,
  ) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
    })
    server.on('request', (_req, res) => {
      this.forwarded++
      res.writeHead(400).end()
    })
    server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => this.tunnel(req, socket, head))
  }

  static async start(auth?: { user: string; password: string }): Promise<ConnectProxy> {
    const server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return new ConnectProxy(server, auth && `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`)
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port
  }

  private tunnel(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => {})
    const target = req.url ?? ''
    if (this.auth !== undefined && req.headers['proxy-authorization'] !== this.auth) {
      this.refused.push(target)
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n')
      return
    }
    this.tunnels.push(target)
    const colon = target.lastIndexOf(':')
    const upstream = connect(Number(target.slice(colon + 1)), target.slice(0, colon), () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    this.sockets.add(upstream)
    upstream.on('close', () => this.sockets.delete(upstream))
    upstream.on('error', () => socket.destroy())
    socket.on('close', () => upstream.destroy())
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    this.server.close()
    await once(this.server, 'close')
  }
}

async function startProxy(auth?: { user: string; password: string }): Promise<ConnectProxy> {
  const proxy = await ConnectProxy.start(auth)
  cleanup(() => proxy.stop())
  return proxy
}

/** The collector's clients for the emulator, from `flags` and the environment `env` alone. */
function clientsFor(emu: Emulator, flags: Record<string, string | string[]>, env: NodeJS.ProcessEnv = {}): AwsClients {
  const config = loadConfig(
    'run',
    { queue_url: emu.queueUrl, endpoint: emu.endpoint, region: 'us-east-1', bucket: [emu.bucket], access_key_id: credentials.accessKeyId, secret_key: credentials.secretAccessKey, ...flags },
    env,
  )
  const clients = clientsOf(config)
  cleanup(async () => clients.destroy())
  return clients
}

function fetcherFor(emu: Emulator, clients: AwsClients): Fetcher {
  return new Fetcher(clients.s3, silentLogger(), { dispatcher: clients.s3Dispatcher, endpoint: emu.endpoint })
}

/** A message received and deleted, and an object fetched, with `clients`. */
async function roundTrip(emu: Emulator, clients: AwsClients): Promise<void> {
  await emu.send('hello')
  await emu.putObject(KEY, 'object body')
  const out = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: emu.queueUrl, WaitTimeSeconds: 0 }))
  expect(out.Messages?.map((m) => m.Body)).toEqual(['hello'])
  await clients.sqs.send(new DeleteMessageCommand({ QueueUrl: emu.queueUrl, ReceiptHandle: out.Messages![0].ReceiptHandle }))
  expect(emu.remaining()).toBe(0)
  const opened = await fetcherFor(emu, clients).open({ bucket: emu.bucket, key: KEY })
  expect('whole' in opened.input && Buffer.from(opened.input.whole).toString()).toBe('object body')
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (err) {
    return err as Error
  }
  throw new Error('did not fail')
}

describe('SQS and S3 through a CONNECT proxy', () => {
  it('the proxy setting, with credentials: SQS receive and delete, an S3 GET, each in a tunnel to the emulator', async () => {
    const emu = await emulator()
    const proxy = await startProxy({ user: 'collector', password: 'p@ss word' })
    // The runner's own NO_PROXY (often localhost,127.0.0.1) is not read: the environment is this one.
    const clients = clientsFor(emu, { proxy: `http://collector:p%40ss%20word@127.0.0.1:${proxy.port}` }, {})
    await roundTrip(emu, clients)
    const target = new URL(emu.endpoint).host
    expect(proxy.tunnels.length).toBeGreaterThanOrEqual(2)
    expect(new Set(proxy.tunnels)).toEqual(new Set([target]))
    expect(proxy.refused).toEqual([])
    expect(proxy.forwarded).toBe(0)
    // Keep-alive through the tunnels: more requests, one after another, open none.
    const tunnels = proxy.tunnels.length
    const fetcher = fetcherFor(emu, clients)
    for (let i = 0; i < 3; i++) {
      await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: emu.queueUrl, WaitTimeSeconds: 0 }))
      await fetcher.open({ bucket: emu.bucket, key: KEY })
    }
    expect(proxy.tunnels.length).toBe(tunnels)
  })

  it('HTTP_PROXY from the environment; NO_PROXY sends the emulator around it', async () => {
    const emu = await emulator()
    const proxy = await startProxy()
    const url = `http://127.0.0.1:${proxy.port}`
    await roundTrip(emu, clientsFor(emu, {}, { http_proxy: url }))
    const through = proxy.tunnels.length
    expect(through).toBeGreaterThanOrEqual(2)

    const port = new URL(emu.endpoint).port
    for (const noProxy of ['127.0.0.1', `127.0.0.1:${port}`, '127.0.0.0/8', '*']) {
      await roundTrip(emu, clientsFor(emu, {}, { HTTP_PROXY: url, NO_PROXY: noProxy }))
      await roundTrip(emu, clientsFor(emu, { proxy: url, no_proxy: [noProxy] }))
    }
    expect(proxy.tunnels.length).toBe(through)
    // HTTPS_PROXY is for https:// endpoints: the emulator's http:// is not proxied by it.
    await roundTrip(emu, clientsFor(emu, {}, { HTTPS_PROXY: url }))
    expect(proxy.tunnels.length).toBe(through)
  })

  it('a proxy that refuses (407) fails SQS and S3 with what it said, the password masked; S3 retries it as transient', async () => {
    const emu = await emulator()
    const proxy = await startProxy({ user: 'collector', password: 'right' })
    const clients = clientsFor(emu, { proxy: `http://collector:wrong-secret@127.0.0.1:${proxy.port}` })
    const sqs = await failure(clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: emu.queueUrl, WaitTimeSeconds: 0 })))
    expect(describeError(sqs).code).toBe('EPROXY')
    expect(sqs.message).toMatch(/proxy http:\/\/\*\*\*@127\.0\.0\.1:\d+ refused the connection to 127\.0\.0\.1:\d+ with HTTP 407: Proxy Authentication Required/)
    expect(sqs.message).not.toContain('wrong-secret')

    await emu.putObject(KEY, 'object body')
    const s3 = (await failure(fetcherFor(emu, clients).open({ bucket: emu.bucket, key: KEY }))) as CollectorError
    expect(s3.code).toBe('ERR_S3_TRANSIENT')
    expect(s3.message).toMatch(/EPROXY: the proxy http:\/\/\*\*\*@127\.0\.0\.1:\d+ refused the connection to 127\.0\.0\.1:\d+ with HTTP 407/)
    expect(s3.message).not.toContain('wrong-secret')
    expect(proxy.tunnels).toEqual([])
    expect(proxy.refused.length).toBeGreaterThanOrEqual(2)
  })

  it('a proxy that is not there: a transient failure naming it', async () => {
    const emu = await emulator()
    const gone = await ConnectProxy.start()
    const port = gone.port
    await gone.stop()
    const clients = clientsFor(emu, { proxy: `http://127.0.0.1:${port}` })
    const sqs = await failure(clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: emu.queueUrl, WaitTimeSeconds: 0 })))
    expect(sqs.message).toMatch(new RegExp(`ECONNREFUSED.*\\(through the proxy http://127\\.0\\.0\\.1:${port}\\)`))
    const s3 = (await failure(fetcherFor(emu, clients).open({ bucket: emu.bucket, key: KEY }))) as CollectorError
    expect(s3.code).toBe('ERR_S3_TRANSIENT')
    expect(s3.message).toMatch(new RegExp(`ECONNREFUSED.*\\(through the proxy http://127\\.0\\.0\\.1:${port}\\)`))
  })

  it('the collector: the start-up log names the proxy of each endpoint, masked, and the objects come through it', async () => {
    const emu = await emulator()
    const proxy = await startProxy({ user: 'collector', password: 'hunter2' })
    const { log, lines } = capture()
    await inProcessCollector(emu, emu.endpoint, { proxy: `http://collector:hunter2@127.0.0.1:${proxy.port}` }, log)
    const shown = `http://***@127.0.0.1:${proxy.port}`
    expect(lines.find((l) => l.msg === 'AWS endpoints and their proxy')).toMatchObject({ proxy: { sqs: shown, s3: shown } })
    expect(JSON.stringify(lines)).not.toContain('hunter2')
    await emu.putLog(KEY, [{ eventID: 'e1', eventName: 'GetObject' }])
    await emu.notify([KEY])
    await waitUntil(() => emu.remaining() === 0, 'the message processed and deleted')
    expect(new Set(proxy.tunnels)).toEqual(new Set([new URL(emu.endpoint).host]))
  })
})
