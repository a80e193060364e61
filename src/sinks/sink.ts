import type { EventEmitter } from 'node:events'
import type { Framing } from '../../workers/protocol.ts'

// How the parse workers frame each record for a sink is part of their protocol, defined there once.
export type { Framing }

/** Called once per write, when the bytes are durable at the destination (null) or can never be (an error). */
export type Confirm = (err: Error | null) => void

/**
 * What a chunk completes, for a sink that can find it again after a crash (the file sink's journal,
 * sinks/file.ts): the object (bucket, key, ETag) and its `Records` elements settled through this chunk.
 */
export interface ChunkTag {
  readonly bucket: string
  readonly key: string
  readonly etag: string
  readonly through: number
}

/**
 * A destination for formatted records. Chunks handed to `write` always hold whole framed records.
 *
 * Events: 'drain' (below the high-water mark again) and 'fatal' (the destination can never take data
 * again, e.g. stdout's reader went away: the collector stops).
 *
 * Backpressure is by return value, as in Node's streams and undici: `write` returns false when the sink
 * holds more than its high-water mark; the caller stops writing until the sink emits `drain`. A sink never
 * drops a chunk: it retries (with backoff) until the destination takes it, or until `close`/`destroy`,
 * which fail the pending confirmations with ERR_SINK_CLOSED.
 */
export interface Sink extends EventEmitter {
  /** For logs and metrics: `stdout`, `file`, `tcp`, `tls`, `http`, `https`. */
  readonly kind: string
  readonly framing: Framing
  /** True while the destination accepts writes (the last attempt succeeded); feeds /readyz. */
  readonly healthy: boolean
  /**
   * True when the sink still reads a chunk after confirming it (syslog writes the last 16 MiB again after a
   * broken connection): its buffer must not be given back to the parse threads for reuse.
   */
  readonly keepsConfirmed?: boolean
  /** `tag`: what the chunk completes (state_dir only); a sink without a journal ignores it. */
  write(chunk: Uint8Array, confirm: Confirm, tag?: ChunkTag): boolean
  /** Pushes out what is buffered now; resolves once every write so far is confirmed or failed. */
  flush(): Promise<void>
  /** flush(), then releases connections and files. Safe to call twice. */
  close(): Promise<void>
  /** Fails every pending confirmation with ERR_SINK_CLOSED at once and releases everything (hard stop). */
  destroy(): void
}
