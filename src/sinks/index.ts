// The sink factory: parses `output`, validates the sink options once (naming the bad setting), reads the
// CA bundle, and builds one of the four sinks. Nothing here runs per record.

import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Config } from '../config.ts'
import { ConfigError } from '../errors.ts'
import { maskUrl, type Logger } from '../log.ts'
import type { TlsTrust } from './connect.ts'
import { FileSink } from './file.ts'
import { HttpSink } from './http.ts'
import type { Framing, Sink } from './sink.ts'
import { StdoutSink } from './stdout.ts'
import { SyslogSink } from './syslog.ts'

export type { Confirm, Framing, Sink } from './sink.ts'
export { FileSink, HttpSink, StdoutSink, SyslogSink }

export interface SinkOptions {
  /** 'stdout' | 'file:PATH' | 'tcp://host:port' | 'tls://host:port' | 'http://…' | 'https://…' */
  output: string
  /** Retries are logged at warn with the sink kind and the error code, never payload bytes. */
  logger: Logger
  /** Unconfirmed bytes at or above which write() returns false; default 8 MiB. */
  highWaterMark?: number
  /** Cap on the backoff between retries; default 30 000. */
  retryMaxDelayMs?: number
  /** PEM bundle trusted for tls:// and https://, in addition to Node's default CAs. */
  tlsCaFile?: string
  /** Skip certificate verification; default false. */
  tlsInsecure?: boolean
  /** Extra request headers (e.g. Authorization); never logged. */
  httpHeaders?: Record<string, string>
  /** Largest body of one POST; default 1 MiB (a single larger chunk is sent alone). */
  httpBatchBytes?: number
  /** How long a partial batch waits for more data; default 100. */
  httpLingerMs?: number
  /** Default 'application/x-ndjson'. */
  httpContentType?: string
  /** http(s): how long without an answered POST before the destination is probed again; default 30 000. */
  idleProbeMs?: number
  /** file: how often buffered writes are written and fsynced; default 100. */
  fsyncIntervalMs?: number
}

export type OutputTarget =
  | { kind: 'stdout' }
  | { kind: 'file'; path: string }
  | { kind: 'tcp' | 'tls'; host: string; port: number }
  | { kind: 'http' | 'https'; url: URL }

const expected = 'expected stdout, file:PATH, tcp://host:port, tls://host:port, http(s)://…'

/** The URL is shown masked (maskUrl): an HTTP destination's path or query may hold its token. */
function bad(output: string, why = expected): ConfigError {
  return new ConfigError('output', `${why}; got ${JSON.stringify(maskUrl(output))}`)
}

/** Parses `output`; throws ConfigError('output', …) for anything malformed. */
export function parseOutput(output: string): OutputTarget {
  if (output === 'stdout') return { kind: 'stdout' }
  if (output.startsWith('file:')) return { kind: 'file', path: filePath(output) }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(output)?.[1]?.toLowerCase()
  if (scheme === undefined) throw bad(output)
  let url: URL
  try {
    url = new URL(output)
  } catch {
    throw bad(output, `not a valid URL (${expected})`)
  }
  if (url.username !== '' || url.password !== '') {
    // Credentials in the URL would be logged with it and silently dropped by the HTTP client.
    // The message does not echo the URL, so the secret stays out of logs.
    throw new ConfigError('output', 'credentials do not belong in the URL: use http_header "Authorization: …"')
  }
  if (scheme === 'tcp' || scheme === 'tls') return { kind: scheme, ...hostPort(output, url) }
  if (scheme === 'http' || scheme === 'https') {
    if (url.hostname === '') throw bad(output, `${scheme}:// needs a host`)
    if (url.hash !== '') throw bad(output, `${scheme}:// URL must not have a #fragment`)
    return { kind: scheme, url }
  }
  throw bad(output)
}

function filePath(output: string): string {
  let path = output.slice('file:'.length)
  if (path.startsWith('//')) {
    try {
      path = fileURLToPath(output) // file:///var/log/x and file://localhost/var/log/x
    } catch (err) {
      throw bad(output, `not a usable file URL (${(err as Error).message})`)
    }
  }
  if (path.trim() === '') throw bad(output, 'file: needs a path, e.g. file:/var/log/cloudtrail.ndjson')
  return path
}

function hostPort(output: string, url: URL): { host: string; port: number } {
  const scheme = url.protocol.slice(0, -1)
  // Non-special schemes have no default port, so a missing port shows up as ''.
  if (url.port === '') throw bad(output, `${scheme}:// needs a port, e.g. ${scheme}://siem.example.com:6514`)
  if (url.hostname === '') throw bad(output, `${scheme}:// needs a host`)
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
    throw bad(output, `${scheme}:// takes only host:port`)
  }
  const port = Number(url.port)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(output, 'port must be 1-65535')
  // IPv6 literals keep their brackets in URL.hostname; net.connect wants them bare.
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  return { host, port }
}

