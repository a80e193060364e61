// The parse pool: cloudtrail_file_parse_thread_num OS threads (Piscina) that gunzip, cut, flatten and
// frame. This side feeds a worker the compressed bytes and hands its output to the caller; see
// workers/protocol.ts for the messages and their flow control.

import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MessageChannel, type MessagePort, type ResourceLimits, type Transferable } from 'node:worker_threads'
import { Piscina } from 'piscina'
import type { Config } from '../config.ts'
import type { RuleSpec } from '../../workers/rules/compile.ts'
import { emptyStats, type ParseOptions, type ParseResult, type ParseStats, type ParseTask, type ToMain, type ToWorker } from '../../workers/protocol.ts'

/**
 * Transferring a view's buffer detaches all of it: a view into a larger buffer (Node's 8 KiB pool, a
 * socket read) is copied once so that only its own bytes move. Buffers of their own move as they are.
 */
function standalone(bytes: Uint8Array): Uint8Array {
  // new Uint8Array(view) copies; Buffer#slice would not.
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes)
}

/** Compiled worker next to this module (dist/src/pipeline → dist/workers); under vitest, the build in dist/. */
function workerFile(): string {
  const compiled = fileURLToPath(new URL('../../workers/parse.worker.js', import.meta.url))
  if (existsSync(compiled)) return compiled
  const built = fileURLToPath(new URL('../../dist/workers/parse.worker.js', import.meta.url))
  if (existsSync(built)) return built
  throw new Error(`parse worker not found at ${compiled}: run "make build" first`)
}

/**
 * Output handed from a worker to the main thread per message: a typical CloudTrail file (1000 records) goes in
 * one or two messages, and a worker holds at most two such chunks unconfirmed by the main thread.
 */
export const OUTPUT_CHUNK_BYTES = 1 << 20

/** What every parse task of a command (run, parse, demo) is given, from the config. */
export function parseOptions(config: Config): ParseOptions {
  return {
    format: config.format,
    framing: config.framing,
    syslog: config.syslog,
    limits: {
      maxDecompressedBytes: config.maxObjectSize,
      maxRecordBytes: config.maxRecordSize,
      maxDepth: config.maxDepth,
      outputChunkBytes: OUTPUT_CHUNK_BYTES,
    },
    ...(config.dedupWindow > 0 ? { dedupWindow: config.dedupWindow } : {}),
    rules: config.rules,
  }
}

/**
 * Each parse thread inflates on libuv's thread pool (4 threads by default, shared by the process): give
 * it one thread per parse thread. Must run before anything uses the pool (fs, dns, zlib).
 */
export function sizeThreadPool(parseThreads: number): void {
  if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = String(Math.min(1024, Math.max(4, parseThreads + 2)))
}

/** Output buffers handed to each task, and kept per thread at most (the main thread's share of the reuse). */
const SPARES_PER_TASK = 2
const MAX_SPARES_PER_THREAD = 4

/** Objects up to this size (compressed) travel to the worker in one piece; larger ones as a stream. */
export const WHOLE_OBJECT_BYTES = 4 << 20

/**
 * What the caller does with each output chunk; resolves when the sink can take more. `through`: the
 * object's `Records` elements settled once this chunk is written (workers/protocol.ts, ToMain).
 */
export type OutputHandler = (data: Uint8Array, records: number, through: number) => void | Promise<void>

/** The object's compressed bytes: all at once (small objects), or as a stream of chunks. */
export type ObjectInput = { whole: Uint8Array } | { chunks: AsyncIterable<Uint8Array> }

/** The source of the compressed bytes failed (e.g. the S3 connection reset): not the object's fault. */
export interface SourceFailure {
  ok: false
  code: 'ERR_SOURCE'
  message: string
  cause: unknown
  stats: ParseResult['stats']
}

export interface PoolOptions {
  threads: number
  parse: ParseOptions
  /**
   * Node's per-thread limits (heap, stack). A thread that exceeds them is terminated alone, its object
   * fails as ERR_WORKER and Piscina starts a new thread. None by default.
   */
  resourceLimits?: ResourceLimits
}

export class ParsePool {
  private readonly piscina: Piscina<ParseTask, ParseResult>
  /** Total milliseconds the threads spent working, for utilisation. */
  busyMs = 0
  /**
   * The parse threads' CPU, per thread: its clock at the start of its first object, and at its latest
   * verdict. Why not the sum of each object's CPU: a running thread's clock (getrusage, RUSAGE_THREAD) is
   * brought up to date only at the scheduler's ticks and switches, so an object's last reading lagged by
   * about half a tick; summed over objects that lost most of the threads' CPU (parse --threads 1, json,
   * 1,000 objects of 1,000 corpus records: 0.78 s counted, 2.24 s in /proc for the thread). Differences
   * of one thread's clock over many objects lag by one tick at most.
   */
  private readonly threadCpu = new Map<number, { base: number; latest: number }>()
  /** The CPU of threads gone (replaced after a failure) that no longer have an entry. */
  private retiredCpuMs = 0
  /** Output buffers the sink is done with, for the next tasks to write into (workers/frames.ts). */
  private readonly spares: ArrayBuffer[] = []

  constructor(private readonly options: PoolOptions) {
    this.piscina = new Piscina({
      filename: workerFile(),
      minThreads: options.threads,
      maxThreads: options.threads,
      idleTimeout: 60_000,
      concurrentTasksPerWorker: 1,
      resourceLimits: options.resourceLimits,
    })
  }

