// Construction shared by the commands (run, parse, demo): the sink and the parse options from the config.

import type { Config } from './config.ts'
import type { Logger } from './log.ts'
import { createSink } from './sinks/index.ts'
import type { Sink } from './sinks/sink.ts'
import type { ParseOptions } from '../workers/protocol.ts'

/**
 * Output handed from a worker to the main thread per message: a typical CloudTrail file (1000 records) goes in
 * one or two messages, and a worker holds at most two such chunks unconfirmed by the main thread.
 */
export const OUTPUT_CHUNK_BYTES = 1 << 20

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
  }
}

export function sinkFor(config: Config, logger: Logger): Sink {
  return createSink({
    output: config.output,
    logger,
    tlsCaFile: config.tlsCaFile,
    tlsInsecure: config.tlsInsecure,
    httpHeaders: { ...config.httpHeaders },
    httpBatchBytes: config.httpBatchBytes,
    httpContentType: config.format === 'json' ? 'application/x-ndjson' : 'text/plain; charset=utf-8',
  })
}

/**
 * Each parse thread inflates on libuv's thread pool (4 threads by default, shared by the process): give
 * it one thread per parse thread. Must run before anything uses the pool (fs, dns, zlib).
 */
export function sizeThreadPool(parseThreads: number): void {
  if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = String(Math.min(1024, Math.max(4, parseThreads + 2)))
}
