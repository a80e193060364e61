// The `parse` command: the same parse pool and sinks over local .json.gz files, e.g. an archive copied
// with `aws s3 sync`. Directories are searched recursively for *.json.gz (symbolic links to files
// included); files named explicitly are parsed whatever their name.

import { createReadStream } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Config } from '../config.ts'
import { cpuMs, cpuSince, type CpuMs } from '../observe/cpu.ts'
import { errorInfo, isErrorCode } from '../errors.ts'
import type { Logger } from '../log.ts'
import { ParsePool, parseOptions, WHOLE_OBJECT_BYTES, type ObjectInput } from '../pipeline/pool.ts'
import { sinkFor } from '../sinks/index.ts'

export interface ParseSummary {
  files: number
  failed: number
  records: number
  skipped: number
  /** Records dropped by the rules, by rule (as cloudtrail_records_dropped_total counts them); only with rules. */
  dropped?: Record<string, number>
  /** Records written with values redacted, by rule; only with redact rules. */
  redacted?: Record<string, number>
  /** Records dropped as repeats of an eventID (dedup_window); only with a window. */
  deduplicated?: number
  seconds: number
  /** CPU by thread over the run (start-up not included). */
  cpu?: CpuMs & { parseMs: number }
}

/** Every file to parse, in a stable order; throws ENOENT-style errors for paths that do not exist. */
export async function* listFiles(paths: string[]): AsyncGenerator<string> {
  for (const path of paths) {
    const s = await stat(path)
    if (!s.isDirectory()) {
      yield path
      continue
    }
    const entries = await readdir(path, { withFileTypes: true })
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const e of entries) {
      const child = join(path, e.name)
      if (e.isDirectory()) yield* listFiles([child])
      else if (!e.name.endsWith('.json.gz')) continue
      // Symbolic links to files are followed (links to directories are not: no loops to guard against).
      else if (e.isFile() || (e.isSymbolicLink() && (await stat(child).catch(() => null))?.isFile())) yield child
    }
  }
}

function addCounts(into: Record<string, number>, counts: Readonly<Record<string, number>>): void {
  for (const k in counts) into[k] = (into[k] ?? 0) + counts[k]
}

async function openFile(path: string): Promise<ObjectInput> {
  const { size } = await stat(path)
  if (size <= WHOLE_OBJECT_BYTES) return { whole: await readFile(path) }
  return { chunks: createReadStream(path, { highWaterMark: 256 << 10 }) }
}

export async function parseFiles(paths: string[], config: Config, log: Logger): Promise<ParseSummary> {
  const started = performance.now()
  const cpu0 = cpuMs()
  const sink = sinkFor(config, log)
  const pool = new ParsePool({ threads: config.parseThreads, parse: parseOptions(config) })
  const summary: ParseSummary = { files: 0, failed: 0, records: 0, skipped: 0, seconds: 0 }
  if (config.rules.drop.length + config.rules.keep.length > 0) summary.dropped = {}
  if (config.rules.redact.length > 0) summary.redacted = {}
  if (config.dedupWindow > 0) summary.deduplicated = 0
  const running = new Set<Promise<void>>()
  const sinkErrors: Error[] = []

  const one = async (path: string) => {
    summary.files++
    const result = await pool.parse(path, await openFile(path), (data) => {
      const confirm = (err: Error | null) => {
        if (err) sinkErrors.push(err)
        if (!sink.keepsConfirmed) pool.recycle(data)
      }
      if (sink.write(data, confirm)) return
      return new Promise<void>((resolve) => sink.once('drain', resolve))
    })
    summary.records += result.stats.records
    if (summary.dropped) addCounts(summary.dropped, result.stats.dropped)
    if (summary.redacted) addCounts(summary.redacted, result.stats.redacted)
    if (summary.deduplicated !== undefined) summary.deduplicated += result.stats.deduplicated
    summary.skipped += Object.values(result.stats.skipped).reduce((a, b) => a + (b ?? 0), 0)
    for (const [reason, n] of Object.entries(result.stats.skipped)) if (n) log.warn({ file: path, reason, records: n }, 'records skipped')
    if (!result.ok) {
      summary.failed++
      const reason = isErrorCode(result.code) ? errorInfo(result.code).reason : result.code
      log.error({ file: path, code: result.code, reason, message: result.message }, 'file failed')
    }
  }

  try {
    for await (const path of listFiles(paths)) {
      const task = one(path).catch((err: unknown) => {
        summary.failed++
        log.error({ file: path, reason: err instanceof Error ? err.message : String(err) }, 'file failed')
      })
      running.add(task)
      void task.finally(() => running.delete(task))
      if (running.size >= config.maxObjectsInFlight) await Promise.race(running)
    }
    await Promise.all(running)
  } finally {
    await sink.close()
    await pool.close()
  }
  if (sinkErrors.length > 0) throw sinkErrors[0]
  summary.seconds = (performance.now() - started) / 1000
  summary.cpu = cpuSince(cpu0, pool.cpuMs)
  return summary
}
