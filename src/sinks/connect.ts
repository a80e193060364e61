// Connections of the network sinks: the TLS client options they share, and a reachability check (a TCP
// connection, with the TLS handshake and certificate check for a secure one) for the HTTP sink's
// probe.

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

/** Opens a connection to host:port (and completes the TLS handshake when `secure`), then closes it: null, or why it failed. */
export function reach(host: string, port: number, secure: TlsTrust | null, signal: AbortSignal): Promise<Error | null> {
  return new Promise((resolve) => {
    const socket = secure ? tls.connect({ host, port, ...tlsClientOptions(host, secure) }) : net.connect({ host, port })
    const done = (err: Error | null) => {
      signal.removeEventListener('abort', onAbort)
      socket.destroy()
      resolve(err)
    }
    const onAbort = () => done(new Error('aborted'))
    signal.addEventListener('abort', onAbort, { once: true })
    socket.setTimeout(connectTimeoutMs, () => done(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })))
    socket.once(secure ? 'secureConnect' : 'connect', () => done(null))
    socket.once('error', done)
  })
}
