// A real syslog receiver for the sink tests: Debian's rsyslogd in the foreground, with its own config in
// a temp dir, listening on 127.0.0.1 (TCP, or TLS with the test CA), writing each message's MSG part as
// one line to a file. Installed by .ci/run (packages rsyslog, rsyslog-gnutls).

import { spawn, type ChildProcess } from 'node:child_process'
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
    return readFileSync(this.out, 'utf8').split('\n').filter(Boolean)
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
}

function listening(port: number): boolean {
  // /proc/net/tcp lists listening sockets (state 0A) with the port in hex.
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .some((l) => l.includes(`:${hex} `) && l.split(/\s+/)[4] === '0A')
}
