// The operator's endpoint: /metrics (Prometheus text), /healthz (the process is alive), /readyz (SQS
// answered and the sink accepts writes). Bound to 127.0.0.1 unless metrics_host says otherwise.

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Metrics } from './metrics.ts'

export interface Readiness {
  /** Each check: true when ready; the names appear in the /readyz body. */
  checks: () => Record<string, boolean>
}

export interface MetricsServer {
  readonly port: number
  readonly url: string
  close(): Promise<void>
}

export function startMetricsServer(metrics: Metrics, readiness: Readiness, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
      )
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
    } else if (path === '/readyz') {
      const checks = readiness.checks()
      const ready = Object.values(checks).every(Boolean)
      const body = Object.entries(checks).map(([name, ok]) => `${name}: ${ok ? 'ok' : 'failing'}`).join('\n') + '\n'
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(body)
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n')
    }
  })
  server.keepAliveTimeout = 65_000
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      const address = server.address() as AddressInfo
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
      resolve({
        port: address.port,
        url: `http://${shownHost}:${address.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections()
          }),
      })
    })
  })
}
