// Nothing the demo, the tests or the benchmarks start listens beyond loopback: the demo's emulator and
// metrics endpoint (the built CLI), and the servers the suites start in-process (fauxqs, the benchmarks'
// emulator, the fault proxy, the test SIEMs). Each is checked in the kernel's table of listening sockets
// (its address must be 127.0.0.1), and by a connection through this host's other address when it has one.

import { readFileSync } from 'node:fs'
import net from 'node:net'
import { networkInterfaces } from 'node:os'
import { describe, expect, it } from 'vitest'
import { CloudTrailEmulator } from '../../src/emulator/cloudtrail-emulator.ts'
import { cleanup, useCleanup } from '../helpers/cleanup.ts'
import { FaultProxy } from '../helpers/fault-proxy.ts'
import { startCli, startEmulator } from '../helpers/fauxqs.ts'
import { freePort } from '../helpers/process.ts'
import { tmpFile } from '../helpers/seed.ts'
import { SyslogServer, TestHttpServer } from '../helpers/servers.ts'
import { waitUntil } from '../helpers/wait.ts'

/** Local addresses of the sockets listening on `port`, from /proc/net/tcp and tcp6 (state 0A). */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  const found: string[] = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/)
      if (state !== '0A' || !local?.endsWith(`:${hexPort}`)) continue
      found.push(address(local.slice(0, -5)))
    }
  }
  return found
}

/** /proc/net's hex address (IPv4 as one little-endian word; IPv6 as four) as text. */
function address(hex: string): string {
  const bytes = Buffer.from(hex, 'hex')
  for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse()
  if (bytes.length === 4) return [...bytes].join('.')
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16))
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')
}

/** An IPv4 address of this host other than loopback, if it has one. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

async function expectLoopbackOnly(port: number): Promise<void> {
  expect(listeners(port)).toEqual(['127.0.0.1'])
  expect(await connects('127.0.0.1', port)).toBe(true)
  if (external !== undefined) expect(await connects(external, port)).toBe(false)
}

describe('nothing listens beyond loopback', () => {
  useCleanup()

  it("the demo's emulator and metrics endpoint", async () => {
    const metricsPort = await freePort()
    const demo = startCli(['demo', '--duration', '30', '--eps', '100', '--output', `file:${tmpFile('ct-loopback-')}`, '--metrics-port', String(metricsPort)])
    cleanup(async () => {
      demo.child.kill('SIGKILL')
      await demo.result
    })
    let endpoint = ''
    await waitUntil(
      () => {
        const started = demo.stderr().split('\n').find((l) => l.includes('demo: Prometheus metrics'))
        const emulator = demo.stderr().split('\n').find((l) => l.includes('fauxqs emulator started'))
        if (started && emulator) endpoint = (JSON.parse(emulator) as { endpoint: string }).endpoint
        return endpoint !== ''
      },
      'the demo to start',
      30_000,
    )
    expect(new URL(endpoint).hostname).toBe('127.0.0.1')
    await expectLoopbackOnly(Number(new URL(endpoint).port))
    await expectLoopbackOnly(metricsPort)
    demo.child.kill('SIGTERM')
    expect((await demo.result).code).toBe(0)
  }, 60_000)

  it("the suites' fauxqs, the harness's emulator as the benchmarks start it, the fault proxy and the test SIEMs", async () => {
    const emu = await startEmulator()
    cleanup(() => emu.stop())
    const bench = await CloudTrailEmulator.start()
    cleanup(() => bench.stop())
    const proxy = await FaultProxy.start(emu.endpoint)
    cleanup(() => proxy.stop())
    const http = await TestHttpServer.start()
    cleanup(() => http.close())
    const syslog = await SyslogServer.start()
    cleanup(() => syslog.close())
    for (const port of [emu.server.port, bench.server.port, Number(new URL(proxy.url).port), http.port, syslog.port]) await expectLoopbackOnly(port)
  })
})