/** How the parse workers must frame records for this output: 'syslog' for tcp:// and tls://. */
export function sinkFraming(output: string): Framing {
  const { kind } = parseOutput(output)
  return kind === 'tcp' || kind === 'tls' ? 'syslog' : 'lines'
}

export function createSink(options: SinkOptions): Sink {
  const target = parseOutput(options.output)
  checkInteger('highWaterMark', options.highWaterMark, 1)
  checkInteger('retryMaxDelayMs', options.retryMaxDelayMs, 1)
  checkInteger('httpBatchBytes', options.httpBatchBytes, 1)
  checkInteger('httpLingerMs', options.httpLingerMs, 0)
  checkInteger('idleProbeMs', options.idleProbeMs, 1)
  checkInteger('fsyncIntervalMs', options.fsyncIntervalMs, 0)
  const common = {
    logger: options.logger,
    highWaterMark: options.highWaterMark,
    retryMaxDelayMs: options.retryMaxDelayMs,
  }
  switch (target.kind) {
    case 'stdout':
      return new StdoutSink(process.stdout, common)
    case 'file':
      return new FileSink(target.path, { ...common, fsyncIntervalMs: options.fsyncIntervalMs })
    case 'tcp':
    case 'tls':
      return new SyslogSink(target, { ...common, ...tlsOptions(options) })
    case 'http':
    case 'https':
      checkHttpHeaders(options.httpHeaders ?? {})
      return new HttpSink(target.url, {
        ...common,
        ...tlsOptions(options),
        httpHeaders: options.httpHeaders,
        httpBatchBytes: options.httpBatchBytes,
        httpLingerMs: options.httpLingerMs,
        httpContentType: options.httpContentType,
        idleProbeMs: options.idleProbeMs,
      })
  }
}

function checkInteger(setting: string, value: number | undefined, min: number): void {
  if (value === undefined) return
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(setting, `must be an integer >= ${min}; got ${String(value)}`)
  }
}

/**
 * Headers the HTTP client owns, refused in http_header because every POST would fail or be misread:
 * the hop-by-hop fields of RFC 9110 §7.6.1 (Connection, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding,
 * Upgrade) and Trailer, the body's framing (Content-Length: each body has its own), Expect (undici's
 * request() refuses Transfer-Encoding, Keep-Alive, Upgrade and Expect outright), and Content-Encoding (the
 * body is never encoded). Host and Content-Type may be set.
 */
const clientHeaders = new Set(['connection', 'content-encoding', 'content-length', 'expect', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

/**
 * Throws ConfigError('http_header') for a header undici would refuse on every request or that the client
 * owns. A name is shown only once it is a valid token; a value never is: it may be a token.
 */
export function checkHttpHeaders(headers: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(headers)) {
    // RFC 9110 field-name (token), as undici checks it.
    const badChar = name.search(/[^!#$%&'*+.^_`|~0-9a-z-]/i)
    if (name === '' || badChar >= 0) throw new ConfigError('http_header', `invalid header name: ${name === '' ? 'empty' : `character ${badChar + 1} is not allowed in a name`}`)
    if (clientHeaders.has(name.toLowerCase())) throw new ConfigError('http_header', `${name} is set by the HTTP client and cannot be given`)
    // undici's rule: HTAB, visible ASCII and space, obs-text (0x80-0xff); no CR, LF, NUL or other controls.
    if (typeof value !== 'string' || /[^\t\x20-\x7e\x80-\xff]/.test(value)) {
      throw new ConfigError('http_header', `invalid value for header ${name}: control characters (CR, LF, NUL) or characters beyond U+00FF`)
    }
  }
}

/** The PEM bundle at `path`, every certificate in it parsed: a broken one would fail every TLS handshake later. */
export function readCaBundle(path: string): string {
  let ca: string
  try {
    ca = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError('tls_ca_file', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const blocks = ca.match(/-----BEGIN CERTIFICATE-----[^]*?-----END CERTIFICATE-----/g) ?? []
  if (blocks.length === 0) throw new ConfigError('tls_ca_file', `${path} holds no PEM certificate`)
  blocks.forEach((pem, i) => {
    try {
      new X509Certificate(pem)
    } catch (err) {
      throw new ConfigError('tls_ca_file', `${path}: certificate ${i + 1} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'invalid'})`)
    }
  })
  return ca
}

function tlsOptions(options: SinkOptions): TlsTrust {
  if (options.tlsCaFile === undefined) return { tlsInsecure: options.tlsInsecure }
  return { ca: readCaBundle(options.tlsCaFile), tlsInsecure: options.tlsInsecure }
}

/** The sink a command (run, parse, demo) writes to, from the config. */
export function sinkFor(config: Config, logger: Logger): Sink {
  return createSink({
    output: config.output,
    logger,
    tlsCaFile: config.tlsCaFile,
    tlsInsecure: config.tlsInsecure,
    httpHeaders: { ...config.httpHeaders },
    httpBatchBytes: config.httpBatchBytes,
    httpContentType: config.format === 'json' ? 'application/x-ndjson' : 'text/plain; charset=utf-8',
  })
}
