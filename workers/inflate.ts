// Whole-object gunzip into a buffer the thread keeps, for the whole path (object-stream.ts).
//
// gunzipSync allocates its output afresh for every object (a 2 MiB chunk, or more): on Node 24 that garbage
// of external memory drove major GCs whose concurrent marking ran on V8's helper threads. This drives the
// zlib handle that gunzipSync itself uses (`_handle.writeSync` and `_writeState`, as Node's
// processChunkSync does) with an output buffer of its own, reused object after object, and the handle
// reset between objects. Measured on the corpus data set (300 files of 1,000 records, one thread, all
// threads' CPU): 1,170–1,344 µs per file against 1,749–2,011 with gunzipSync on Node 24; on Node 22 no
// change (1,331–1,527 against 1,418–1,636), and RSS 119–122 MiB against 129–146.
//
// Where `make` built it, libdeflate (native-gunzip.ts) does the inflating instead, into the same buffer,
// with the size the gzip trailer gives as the first guess of the output's; it checks the CRC and the size
// itself. Measured on the corpus (bench/inflate.bench.ts, Node 24, one thread): 0.61-0.66 µs of CPU per
// record against zlib's 0.84-0.86 into the same buffer (1.27-1.41x; Node's zlib is Chromium's, already
// faster than stock zlib).
//
// Node's zlib handle is not a public API: where it is not there as expected, or an object is already being
// inflated on this thread (tests run several on one), gunzipSync does it. Every path answers as gunzipSync
// does: the same bytes for every member of a multi-member file, null where it throws
// (test/workers/inflate.test.ts).

import { constants, createGunzip, gunzipSync } from 'node:zlib'
import { nativeGunzip, type NativeGunzip } from './native-gunzip.ts'

/** The output buffer a thread starts with and keeps: most CloudTrail files inflate to less. */
const KEEP_BYTES = 4 << 20

export interface Inflated {
  text: Buffer
  /** The caller is done with `text`. */
  release(): void
}

interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void
  reset(): void
  onerror: (message: string, errno: number, code: string) => void
}

export class WholeInflater {
  private readonly handle: ZlibHandle | null
  /** After writeSync: [available output, available input]. */
  private readonly state: Uint32Array | null
  private error: string | null = null
  private out: Buffer = Buffer.allocUnsafeSlow(KEEP_BYTES)
  private busy = false

  /** `native`: libdeflate, null for zlib alone; by default the addon if built, looked up on the first object. */
  constructor(private native: NativeGunzip | null | undefined = undefined) {
    const gunzip = createGunzip() as unknown as { _handle?: ZlibHandle; _writeState?: unknown }
    const handle = gunzip._handle
    const state = gunzip._writeState
    if (handle && typeof handle.writeSync === 'function' && typeof handle.reset === 'function' && state instanceof Uint32Array && state.length === 2) {
      this.handle = handle
      this.state = state
      handle.onerror = (message) => {
        this.error = message
      }
    } else {
      this.handle = null
      this.state = null
    }
  }

  /**
   * The inflated bytes of `gz`, in the thread's buffer until `release()` (another object meanwhile gets its
   * own); null when it is not gzip, is corrupt or truncated, or inflates past `limit` (the caller then takes
   * the stream path, which says which).
   */
  inflate(gz: Uint8Array, limit: number): Inflated | null {
    if (this.native === undefined) this.native = nativeGunzip()
    if (this.busy || (this.handle === null && this.native === null)) {
      const text = inflateAlone(gz, limit)
      return text && { text, release: () => {} }
    }
    let text: Buffer | null
    // (Fewer than 18 bytes cannot be a whole member: zlib says what they are.)
    if (this.native !== null && gz.length >= 18) text = this.runNative(this.native, gz, limit)
    else if (this.handle !== null) text = this.run(this.handle, this.state!, gz, limit)
    else text = inflateAlone(gz, limit)
    if (text === null) {
      this.shrink()
      return null
    }
    this.busy = true
    return {
      text,
      release: () => {
        this.busy = false
        this.shrink()
      },
    }
  }

  /** Back to the usual size after a large object. */
  private shrink(): void {
    if (this.out.length > KEEP_BYTES) this.out = Buffer.allocUnsafeSlow(KEEP_BYTES)
  }

  /** libdeflate needs room for a whole member: the trailer's size first (exact for CloudTrail's single member), doubled while short. */
  private runNative(native: NativeGunzip, gz: Uint8Array, limit: number): Buffer | null {
    const isize = lastMemberSize(gz)
    if (isize > this.out.length && isize <= limit) this.out = Buffer.allocUnsafeSlow(isize)
    for (;;) {
      const out = this.out
      const written = native.gunzip(gz, out)
      if (written >= 0) return written > limit ? null : out.subarray(0, written)
      if (written === -1 || out.length > limit) return null
      this.out = Buffer.allocUnsafeSlow(Math.min(out.length * 2, limit + 1))
    }
  }

  private run(handle: ZlibHandle, state: Uint32Array, gz: Uint8Array, limit: number): Buffer | null {
    handle.reset()
    this.error = null
    let out = this.out
    let inOff = 0
    let inLen = gz.length
    let outOff = 0
    for (;;) {
      handle.writeSync(constants.Z_FINISH, gz, inOff, inLen, out, outOff, out.length - outOff)
      if (this.error !== null) return null
      const availOut = state[0]
      const availIn = state[1]
      outOff = out.length - availOut
      inOff += inLen - availIn
      inLen = availIn
      if (outOff > limit) return null
      if (availOut > 0) return out.subarray(0, outOff)
      // Output full: a larger buffer, kept until the object is done.
      if (out.length >= limit + 1) return null
      const grown = Buffer.allocUnsafeSlow(Math.min(out.length * 2, limit + 1))
      grown.set(out.subarray(0, outOff))
      this.out = out = grown
    }
  }
}

/** The gzip trailer's ISIZE: the size (mod 2^32) of the last member, never more than the whole. */
export function lastMemberSize(gz: Uint8Array): number {
  const n = gz.length
  return (gz[n - 4] | (gz[n - 3] << 8) | (gz[n - 2] << 16) | (gz[n - 1] << 24)) >>> 0
}

function inflateAlone(gz: Uint8Array, limit: number): Buffer | null {
  try {
    return gunzipSync(gz, { chunkSize: 2 << 20, maxOutputLength: limit })
  } catch {
    return null
  }
}
