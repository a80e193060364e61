// A real syslog receiver for the sink tests: Debian's rsyslogd in the foreground, with its own config in
// a temp dir, listening on 127.0.0.1 (TCP, or TLS with the test CA), writing each message's MSG part as
// one line to a file. Installed by .ci/run (packages rsyslog, rsyslog-gnutls).

import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { terminate } from './child.ts'
import { freePort } from './process.ts'
import type { TestCerts } from './tls-cert.ts'
import { waitUntil } from './wait.ts'

export class Rsyslog {
  readonly dir = mkdtempSync(join(tmpdir(), 'ct-rsyslog-'))
  readonly out = join(this.dir, 'messages.log')
  port = 0
  private child: ChildProcess | null = null

  constructor(private readonly certs?: TestCerts) {}

  static async start(certs?: TestCerts): Promise<Rsyslog> {
    const r = new Rsyslog(certs)
    r.port = await freePort()
    await r.launch()
    return r
  }

  /** Lines written so far (each a message's MSG). */
  lines(): string[] {
    if (!existsSync(this.out)) return []
    // Whole lines only: rsyslogd may be writing the last one as we read.
    const text = readFileSync(this.out, 'utf8')
    return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean)
  }

  /**
   * The seq of each record rsyslogd wrote whole. A connection that breaks in the middle of a message may
   * leave rsyslogd writing the part it had (the sender cannot prevent that; the record comes again whole
   * on the next connection): such a line is not JSON and is left out.
   */
  seqs(): string[] {
    const out: string[] = []
    for (const line of this.lines()) {
      try {
        out.push(String((JSON.parse(line) as { seq: string }).seq))
      } catch {
        // a partial message
      }
    }
    return out
  }

  /** Starts rsyslogd (again) on the same port, appending to the same file. */
  async launch(): Promise<void> {
    const tls = this.certs
      ? `global(workDirectory="${this.dir}" DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="${this.certs.caFile}" DefaultNetstreamDriverCertFile="${join(this.dir, 'server.pem')}" DefaultNetstreamDriverKeyFile="${join(this.dir, 'server.key')}")\nmodule(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")`
      : `global(workDirectory="${this.dir}")\nmodule(load="imtcp")`
    if (this.certs) {
      writeFileSync(join(this.dir, 'server.pem'), this.certs.cert)
      writeFileSync(join(this.dir, 'server.key'), this.certs.key, { mode: 0o600 })
    }
    const conf = join(this.dir, 'rsyslog.conf')
    writeFileSync(
      conf,
      `${tls}\ninput(type="imtcp" address="127.0.0.1" port="${this.port}")\n` +
        `template(name="msgOnly" type="string" string="%msg%\\n")\n` +
        `action(type="omfile" file="${this.out}" template="msgOnly")\n`,
    )
    this.child = spawn('rsyslogd', ['-n', '-f', conf, '-i', join(this.dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    this.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    const port = this.port
    await waitUntil(() => listening(port), `rsyslogd to listen on ${port}`, 10_000).catch((err: Error) => {
      throw new Error(`${err.message} (${stderr.trim()})`) // what rsyslogd said by then
    })
  }

  /** SIGTERM (SIGKILL if it lingers): rsyslogd writes what it has read and exits; connections to it are then refused. */
  async stop(): Promise<void> {
    const child = this.child
    this.child = null
    if (child) await terminate(child)
  }

  /** SIGSTOP: rsyslogd reads nothing more; the kernel still accepts connections and holds what they send. */
  freeze(): void {
    this.child?.kill('SIGSTOP')
  }

  /** SIGKILL, as a crash: what the kernel held for it unread, and what it had read but not written, is gone. */
  async crash(): Promise<void> {
    const child = this.child
    this.child = null
    if (child === null || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }

  /** Bytes that arrived on connections to it and that it has not read (rx_queue in /proc/net/tcp). */
  unreadBytes(): number {
    return tcpSockets(this.port)
      .filter((s) => s.state === '01') // established, accepted or still in the accept queue
      .reduce((n, s) => n + s.rxQueue, 0)
  }
}

function listening(port: number): boolean {
  return tcpSockets(port).some((s) => s.state === '0A')
}

/** The sockets /proc/net/tcp lists with `port` as their local port: state (hex, 0A listening) and unread bytes. */
function tcpSockets(port: number): Array<{ state: string; rxQueue: number }> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hex}`))
    .map((f) => ({ state: f[3], rxQueue: Number.parseInt(f[4].split(':')[1], 16) }))
}
