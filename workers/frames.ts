// Collects framed records into chunks of bytes that move to the main thread without a copy.
//
// Each chunk is its own ArrayBuffer (not from Node's shared pool, so it can be transferred; not zero-filled,
// since every byte handed over is written first). The main thread gives chunks back once the sink is done
// with them (ParseTask.spares, src/pipeline/pool.ts): a thread writes into those before it allocates, and allocates
// only when it has something to write (not one buffer ahead of each object's end). Measured with the
// corpus data set in `run --drain` (Node 24): a fresh 1.25 MiB buffer per chunk was external memory that
// the main thread's and the workers' major GCs chased (concurrent marking on V8's helper threads).
//
// Only whole records are ever handed over: a record counts from endRecord() on. Whatever a record that
// never got there left behind (its formatter threw, an allocation failed halfway) is dropped by the next
// beginRecord() or take(), so no sink ever sees a partial line, or a record glued onto one, and syslog's
// octet counts stay right.

import { PerSecond, syslogTime } from './timestamps.ts'
import type { Framing, SyslogFraming } from './protocol.ts'

const encoder = new TextEncoder()

/** Chunk buffers given back by the main thread, for this thread's next chunks (at most MAX_SPARES). */
const spares: ArrayBuffer[] = []
const MAX_SPARES = 8

/** Keeps `buffers` (given back by the main thread) for the next chunks; what does not fit the pool is dropped. */
export function offerSpares(buffers: readonly ArrayBuffer[] | undefined, chunkBytes: number): void {
  if (!buffers) return
  for (const b of buffers) if (spares.length < MAX_SPARES && fits(b, chunkBytes)) spares.push(b)
}

/** Whether a spare buffer can hold chunks of chunkBytes (and is not much larger). */
function fits(buffer: ArrayBuffer, chunkBytes: number): boolean {
  const size = chunkBuffer(chunkBytes)
  return buffer.byteLength >= size && buffer.byteLength <= 2 * size
}

/** The size of a chunk's buffer: room for a chunk and a record that starts just before its end. */
function chunkBuffer(chunkBytes: number): number {
  return chunkBytes + (chunkBytes >> 2)
}

function newChunk(chunkBytes: number): Uint8Array {
  const spare = spares.pop()
  // (Of another size only where builders of several chunk sizes share a thread: the tests.)
  return spare && fits(spare, chunkBytes) ? new Uint8Array(spare) : Buffer.allocUnsafeSlow(chunkBuffer(chunkBytes))
}

const NONE = new Uint8Array(0)

export class OutputBuilder {
  private buf: Uint8Array
  /** Where the next byte goes. */
  private length = 0
  /** The end of the last whole record: what take() hands over. */
  private committed = 0
  private recordsInChunk = 0
  private readonly syslogHeader?: PerSecond

  constructor(
    private readonly chunkBytes: number,
    private readonly framing: Framing,
    syslog?: SyslogFraming,
    clock: () => number = Date.now,
  ) {
    this.buf = NONE
    if (framing === 'syslog') {
      if (!syslog) throw new Error('syslog framing needs hostname, app name and PRI')
      const tail = ` ${syslog.hostname} ${syslog.appName} - - - `
      this.syslogHeader = new PerSecond((d) => `<${syslog.pri}>1 ${syslogTime(d)}${tail}`, clock)
    }
  }

  /** Bytes of whole records waiting to be taken. */
  get pending(): number {
    return this.committed
  }

  get full(): boolean {
    return this.committed >= this.chunkBytes
  }

  /** Starts a record after the last whole one (anything an unfinished record left is dropped). */
  beginRecord(): void {
    this.length = this.committed
    if (this.syslogHeader) this.writeString(this.syslogHeader.get())
  }

  endRecord(): void {
    if (this.framing === 'lines') {
      this.reserve(1)
      this.buf[this.length++] = 0x0a
    } else {
      // RFC 6587 octet counting: "LEN SP MSG"; LEN is known only now, so shift the message right. The
      // record starts where the last whole one ended.
      const start = this.committed
      const prefix = `${this.length - start} `
      this.reserve(prefix.length)
      this.buf.copyWithin(start + prefix.length, start, this.length)
      encoder.encodeInto(prefix, this.buf.subarray(start))
      this.length += prefix.length
    }
    this.committed = this.length
    this.recordsInChunk++
  }

  /** Drops a record begun with beginRecord() (its formatter failed or refused it). */
  abandonRecord(): void {
    this.length = this.committed
  }

  writeString(s: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    this.reserve(s.length * 3)
    this.length += encoder.encodeInto(s, this.buf.subarray(this.length)).written
  }

  writeBytes(src: Uint8Array, start: number, end: number): void {
    this.reserve(end - start)
    this.buf.set(src.subarray(start, end), this.length)
    this.length += end - start
  }

  // Low level, for writers that fill the buffer in place (the fast flattener, fortisiem/fast.ts, writes 4 bytes
  // at a time through a DataView): they save `position`, ask room() for the buffer, write into it, and
  // setPosition() past what they wrote, or back to the saved position to drop it.

  /** Where the next byte goes. */
  get position(): number {
    return this.length
  }

  /**
   * The buffer itself, with room for at least `n` bytes from `position` on. It may be a new buffer (bytes
   * before `position` are kept), and it stays valid until the next call that writes.
   */
  room(n: number): Uint8Array {
    this.reserve(n)
    return this.buf
  }

  /** Moves the write position: past bytes written into room()'s buffer, or back to drop them (never into whole records). */
  setPosition(p: number): void {
    if (!Number.isInteger(p) || p < this.committed || p > this.buf.length) {
      throw new RangeError(`position ${p} is outside the record being written (${this.committed}…${this.buf.length})`)
    }
    this.length = p
  }

  /** Hands over the whole records written so far, or null when there are none; an unfinished one is dropped. */
  take(): { data: Uint8Array; records: number } | null {
    this.length = this.committed
    if (this.committed === 0) return null
    const records = this.recordsInChunk
    let data: Uint8Array
    if (this.committed < this.buf.length >> 2 && this.buf.length === chunkBuffer(this.chunkBytes) && spares.length < MAX_SPARES) {
      // A small chunk (an object's last, or most records dropped): copied out, and its large buffer kept
      // for this thread's next chunks. Handed over, it was garbage once the sink's confirmations came in
      // batches larger than the spares the main thread keeps (--drop of 90%, file sink: 60 major GCs of
      // the main thread's heap against 1, and a third more CPU on V8's helper threads).
      data = new Uint8Array(new ArrayBuffer(this.committed))
      data.set(this.buf.subarray(0, this.committed))
      spares.push(this.buf.buffer as ArrayBuffer)
    } else {
      data = this.buf.subarray(0, this.committed)
    }
    this.buf = NONE // the next chunk's buffer when something is written
    this.length = 0
    this.committed = 0
    this.recordsInChunk = 0
    return { data, records }
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return
    if (this.buf === NONE) {
      this.buf = newChunk(this.chunkBytes)
      if (n <= this.buf.length) return
    }
    const grown = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.length + n))
    grown.set(this.buf.subarray(0, this.length))
    this.buf = grown
  }
}
