// Which AWS endpoint goes through which proxy: the `proxy` and `no_proxy` settings over HTTPS_PROXY,
// HTTP_PROXY and NO_PROXY, resolved once at start (config.ts); proxy.ts makes the agents that follow them.
// Only the AWS endpoints (SQS, S3, STS) are proxied: the metrics endpoint listens, and the sinks connect
// on their own.
//
// The environment's proxy is chosen by the endpoint's scheme, lower-case names first (as curl and undici
// read them): https_proxy, HTTPS_PROXY for https:// endpoints, http_proxy, HTTP_PROXY for http:// ones.
// The `proxy` setting is for both. Loopback is not exempt: list it in NO_PROXY.
//
// NO_PROXY, as Go's net/http and undici read it: entries separated by commas or spaces; `*` is every host;
// `example.com` is that host and its subdomains; `.example.com` and `*.example.com` its subdomains only;
// `host:port` only that port; an IP address, or a CIDR block (10.0.0.0/8) for the IP addresses in it.
// Not proxy-from-env: it reads only process.env (the `proxy` setting and the tests' own environments are
// not there), and its `example.com` is that host alone, so NO_PROXY=s3.us-east-1.amazonaws.com would not
// cover a virtual-hosted example-bucket.s3.us-east-1.amazonaws.com.

import { BlockList, isIP } from 'node:net'
import { maskUrl } from '../log.ts'

/** Where requests go, resolved once from the settings and the environment (config.ts). */
export interface ProxySettings {
  /** For https:// endpoints: a proxy URL, or null for none. */
  readonly https: string | null
  /** For http:// endpoints (emulators, S3-compatible stores). */
  readonly http: string | null
  /** NO_PROXY's entries, lower case. */
  readonly noProxy: readonly string[]
  /** Where each came from, for the start-up log: 'proxy' (the setting) or the variable's name. */
  readonly source: { readonly https?: string; readonly http?: string; readonly noProxy?: string }
}

export const DIRECT: ProxySettings = Object.freeze({ https: null, http: null, noProxy: [], source: {} })

/**
 * The settings `proxy` and `no_proxy` (undefined when not set) over the environment. Throws with the name
 * of what is wrong: a proxy must be http://host:port or https://host:port, credentials allowed.
 */
export function proxySettings(proxy: string | undefined, noProxy: readonly string[] | undefined, env: NodeJS.ProcessEnv): ProxySettings {
  const pick = (...names: string[]) => {
    for (const name of names) {
      const value = env[name]?.trim()
      if (value) return { name, value }
    }
    return undefined
  }
  const https = proxy !== undefined ? { name: 'proxy', value: proxy } : pick('https_proxy', 'HTTPS_PROXY')
  const http = proxy !== undefined ? { name: 'proxy', value: proxy } : pick('http_proxy', 'HTTP_PROXY')
  const fromEnv = pick('no_proxy', 'NO_PROXY')
  const entries = noProxy ?? (fromEnv ? fromEnv.value.split(/[,\s]+/) : [])
  return Object.freeze({
    https: https ? proxyUrl(https.name, https.value) : null,
    http: http ? proxyUrl(http.name, http.value) : null,
    noProxy: Object.freeze(entries.map((e) => e.trim().toLowerCase()).filter((e) => e !== '')),
    source: Object.freeze({ https: https?.name, http: http?.name, noProxy: noProxy !== undefined ? 'no_proxy' : fromEnv?.name }),
  })
}

/** Throws a plain Error naming `name`; config.ts turns it into a ConfigError. */
function proxyUrl(name: string, value: string): string {
  // HTTPS_PROXY=host:port is common: the scheme is then http (the proxy itself is spoken to in clear).
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`
  let url: URL | null
  try {
    url = new URL(withScheme)
  } catch {
    url = null
  }
  if (url === null || !/^https?:$/.test(url.protocol) || url.hostname === '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new Error(`${name}: expected http://host:port or https://host:port (credentials as http://user:password@host:port), got ${JSON.stringify(maskUrl(withScheme))}`)
  }
  return url.href.replace(/\/$/, '')
}

/** The proxy for a request to `target` (an endpoint URL), or null when it goes directly. */
export function proxyFor(settings: ProxySettings, target: string | URL): string | null {
  const url = typeof target === 'string' ? new URL(target) : target
  const proxy = url.protocol === 'https:' ? settings.https : url.protocol === 'http:' ? settings.http : null
  if (proxy === null) return null
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80)
  return bypassed(settings.noProxy, url.hostname, port) ? null : proxy
}

function bypassed(entries: readonly string[], rawHost: string, port: number): boolean {
  const host = rawHost.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase()
  const ip = isIP(host)
  for (const raw of entries) {
    if (raw === '*') return true
    // host:port, [v6]:port; a bare IPv6 address has more than one colon.
    const bracketed = /^\[(.+)\](?::(\d+))?$/.exec(raw)
    const withPort = bracketed ? null : /^([^:]+):(\d+)$/.exec(raw)
    const name = bracketed?.[1] ?? withPort?.[1] ?? raw
    const entryPort = bracketed?.[2] ?? withPort?.[2]
    if (entryPort !== undefined && Number(entryPort) !== port) continue
    if (name === '*') return true
    if (name.includes('/')) {
      if (ip !== 0 && inBlock(name, host, ip)) return true
      continue
    }
    if (name.startsWith('*.') || name.startsWith('.')) {
      if (host.endsWith(name.slice(name.indexOf('.')))) return true
      continue
    }
    const bare = name.replace(/\.$/, '')
    if (host === bare || (ip === 0 && host.endsWith(`.${bare}`))) return true
  }
  return false
}

function inBlock(cidr: string, host: string, ip: number): boolean {
  const [net, bits] = cidr.split('/')
  const family = isIP(net)
  if (family === 0 || family !== ip || !/^\d+$/.test(bits)) return false
  const list = new BlockList()
  try {
    list.addSubnet(net, Number(bits), family === 4 ? 'ipv4' : 'ipv6')
  } catch {
    return false
  }
  return list.check(host, family === 4 ? 'ipv4' : 'ipv6')
}

/** What the start-up log says of an endpoint: the proxy (masked) it goes through, or 'direct'. */
export function describeRoute(settings: ProxySettings, endpoint: string): string {
  const proxy = proxyFor(settings, endpoint)
  return proxy === null ? 'direct' : showProxy(proxy)
}

/** The proxy as logs show it: credentials masked. */
export function showProxy(proxy: string): string {
  return maskUrl(proxy).replace(/\/$/, '')
}

