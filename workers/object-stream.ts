// Drives one object through gunzip and the ObjectParser, speaking the port protocol of protocol.ts.
// Runs inside a parse worker; tests run it on the main thread over a real MessageChannel.
//
// Two paths:
// - whole: a small object that came in one piece is inflated at once (inflate.ts, up to WHOLE_INFLATE_BYTES)
//   and cut on this thread without a single thread hop. Measured (bench/floor.ts data, parse --threads 1,
//   json): the stream path left the thread idle 25% of the time waiting for libuv's inflate callbacks.
//   Its output waits for credits as the stream path's does.
// - stream: larger objects, and any object whose whole inflate failed (so that the records before a fault
//   are still delivered), go through zlib's stream with 256 KiB output chunks and credit-based flow
//   control: memory follows the chunk and the largest record, not the object.

import { threadId, type MessagePort } from 'node:worker_threads'
import { createGunzip, type Gunzip } from 'node:zlib'
import { lastMemberSize, WholeInflater } from './inflate.ts'
import { ObjectParser } from './object-parser.ts'
import { offerSpares } from './frames.ts'
import type { ErrorCode } from '../src/errors.ts'
import type { ParseResult, ParseTask, ToMain, ToWorker } from './protocol.ts'
import { CutError } from './record-cutter.ts'

const INFLATE_CHUNK = 256 * 1024
/** Largest decompressed object taken on the whole path (bigger ones stream). */
const WHOLE_INFLATE_BYTES = 16 << 20
/** Output chunks handed over and not yet credited before inflating (or cutting, on the whole path) pauses. */
const MAX_OUTSTANDING = 2
/** One per thread: the whole path inflates into its buffer (inflate.ts). */
const inflater = new WholeInflater()

function zlibFailure(err: NodeJS.ErrnoException): Failure {
  if (err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message)) {
    return { code: 'ERR_OBJECT_TRUNCATED', message: 'gzip stream ends early (truncated object)' }
  }
  return { code: 'ERR_OBJECT_CORRUPT_GZIP', message: `corrupt gzip: ${err.message}` }
}

type Failure = { code: ErrorCode; message: string }

function failureOf(err: unknown): Failure {
  if (err instanceof CutError) return { code: err.code, message: err.message }
  return { code: 'ERR_WORKER', message: err instanceof Error ? err.message : String(err) }
}

/** Hands the parser's pending output over (transferred); false when there was none. */
function postOutput(port: MessagePort, parser: ObjectParser): boolean {
  const taken = parser.take()
  if (!taken) return false
  port.postMessage({ type: 'output', data: taken.data, records: taken.records, through: taken.through } satisfies ToMain, [taken.data.buffer as ArrayBuffer])
  return true
}

/**
 * The object's end on either path: the last output (records complete before a failure included), the verdict
 * with this thread's CPU time since `cpuStart` (the task's start), the port closed.
 */
function report(port: MessagePort, parser: ObjectParser, failure: Failure | null, cpuStart: NodeJS.CpuUsage): ParseResult {
  postOutput(port, parser)
  const cpu = process.threadCpuUsage()
  parser.stats.threadCpuMs = (cpu.user + cpu.system) / 1000
  parser.stats.cpuMs = parser.stats.threadCpuMs - (cpuStart.user + cpuStart.system) / 1000
  parser.stats.thread = threadId
  const result: ParseResult = failure ? { ok: false, ...failure, stats: parser.stats } : { ok: true, stats: parser.stats }
  port.postMessage({ type: 'done', result } satisfies ToMain)
  port.close()
  return result
}

/** The whole path; null when the object must take the stream path instead. */
function runWhole(task: Omit<ParseTask, 'port'>, port: MessagePort, cpuStart: NodeJS.CpuUsage): Promise<ParseResult> | null {
  const first = task.first
  if (!first || first.length < 2 || first[0] !== 0x1f || first[1] !== 0x8b) return null
  const limit = Math.min(task.limits.maxDecompressedBytes, WHOLE_INFLATE_BYTES)
  // Sure to be over the limit: straight to the stream path, instead of inflating up to the limit first
  // and then again from the start (measured: 15-39 ms lost per 3.1 MB gzip of 32 MB of records).
  if (first.length >= 18 && lastMemberSize(first) > limit) return null
  // Into the thread's own buffer (inflate.ts); null: too large for this path, truncated or corrupt, and the
  // stream path says which, record by record.
  const inflated = inflater.inflate(first, limit)
  if (inflated === null) return null
  return cutWhole(task, port, first.length, inflated.text, cpuStart).finally(inflated.release)
}

/**
 * The whole path's records, cut from the inflated text in slices so that output goes out in chunks of
 * about outputChunkBytes, and with the stream path's flow control: at most MAX_OUTSTANDING chunks handed
 * over and not yet credited, so that a sink that holds back holds this thread back too (posting every
 * chunk at once let a sink outage pile up whole objects of output on the main thread). Typical objects
 * (one or two chunks) never wait.
 */
async function cutWhole(task: Omit<ParseTask, 'port'>, port: MessagePort, compressedBytes: number, text: Buffer, cpuStart: NodeJS.CpuUsage): Promise<ParseResult> {
  const parser = new ObjectParser(task)
  parser.stats.compressedBytes = compressedBytes
  const credits = new Credits(port)
  let failure: Failure | null = null
  let started = performance.now()
  try {
    for (let at = 0; at < text.length; at += INFLATE_CHUNK) {
      parser.push(text.subarray(at, at + INFLATE_CHUNK))
      if (!parser.full) continue
      if (postOutput(port, parser) && credits.spend()) {
        parser.stats.busyMs += performance.now() - started
        await credits.ready()
        started = performance.now()
        if (credits.aborted) break
      }
    }
    if (credits.aborted) failure = { code: 'ERR_SHUTDOWN', message: 'aborted' }
    else parser.end()
  } catch (err) {
    failure = failureOf(err)
  } finally {
    credits.close()
  }
  parser.stats.busyMs += performance.now() - started
  return report(port, parser, failure, cpuStart)
}

