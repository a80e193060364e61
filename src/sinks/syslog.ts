// tcp:// and tls:// syslog sink. The caller has already applied RFC 6587 octet counting; chunks are
// written as they are, over one persistent connection that is reopened with backoff when it fails.
//
// What a confirmation means here: TCP syslog has no application-level acknowledgement, so a chunk is
// confirmed when socket.write's callback reports it handed to the kernel. Bytes the kernel accepted but the
// receiver had not read when the connection broke (it was stopped, crashed, or reset) would be lost
// although confirmed, so the last RESEND_BYTES confirmed are kept and written again first on the next
// connection, before the chunks whose callback had not fired (at-least-once: a reconnect may duplicate up
// to RESEND_BYTES of records). What is written again is tracked like any other write: handed to the kernel,
// it is among the last RESEND_BYTES again; if that connection breaks too, before or after, it goes out on
// the next one. What a receiver loses after reading it is the receiver's to keep. On close, the connection
// is ended and kept until the receiver closes its side too (it has read everything then), not for a fixed
// grace: a slow receiver still gets what was confirmed (and so deleted from SQS) before the process exits.
//
// The connection is kept open, from the start and while idle, not opened at the first write: so a wrong
// address or a receiver that is down shows in /readyz (and the log) at start, and a receiver that went
// away while nothing was sent shows before the next records. Until it connects the sink is not healthy;
// it keeps trying with backoff.

