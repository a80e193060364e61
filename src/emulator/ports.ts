// A free TCP port on 127.0.0.1 for a server started in another process (a collector's --metrics-port,
// where 0 turns the server off; Prometheus; rsyslog). Used by the benchmarks and the tests.

import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/** The kernel's range of ephemeral ports, the ones it gives to bind(0) and to outgoing connections. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    if (low > 0 && high >= low) return [low, high]
  } catch {}
  return [32768, 60999]
}

async function bindable(port: number): Promise<boolean> {
  const server = createServer()
  return new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A free port, chosen below the ephemeral range. A port from bind(0) comes from that range, and in the
 * moment between this check and the other process's own bind it can be taken as the local port of an
 * outgoing connection; the suites and benchmarks running alongside open thousands of them.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange()
  // 10000 up to the range; anywhere above 10000 on a machine whose range starts lower than that.
  const ceiling = low > 11_000 ? low : 65_536
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (ceiling - 10_000))
    if (await bindable(port)) return port
  }
  throw new Error('no free port found')
}