/**
 * The whole path's half of the credit protocol: chunks handed over and not yet credited, and the abort.
 * It listens on the port only once it has to wait: until then the port queues the main thread's messages
 * (an object that never fills the window, most of them, pays nothing; measured on the real corpus, 688
 * objects of 9 records on average: a listener per object cost 2–5% of the whole path's CPU).
 */
class Credits {
  private outstanding = 0
  private waiter: (() => void) | null = null
  private listening = false
  aborted = false

  private readonly onMessage = (msg: ToWorker) => {
    if (msg.type === 'credit') this.outstanding--
    else if (msg.type === 'abort') this.aborted = true
    if (this.waiter && (this.aborted || this.outstanding < MAX_OUTSTANDING)) {
      this.waiter()
      this.waiter = null
    }
  }

  constructor(private readonly port: MessagePort) {}

  /** One more chunk handed over; true when the window is now full and the caller must wait for ready(). */
  spend(): boolean {
    return ++this.outstanding >= MAX_OUTSTANDING
  }

  /** Resolves once a chunk has been credited (or the object was aborted). */
  ready(): Promise<void> {
    if (!this.listening) {
      this.listening = true
      this.port.on('message', this.onMessage) // the messages queued so far come first
    }
    if (this.aborted || this.outstanding < MAX_OUTSTANDING) return Promise.resolve()
    return new Promise((resolve) => (this.waiter = resolve))
  }

  close(): void {
    if (this.listening) this.port.off('message', this.onMessage)
  }
}

export function runObject(task: Omit<ParseTask, 'port'>, port: MessagePort): Promise<ParseResult> {
  const cpuStart = process.threadCpuUsage()
  offerSpares(task.spares, task.limits.outputChunkBytes)
  if (task.last) {
    const whole = runWhole(task, port, cpuStart)
    if (whole) return whole
  }
  return new Promise((resolve) => {
    const parser = new ObjectParser(task)
    const stats = parser.stats
    const gunzip: Gunzip = createGunzip({ chunkSize: INFLATE_CHUNK })
    let outstanding = 0
    let magic = 0 // gzip header bytes checked so far
    let settled = false

    const post = (msg: ToMain) => port.postMessage(msg)

    const sendOutput = () => {
      if (postOutput(port, parser) && ++outstanding >= MAX_OUTSTANDING) gunzip.pause()
    }

    const finish = (failure: Failure | null = null) => {
      if (settled) return
      settled = true
      gunzip.removeAllListeners('data')
      gunzip.on('error', () => {}) // errors after the verdict (e.g. from destroy) change nothing
      gunzip.destroy()
      port.off('message', onMessage)
      resolve(report(port, parser, failure, cpuStart))
    }

    const fail = (err: unknown) => finish(failureOf(err))

    const write = (data: Uint8Array) => {
      if (settled) return
      stats.compressedBytes += data.length
      // The gzip magic (1f 8b), checked before zlib sees the bytes, for a clear reason.
      for (let i = 0; magic < 2 && i < data.length; i++, magic++) {
        if (data[i] !== (magic === 0 ? 0x1f : 0x8b)) {
          const hint = data[0] === 0x7b || data[0] === 0x5b ? ' (it looks like plain JSON)' : ''
          finish({ code: 'ERR_OBJECT_NOT_GZIP', message: `object is not gzip${hint}` })
          return
        }
      }
      if (task.last) gunzip.write(data)
      else if (gunzip.write(data)) post({ type: 'want' })
      else gunzip.once('drain', () => settled || post({ type: 'want' }))
    }

    const end = () => {
      if (settled) return
      if (magic < 2) finish({ code: 'ERR_OBJECT_NOT_GZIP', message: 'object is empty or too short for gzip' })
      else gunzip.end()
    }

    const onMessage = (msg: ToWorker) => {
      switch (msg.type) {
        case 'chunk':
          write(msg.data)
          break
        case 'end':
          end()
          break
        case 'credit':
          outstanding--
          if (outstanding < MAX_OUTSTANDING && !settled) gunzip.resume()
          break
        case 'abort':
          finish({ code: 'ERR_SHUTDOWN', message: 'aborted' })
          break
      }
    }

    gunzip.on('data', (chunk: Buffer) => {
      if (stats.decompressedBytes + chunk.length > task.limits.maxDecompressedBytes) {
        finish({
          code: 'ERR_OBJECT_TOO_LARGE',
          message: `decompressed size exceeds the limit of ${task.limits.maxDecompressedBytes} bytes`,
        })
        return
      }
      const started = performance.now()
      try {
        parser.push(chunk)
      } catch (err) {
        fail(err)
        return
      } finally {
        stats.busyMs += performance.now() - started
      }
      if (parser.full) sendOutput()
    })
    gunzip.on('end', () => {
      if (settled) return
      try {
        parser.end()
      } catch (err) {
        return fail(err)
      }
      finish()
    })
    gunzip.on('error', (err: NodeJS.ErrnoException) => finish(zlibFailure(err)))
    port.on('message', onMessage)

    if (task.first && task.first.length > 0) write(task.first)
    else if (!task.last) post({ type: 'want' })
    if (task.last) end()
  })
}