import net from 'node:net'
import { sleep } from '../sleep.ts'
import { CollectorError, describeError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { retryDelayMs, sinkPolicy } from '../retry.ts'
import { SinkBase } from './base.ts'
import { dial, type TlsTrust } from './connect.ts'
import type { Pending } from './ledger.ts'
import type { OutputTarget } from './output.ts'
import type { Confirm } from './sink.ts'

/** What parseOutput makes of tcp://host:port and tls://host:port. */
export type SyslogTarget = Extract<OutputTarget, { kind: 'tcp' | 'tls' }>

export interface SyslogSinkOptions extends TlsTrust {
  logger: Logger
  highWaterMark?: number
  retryMaxDelayMs?: number
}

const keepAliveDelayMs = 30_000
/**
 * How long close() waits for the receiver to close its side after ours. That close is the only sign TCP
 * syslog gives that the receiver read everything (it reads our end of stream last); until then what the
 * kernel holds for it may be unread, although confirmed. As long as the collector's default shutdown_timeout.
 */
const endTimeoutMs = 30_000
/** More than the kernel's socket buffers hold on both ends (Linux autotunes to 4 MiB send, 6 MiB receive). */
export const RESEND_BYTES = 16 << 20

/** The ledger holds the unconfirmed chunks in write order; those already written to the current socket come first. */
export class SyslogSink extends SinkBase {
  readonly kind: 'tcp' | 'tls'
  readonly framing = 'syslog' as const
  /** Confirmed chunks stay in the replay window (#recent). */
  readonly keepsConfirmed = true
  readonly #target: SyslogTarget
  readonly #logger: Logger
  readonly #retryMaxDelayMs: number
  /** For tls://; null for tcp://. */
  readonly #trust: TlsTrust | null
  #socket: net.Socket | null = null
  #connected = false
  #lastError: Error | null = null
  #waitingToReconnect = false
  #attempt = 0
  #healthy = false
  readonly #abort = new AbortController()
  /**
   * Chunks handed to the kernel on the current connection (≤ RESEND_BYTES), oldest first: written again
   * after it breaks. Those written again on it come first, since they were written first.
   */
  #recent: Uint8Array[] = []
  #recentBytes = 0
  /** Chunks to write first on the next connection. */
  #resend: Uint8Array[] = []
  /** Chunks written again on the current connection whose callback has not fired yet, oldest first. */
  #resending: Uint8Array[] = []

  constructor(target: SyslogTarget, options: SyslogSinkOptions) {
    super(options.highWaterMark)
    this.kind = target.kind
    this.#target = target
    this.#logger = options.logger
    this.#retryMaxDelayMs = options.retryMaxDelayMs ?? 30_000
    this.#trust = target.kind === 'tls' ? { ca: options.ca, tlsInsecure: options.tlsInsecure } : null
    this.#connect()
  }

  get healthy(): boolean {
    return this.#healthy
  }

  protected override accept(chunk: Uint8Array, confirm: Confirm): boolean {
    const entry = { chunk, confirm }
    const more = this.ledger.add(entry)
    if (this.#connected) this.#send(this.#socket!, entry)
    else this.#connect()
    return more
  }

  protected override release(): Promise<void> {
    return this.#endSocket()
  }

  protected override stop(): void {
    this.#abort.abort()
    this.#socket?.destroy()
  }

  /** Opens a connection, unless one is open or pending. */
  #connect(): void {
    if (this.#socket !== null || this.#waitingToReconnect || this.destroyed) return
    this.#lastError = null
    const { socket, ready } = dial(this.#target.host, this.#target.port, this.#trust)
    this.#socket = socket
    socket.once(ready, () => {
      socket.setNoDelay(true)
      socket.setKeepAlive(true, keepAliveDelayMs)
      this.#connected = true
      this.#healthy = true
      const resend = this.#resend
      this.#resend = []
      this.#resending = resend
      for (const chunk of resend) this.#sendAgain(socket, chunk)
      if (resend.length > 0) this.#logger.warn({ sink: this.kind, chunks: resend.length }, 'wrote recently confirmed records again after a broken connection (duplicates possible)')
      for (const entry of this.ledger.entries) this.#send(socket, entry)
    })
    socket.on('error', (err) => {
      this.#lastError = err
    })
    // A syslog receiver sends nothing; reading is only how we learn that it closed (it never half-closes
    // on purpose), so that the next chunks go to a new connection instead of into a dead one.
    socket.on('data', () => {})
    socket.on('end', () => socket.destroy())
    socket.on('close', () => this.#onClose(socket))
  }

  #send(socket: net.Socket, entry: Pending): void {
    socket.write(entry.chunk, (err) => {
      // Callbacks from a socket that has since been replaced are ignored: its unconfirmed chunks are
      // already queued for the next connection. A socket calls back in write order.
      if (err || this.#socket !== socket) return
      this.#attempt = 0
      this.#healthy = true
      const index = this.ledger.entries.indexOf(entry)
      if (index < 0) return
      for (let i = 0; i <= index; i++) this.#remember(this.ledger.entries[i].chunk)
      this.ledger.settle(index + 1, null)
    })
  }

  /** Writes a chunk confirmed on an earlier connection; once in the kernel it is among the recent ones again. */
  #sendAgain(socket: net.Socket, chunk: Uint8Array): void {
    socket.write(chunk, (err) => {
      if (err || this.#socket !== socket) return
      this.#resending.shift() // this chunk: a socket calls back in write order
      this.#remember(chunk)
    })
  }

  #remember(chunk: Uint8Array): void {
    this.#recent.push(chunk)
    this.#recentBytes += chunk.byteLength
    while (this.#recentBytes > RESEND_BYTES && this.#recent.length > 1) this.#recentBytes -= this.#recent.shift()!.byteLength
  }

  #onClose(socket: net.Socket): void {
    if (this.#socket !== socket) return
    this.#socket = null
    const wasConnected = this.#connected
    this.#connected = false
    if (this.destroyed || this.closed) return
    if (wasConnected) {
      // We did not close it: what the receiver had not read yet is gone with the connection. In write
      // order: what the kernel took (the re-sent chunks first), then the re-sent chunks it had not taken
      // yet (while any is left, no later chunk was confirmed on this connection).
      this.#resend = [...this.#recent, ...this.#resending]
      this.#recent = []
      this.#recentBytes = 0
      this.#resending = []
    }
    const delayMs = retryDelayMs(sinkPolicy(this.#retryMaxDelayMs), ++this.#attempt)
    const code = this.#lastError === null ? 'ECLOSED' : describeError(this.#lastError).code
    const idle = wasConnected && this.ledger.entries.length === 0 && this.#resend.length === 0
    if (idle) {
      // Closed while there was nothing to send (a receiver restarting, an idle timeout on the way): not a
      // failure yet. Reconnecting now, rather than at the next write, keeps /readyz true to the receiver.
      this.#logger.info({ sink: this.kind, code, delayMs }, 'syslog connection closed while idle; reconnecting')
    } else {
      this.#healthy = false
      this.#logger.warn({ sink: this.kind, code, attempt: this.#attempt, delayMs }, 'syslog connection failed; reconnecting')
    }
    this.#waitingToReconnect = true
    void sleep(delayMs, this.#abort.signal).then(() => {
      this.#waitingToReconnect = false
      this.#connect()
    })
  }

  /** Graceful end after everything is confirmed: waits for the receiver to close its side (it read all), or destroys the socket after endTimeoutMs. */
  async #endSocket(): Promise<void> {
    const socket = this.#socket
    this.#abort.abort() // a pending reconnect has nothing left to send
    if (socket === null || socket.destroyed) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#logger.warn({ sink: this.kind, timeoutMs: endTimeoutMs }, 'the syslog receiver did not close the connection after its end: records it had not read yet may be lost')
        socket.destroy()
      }, endTimeoutMs)
      socket.once('close', () => {
        clearTimeout(timer)
        resolve()
      })
      socket.end()
    })
  }
}
