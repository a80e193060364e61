// Connections of the network sinks: the TLS client options they share, and a reachability check (a TCP
// connection, with the TLS handshake and certificate check for a secure one) for the HTTP sink's
// probe, over the same dial() the syslog sink connects with.

import net from 'node:net'
import tls from 'node:tls'

export interface TlsTrust {
  /** PEM trusted in addition to Node's default CAs. */
  ca?: string
  tlsInsecure?: boolean
}

/** TLS client options for `host`: SNI by name, the extra CA added to Node's bundle, verification unless told not to. */
export function tlsClientOptions(host: string, trust: TlsTrust): tls.ConnectionOptions {
  return {
    // SNI takes names only; with an IP the certificate is checked against the IP (subjectAltName IP:).
    servername: net.isIP(host) === 0 ? host : undefined,
    // `ca` replaces Node's bundle, so the defaults are added back.
    ca: trust.ca === undefined ? undefined : [...tls.rootCertificates, trust.ca],
    rejectUnauthorized: trust.tlsInsecure !== true,
  }
}

export const connectTimeoutMs = 10_000

/**
 * A TCP connection to host:port, or TLS over one when `secure` is given, destroyed with ETIMEDOUT unless
 * it is up within connectTimeoutMs; `ready` is the event that says it is up.
 */
export function dial(host: string, port: number, secure: TlsTrust | null): { socket: net.Socket; ready: 'connect' | 'secureConnect' } {
  const socket = secure ? tls.connect({ host, port, ...tlsClientOptions(host, secure) }) : net.connect({ host, port })
  const ready = secure ? 'secureConnect' : 'connect'
  socket.setTimeout(connectTimeoutMs, () => socket.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })))
  socket.once(ready, () => socket.setTimeout(0))
  return { socket, ready }
}

/** Opens a connection to host:port (and completes the TLS handshake when `secure`), then closes it: null, or why it failed. */
export function reach(host: string, port: number, secure: TlsTrust | null, signal: AbortSignal): Promise<Error | null> {
  return new Promise((resolve) => {
    const { socket, ready } = dial(host, port, secure)
    const done = (err: Error | null) => {
      signal.removeEventListener('abort', onAbort)
      socket.destroy()
      resolve(err)
    }
    const onAbort = () => done(new Error('aborted'))
    signal.addEventListener('abort', onAbort, { once: true })
    socket.once(ready, () => done(null))
    socket.once('error', done)
  })
}
