// What every sink test needs besides a destination: a recorder of confirmations, a logger whose lines the
// test can read, the error code of a confirmation; and, for the tls:// and https:// tests, a destination
// with throwaway certificates.

import pino from 'pino'
import { afterAll, afterEach, beforeAll } from 'vitest'
import type { Sink } from '../../src/sinks/sink.ts'
import type { TlsMaterial } from './servers.ts'
import { makeTestCerts, type TestCerts } from './tls-cert.ts'

export interface Confirmed {
  i: number
  err: Error | null
}

/** `confirmFor(i)` makes the confirm callback of write `i`; `results` lists the calls, in call order. */
export function recorder() {
  const results: Confirmed[] = []
  return { results, confirmFor: (i: number) => (err: Error | null) => results.push({ i, err }) }
}

/** A debug-level logger that keeps each line, parsed, in `lines`. */
export function captureLogger() {
  const lines: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  return { logger, lines }
}

/** The `code` of a confirmation's error; null for a success or an error without one. */
export const codeOf = (err: Error | null) => (err as { code?: string } | null)?.code ?? null

export interface TlsDestination<S> {
  /** Set before the block's first test. */
  readonly certs: TestCerts
  readonly server: S
  /** Returns `sink`, and destroys it after the test. */
  track<T extends Sink>(sink: T): T
}

/**
 * Call inside a describe block: before its tests, makes throwaway certificates and starts a server with
 * them (`start` is SyslogServer.start or TestHttpServer.start); after each test, destroys the sinks it
 * tracked; after the block, closes the server and deletes the certificates.
 */
export function tlsDestination<S extends { close(): Promise<void> }>(start: (material: TlsMaterial) => Promise<S>): TlsDestination<S> {
  const sinks: Sink[] = []
  let certs: TestCerts | undefined
  let server: S | undefined
  beforeAll(async () => {
    certs = await makeTestCerts()
    server = await start({ key: certs.key, cert: certs.cert })
  })
  afterEach(() => {
    for (const sink of sinks.splice(0)) sink.destroy()
  })
  afterAll(async () => {
    await server?.close()
    await certs?.cleanup()
  })
  return {
    get certs() {
      return certs!
    },
    get server() {
      return server!
    },
    track(sink) {
      sinks.push(sink)
      return sink
    },
  }
}
