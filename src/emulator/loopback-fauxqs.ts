// The fauxqs emulator (SQS, SNS and S3 on one port) listening on 127.0.0.1 only, for the demo, the tests and
// the benchmarks. fauxqs listens on every interface (1.9.2 and 2.x call listen with host "0.0.0.0"; their
// `host` option only names the host in queue URLs), which would open an emulator's queues and buckets to the
// network. Its startFauxqs builds its HTTP server synchronously, before its first await: for that one
// synchronous call, http.createServer hands out servers whose listen() binds 127.0.0.1. The address the
// emulator reports is checked afterwards, so that a fauxqs built otherwise fails here instead of listening
// everywhere.

import http from 'node:http'
import type { FauxqsServer } from 'fauxqs'

type FauxqsOptions = NonNullable<Parameters<(typeof import('fauxqs'))['startFauxqs']>[0]>

export const LOOPBACK = '127.0.0.1'

export async function startLoopbackFauxqs(options: Omit<FauxqsOptions, 'host'> = {}): Promise<FauxqsServer> {
  // Loaded here, not at import: `run` never needs fauxqs.
  const { startFauxqs } = await import('fauxqs')
  const module = http as { createServer: typeof http.createServer }
  const createServer = module.createServer
  module.createServer = ((...args: Parameters<typeof http.createServer>) => loopbackOnly(createServer(...args))) as typeof http.createServer
  let starting: Promise<FauxqsServer>
  try {
    starting = startFauxqs({ port: 0, logger: false, ...options })
  } finally {
    module.createServer = createServer
  }
  const server = await starting
  if (new URL(server.address).hostname !== LOOPBACK) {
    await server.stop()
    throw new Error(`fauxqs listened on ${server.address}, not on ${LOOPBACK} only: its server is no longer built as this module expects`)
  }
  return server
}

/** `server`, whose listen() binds 127.0.0.1 whatever host it is given (fastify passes an options object). */
function loopbackOnly(server: http.Server): http.Server {
  const listen = server.listen
  server.listen = function (this: http.Server, ...args: unknown[]) {
    if (typeof args[0] !== 'object' || args[0] === null) throw new Error('fauxqs: expected listen({ port, host })')
    return listen.call(this, { ...(args[0] as object), host: LOOPBACK }, ...(args.slice(1) as [])) as http.Server
  } as typeof server.listen
  return server
}
