// The agents that follow proxy-rules.ts for the AWS endpoints. Two stacks, one decision. S3's GETs go
// over undici (s3-client.ts): a dispatcher that sends each origin to undici's ProxyAgent or to the direct
// Agent. SQS and STS go through the SDK's NodeHttpHandler over node:http(s) agents: an agent that hands
// each request to https-proxy-agent or to the direct keep-alive agent. Kept so rather than an SDK handler
// over undici: NodeHttpHandler's timeouts, socket accounting and body streams are the SDK's own and stay
// as they are; https-proxy-agent is an http.Agent, so the same keep-alive options apply through the proxy.
//
// Every proxied request goes through a CONNECT tunnel, http:// endpoints too (not absolute-form
// forwarding): one path for every endpoint, the one the tests take against the emulator, and signed
// requests are never parsed by the proxy. A proxy that allows CONNECT only to port 443 (Squid's default)
// refuses http:// endpoints; those are an emulator's or an S3-compatible store's, which belong in NO_PROXY.

import { Agent as HttpAgent, type AgentOptions, type ClientRequest } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { isIP, type Socket } from 'node:net'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { Agent as RoutingBase, type AgentConnectOpts } from 'agent-base'
import { HttpsProxyAgent } from 'https-proxy-agent'
import { Agent, Dispatcher, Pool, ProxyAgent } from 'undici'
import { proxyFor, showProxy, type ProxySettings } from './proxy-rules.ts'

export { describeRoute, DIRECT, proxyFor, proxySettings, showProxy, type ProxySettings } from './proxy-rules.ts'

/** An error of the proxy itself (it refused the tunnel, or is not there): transient, like the network's. */
export class ProxyError extends Error {
  readonly code = 'EPROXY'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ProxyError'
  }
}

// --- undici (S3's GETs) ---

/**
 * The direct Agent with `options`, or, when a proxy is configured, a dispatcher sending each origin through
 * undici's ProxyAgent (one per proxy, with the same pool and timeout options) or the direct Agent.
 */
export function proxiedDispatcher(settings: ProxySettings, options: Agent.Options): Dispatcher {
  const direct = new Agent(options)
  if (settings.https === null && settings.http === null) return direct
  return new ProxyRouter(settings, direct, options)
}

class ProxyRouter extends Dispatcher {
  private readonly proxies = new Map<string, ProxyAgent>()

  constructor(
    private readonly settings: ProxySettings,
    private readonly direct: Agent,
    private readonly options: Agent.Options,
  ) {
    super()
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = String(options.origin)
    const proxy = proxyFor(this.settings, origin)
    if (proxy === null) return this.direct.dispatch(options, handler)
    return this.agentFor(proxy).dispatch(options, new ProxiedHandler(handler, proxy, origin))
  }

  private agentFor(proxy: string): ProxyAgent {
    let agent = this.proxies.get(proxy)
    if (agent === undefined) {
      const timeout = this.options.headersTimeout
      agent = new ProxyAgent({
        ...this.options,
        uri: proxy,
        proxyTunnel: true,
        // The proxy's answer to CONNECT waits as long as an answer does, not undici's 300 s.
        clientFactory: (origin, opts) => new Pool(origin, { ...opts, headersTimeout: timeout, bodyTimeout: timeout }),
      })
      this.proxies.set(proxy, agent)
    }
    return agent
  }

  override close(): Promise<void>
  override close(callback: () => void): void
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all([this.direct.close(), ...[...this.proxies.values()].map((a) => a.close())]).then(() => {})
    if (callback) void done.then(callback)
    else return done
  }

  override destroy(): Promise<void>
  override destroy(err: Error | null): Promise<void>
  override destroy(callback: () => void): void
  override destroy(err: Error | null, callback: () => void): void
  override destroy(errOrCallback?: Error | null | (() => void), callback?: () => void): Promise<void> | void {
    const err = typeof errOrCallback === 'function' ? null : (errOrCallback ?? null)
    const cb = typeof errOrCallback === 'function' ? errOrCallback : callback
    const done = Promise.all([this.direct.destroy(err), ...[...this.proxies.values()].map((a) => a.destroy(err))]).then(() => {})
    if (cb) void done.then(cb)
    else return done
  }
}

/** Says which proxy a request failed through, before any answer came: the proxy's own refusal or absence. */
class ProxiedHandler implements Dispatcher.DispatchHandler {
  private answered = false

  constructor(
    private readonly inner: Dispatcher.DispatchHandler,
    private readonly proxy: string,
    private readonly origin: string,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.inner.onRequestStart?.(controller, context)
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>, message: string): void {
    this.answered = true
    this.inner.onResponseStart?.(controller, status, headers, message)
  }

  onResponseData(controller: Dispatcher.DispatchController, data: Buffer): void {
    this.inner.onResponseData?.(controller, data)
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    this.inner.onResponseEnd?.(controller, trailers)
  }

