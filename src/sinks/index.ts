// The sink factory: validates the sink options once (naming the bad setting), reads the CA bundle, and
// builds one of the four sinks for the target parseOutput names. Nothing here runs per record.

import type { Config } from '../config.ts'
import { ConfigError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { TlsTrust } from './connect.ts'
import { FileSink } from './file.ts'
import { HttpSink } from './http.ts'
import { checkHttpHeaders, parseOutput, readCaBundle } from './output.ts'
import type { Sink } from './sink.ts'
import { StdoutSink } from './stdout.ts'
import { SyslogSink } from './syslog.ts'

export type { Confirm, Framing, Sink } from './sink.ts'
export { FileSink, HttpSink, StdoutSink, SyslogSink }

export interface SinkOptions {
  /** 'stdout' | 'file:PATH' | 'tcp://host:port' | 'tls://host:port' | 'http://…' | 'https://…' */
  output: string
  /** Retries are logged at warn with the sink kind and the error code, never payload bytes. */
  logger: Logger
  /** Unconfirmed bytes at or above which write() returns false; default 8 MiB. */
  highWaterMark?: number
  /** Cap on the backoff between retries; default 30 000. */
  retryMaxDelayMs?: number
  /** PEM bundle trusted for tls:// and https://, in addition to Node's default CAs. */
  tlsCaFile?: string
  /** Skip certificate verification; default false. */
  tlsInsecure?: boolean
  /** Extra request headers (e.g. Authorization); never logged. */
  httpHeaders?: Record<string, string>
  /** Largest body of one POST; default 1 MiB (a single larger chunk is sent alone). */
  httpBatchBytes?: number
  /** How long a partial batch waits for more data; default 100. */
  httpLingerMs?: number
  /** Default 'application/x-ndjson'. */
  httpContentType?: string
  /** http(s): how long without an answered POST before the destination is probed again; default 30 000. */
  idleProbeMs?: number
  /** file: how often buffered writes are written and fsynced; default 100. */
  fsyncIntervalMs?: number
}

export function createSink(options: SinkOptions): Sink {
  const target = parseOutput(options.output)
  checkInteger('highWaterMark', options.highWaterMark, 1)
  checkInteger('retryMaxDelayMs', options.retryMaxDelayMs, 1)
  checkInteger('httpBatchBytes', options.httpBatchBytes, 1)
  checkInteger('httpLingerMs', options.httpLingerMs, 0)
  checkInteger('idleProbeMs', options.idleProbeMs, 1)
  checkInteger('fsyncIntervalMs', options.fsyncIntervalMs, 0)
  const common = {
    logger: options.logger,
    highWaterMark: options.highWaterMark,
    retryMaxDelayMs: options.retryMaxDelayMs,
  }
  switch (target.kind) {
    case 'stdout':
      return new StdoutSink(process.stdout, common)
    case 'file':
      return new FileSink(target.path, { ...common, fsyncIntervalMs: options.fsyncIntervalMs })
    case 'tcp':
    case 'tls':
      return new SyslogSink(target, { ...common, ...tlsOptions(options) })
    case 'http':
    case 'https':
      checkHttpHeaders(options.httpHeaders ?? {})
      return new HttpSink(target.url, {
        ...common,
        ...tlsOptions(options),
        httpHeaders: options.httpHeaders,
        httpBatchBytes: options.httpBatchBytes,
        httpLingerMs: options.httpLingerMs,
        httpContentType: options.httpContentType,
        idleProbeMs: options.idleProbeMs,
      })
  }
}

function checkInteger(setting: string, value: number | undefined, min: number): void {
  if (value === undefined) return
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(setting, `must be an integer >= ${min}; got ${String(value)}`)
  }
}

function tlsOptions(options: SinkOptions): TlsTrust {
  if (options.tlsCaFile === undefined) return { tlsInsecure: options.tlsInsecure }
  return { ca: readCaBundle(options.tlsCaFile), tlsInsecure: options.tlsInsecure }
}

/** The HTTP sink's Content-Type for a format: json and ocsf lines are NDJSON, fortisiem lines plain text. */
export function contentTypeFor(format: Config['format']): string {
  return format === 'fortisiem' ? 'text/plain; charset=utf-8' : 'application/x-ndjson'
}

/** The sink a command (run, parse, demo) writes to, from the config. */
export function sinkFor(config: Config, logger: Logger): Sink {
  return createSink({
    output: config.output,
    logger,
    tlsCaFile: config.tlsCaFile,
    tlsInsecure: config.tlsInsecure,
    httpHeaders: { ...config.httpHeaders },
    httpBatchBytes: config.httpBatchBytes,
    httpContentType: contentTypeFor(config.format),
  })
}
