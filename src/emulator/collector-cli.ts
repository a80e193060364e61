// The built collector (`dist/src/cli.js`) as the tests and the benchmarks start it against an emulator:
// where it is, the flags and environment that point `run` at a wiring, and the JSON log lines (pino) it
// writes on stderr.

import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { emulatorCredentials, type Credentials, type Wiring } from './cloudtrail-emulator.ts'

/** The directory holding package.json above this module (it runs from src/ under vitest, from dist/src/ built). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
  return dir
}

/** The built CLI (`make build` writes it). */
export const collectorCli = join(repoRoot(), 'dist', 'src', 'cli.js')

export interface RunArgsOptions {
  /** --drain: exit once the queue is empty. false by default. */
  drain?: boolean
  /** Whose access key id goes on the command line; the emulator's default by default. */
  credentials?: Credentials
}

/**
 * `run` reading wiring `w` through `endpoint` (the emulator's, or a fault proxy in front of it): the
 * subcommand (with --drain when asked) and the connection flags. Callers append their own flags; the secret
 * key goes through the environment (runEnv), as the README recommends.
 */
export function runArgs(endpoint: string, w: Wiring, { drain = false, credentials = emulatorCredentials }: RunArgsOptions = {}): string[] {
  return ['run', ...(drain ? ['--drain'] : []), '--queue-url', w.queueUrl, '--endpoint', endpoint, '--bucket', w.bucket, '--access-key-id', credentials.accessKeyId]
}

/** The environment `run` needs beside runArgs: the secret key of `credentials`. */
export function runEnv(credentials: Credentials = emulatorCredentials): Record<string, string> {
  return { CLOUDTRAIL_INGEST_SECRET_KEY: credentials.secretAccessKey }
}

/** The JSON log lines (pino) in a collector's stderr; other lines (and a line cut short) skipped. */
export function logLines(stderr: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      out.push(JSON.parse(line) as Record<string, unknown>)
    } catch {
      // a partial line at the start of a truncated buffer, or at the end of a killed process's output
    }
  }
  return out
}