  onResponseError(controller: Dispatcher.DispatchController | null, err: Error): void {
    this.inner.onResponseError?.(controller as Dispatcher.DispatchController, this.answered ? err : proxyFailure(err, this.proxy, new URL(this.origin).host))
  }
}

/** undici's "Proxy response (407) !== 200 when HTTP Tunneling", or a connection to the proxy that failed. */
function proxyFailure(err: Error, proxy: string, target: string): Error {
  const status = /Proxy response \((\d+)\)/.exec(err.message)?.[1] ?? (/Proxy Authentication Required \((\d+)\)/.exec(err.message)?.[1])
  if (status !== undefined) return refused(proxy, target, Number(status), err)
  const code = (err as { code?: unknown }).code
  const e = new ProxyError(`${typeof code === 'string' ? `${code}: ` : ''}${err.message} (through the proxy ${showProxy(proxy)})`, { cause: err })
  return e
}

function refused(proxy: string, target: string, status: number, cause?: unknown): ProxyError {
  const hint = status === 407 ? ': Proxy Authentication Required (check the credentials in the proxy URL)' : ''
  return new ProxyError(`the proxy ${showProxy(proxy)} refused the connection to ${target} with HTTP ${status}${hint}`, { cause })
}

// --- node:http(s) (SQS, STS: the SDK's NodeHttpHandler) ---

export interface NodeAgents {
  httpAgent: HttpAgent
  httpsAgent: HttpsAgent
}

/** The keep-alive agents for a NodeHttpHandler, routing each request by the rules when a proxy is configured. */
export function proxiedAgents(settings: ProxySettings, options: AgentOptions): NodeAgents {
  const httpAgent = new HttpAgent(options)
  const httpsAgent = new HttpsAgent(options)
  if (settings.https === null && settings.http === null) return { httpAgent, httpsAgent }
  return {
    httpAgent: new RoutingAgent(settings, httpAgent, options, 'http:') as unknown as HttpAgent,
    httpsAgent: new RoutingAgent(settings, httpsAgent, options, 'https:') as unknown as HttpsAgent,
  }
}

/**
 * A NodeHttpHandler over proxiedAgents: what the SQS client uses, and what an STS client (credentials)
 * takes to reach STS the same way.
 */
export function proxiedHandler(settings: ProxySettings, options: { maxSockets: number; requestTimeout: number; connectionTimeout?: number }): NodeHttpHandler {
  const agentOptions = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: options.maxSockets, maxFreeSockets: options.maxSockets, scheduling: 'lifo' as const }
  return new NodeHttpHandler({ ...proxiedAgents(settings, agentOptions), connectionTimeout: options.connectionTimeout ?? 10_000, requestTimeout: options.requestTimeout })
}

/** agent-base hands the request on to the agent connect() returns: the direct one, or the proxy's. */
class RoutingAgent extends RoutingBase {
  private readonly proxies = new Map<string, HttpAgent>()

  constructor(
    private readonly settings: ProxySettings,
    private readonly direct: HttpAgent,
    private readonly agentOptions: AgentOptions,
    protocol: 'http:' | 'https:',
  ) {
    // Its own keepAlive decides the requests' Connection header (node:http reads it from the request's
    // agent), though the sockets are pooled by the agents it hands them to.
    super(agentOptions)
    this.protocol = protocol
  }

  connect(_req: ClientRequest, options: AgentConnectOpts): HttpAgent {
    const scheme = options.secureEndpoint ? 'https' : 'http'
    const host = options.host ?? 'localhost'
    const target = new URL(`${scheme}://${isIP(host) === 6 ? `[${host}]` : host}:${options.port}`)
    const proxy = proxyFor(this.settings, target)
    if (proxy === null) return this.direct
    let agent = this.proxies.get(proxy)
    if (agent === undefined) {
      agent = new TunnelAgent(proxy, this.agentOptions)
      this.proxies.set(proxy, agent)
    }
    return agent
  }

  override destroy(): void {
    this.direct.destroy()
    for (const agent of this.proxies.values()) agent.destroy()
    super.destroy()
  }
}

/**
 * https-proxy-agent, failing when the proxy refuses the tunnel: left to itself it replays the proxy's
 * answer (a 407, say) as if the endpoint had given it, and the SDK would report an unknown error.
 */
class TunnelAgent extends HttpsProxyAgent<string> {
  private readonly shown: string

  constructor(proxy: string, options: AgentOptions) {
    super(proxy, options)
    this.shown = proxy
  }

  override async connect(req: ClientRequest, options: AgentConnectOpts): Promise<Socket> {
    let status = 200
    const onConnect = (answer: { statusCode: number }) => {
      status = answer.statusCode
    }
    req.once('proxyConnect', onConnect)
    let socket: Socket
    try {
      socket = await super.connect(req, options)
    } catch (err) {
      throw proxyFailure(err as Error, this.shown, `${options.host}:${options.port}`)
    } finally {
      req.off('proxyConnect', onConnect)
    }
    if (status !== 200) {
      socket.destroy()
      throw refused(this.shown, `${options.host}:${options.port}`, status)
    }
    return socket
  }
}