  /**
   * Parses one object. Output chunks reach `onOutput` in order, each before the result; the promise
   * resolves after the worker's last message and never rejects. `rules`: the object's source's drop,
   * keep and redact rules (the pool is every source's): their text goes with the task and each thread
   * compiles a rule set once (workers/object-parser.ts); without, the pool's options say.
   */
  parse(name: string, input: ObjectInput, onOutput: OutputHandler, signal?: AbortSignal, rules?: RuleSpec, skipRecords = 0): Promise<ParseResult | SourceFailure> {
    const { port1, port2 } = new MessageChannel()
    const first = 'whole' in input ? standalone(input.whole) : null
    const spares = this.spares.splice(0, SPARES_PER_TASK)
    const task: ParseTask = { ...this.options.parse, port: port2, first, last: first !== null, name, spares }
    if (rules !== undefined) task.rules = rules
    if (skipRecords > 0) task.skipRecords = skipRecords
    const transferList: Transferable[] = first ? [port2, first.buffer as ArrayBuffer, ...spares] : [port2, ...spares]
    const running = this.piscina.run(task, { transferList })
    return feed(port1, 'chunks' in input ? input.chunks : null, onOutput, running, signal).then((result) => {
      this.busyMs += result.stats.busyMs
      this.countCpu(result.stats)
      return result
    })
  }

  /** CPU milliseconds of the parse threads since each started its first object (cloudtrail_thread_cpu_seconds_total). */
  get cpuMs(): number {
    let ms = this.retiredCpuMs
    for (const t of this.threadCpu.values()) ms += t.latest - t.base
    return ms
  }

  private countCpu(stats: ParseStats): void {
    if (stats.threadCpuMs === 0) return // no verdict from a thread (it failed)
    const t = this.threadCpu.get(stats.thread)
    if (t) {
      t.latest = Math.max(t.latest, stats.threadCpuMs)
      return
    }
    // A thread replaced after a failure never reports again: keep the entries few.
    if (this.threadCpu.size >= 4 * this.options.threads) {
      const [oldest, o] = this.threadCpu.entries().next().value!
      this.retiredCpuMs += o.latest - o.base
      this.threadCpu.delete(oldest)
    }
    this.threadCpu.set(stats.thread, { base: stats.threadCpuMs - stats.cpuMs, latest: stats.threadCpuMs })
  }

  /**
   * An output chunk the sink is done with (confirmed, and not kept: see Sink.keepsConfirmed): its buffer goes
   * to a later task instead of the garbage. Only buffers of a chunk's size, and at most a few per thread.
   */
  recycle(chunk: Uint8Array): void {
    const buffer = chunk.buffer
    if (chunk.byteOffset !== 0 || !(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return
    const size = this.options.parse.limits.outputChunkBytes
    if (buffer.byteLength < size || buffer.byteLength > 3 * size) return
    if (this.spares.length < MAX_SPARES_PER_THREAD * this.options.threads) this.spares.push(buffer)
  }

  async close(): Promise<void> {
    await this.piscina.close()
  }
}

/** The main-thread half of the protocol, for one object. Exported for tests that run the worker side in-thread. */
export function feed(
  port: MessagePort,
  chunks: AsyncIterable<Uint8Array> | null,
  onOutput: OutputHandler,
  running: Promise<unknown>,
  signal?: AbortSignal,
): Promise<ParseResult | SourceFailure> {
  return new Promise((resolve) => {
    const iterator = chunks?.[Symbol.asyncIterator]()
    let sourceFailure: SourceFailure | null = null
    let settled = false
    const send = (msg: ToWorker, transfer?: ArrayBuffer[]) => {
      if (!settled) port.postMessage(msg, transfer)
    }
    const settle = (result: ParseResult | SourceFailure) => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', onAbort)
      port.close()
      void iterator?.return?.()
      resolve(result)
    }
    const onAbort = () => send({ type: 'abort' })
    signal?.addEventListener('abort', onAbort, { once: true })

    port.on('message', (msg: ToMain) => {
      switch (msg.type) {
        case 'want':
          if (!iterator) return
          iterator.next().then(
            (next) => {
              if (next.done) send({ type: 'end' })
              else {
                const data = standalone(next.value)
                send({ type: 'chunk', data }, [data.buffer as ArrayBuffer])
              }
            },
            (err: unknown) => {
              sourceFailure = {
                ok: false,
                code: 'ERR_SOURCE',
                message: err instanceof Error ? err.message : String(err),
                cause: err,
                stats: emptyStats(),
              }
              send({ type: 'abort' })
            },
          )
          return
        case 'output': {
          const ready = onOutput(msg.data, msg.records, msg.through)
          if (ready) void ready.then(() => send({ type: 'credit' }))
          else send({ type: 'credit' })
          return
        }
        case 'done':
          if (sourceFailure) settle({ ...sourceFailure, stats: msg.result.stats })
          else settle(msg.result)
          return
      }
    })
    running.catch((err: unknown) => {
      // The worker died (or the pool closed) before its last message.
      const message = err instanceof Error ? err.message : String(err)
      settle({ ok: false, code: 'ERR_WORKER', message, stats: emptyStats() })
    })
  })
}
