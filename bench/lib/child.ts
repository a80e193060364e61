// Runs a Node program as a child process the way the benchmarks time it: whole process, spawn to exit,
// with its own CPU time, peak RSS and event-loop delay reported by child-report.ts (preloaded).

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ChildReport } from './child-report.ts'
import { dist } from './paths.ts'

export interface ChildResult {
  code: number | null
  signal: NodeJS.Signals | null
  /** Spawn to exit, milliseconds. */
  wallMs: number
  /** null when the child died before writing its report (killed). */
  report: ChildReport | null
  /** User + system CPU milliseconds of the child (all its threads). */
  cpuMs: number
  stdout: string
  /** The last 64 KiB of stderr, for error messages and the logs the harness reads. */
  stderr: string
}

export interface ChildOptions {
  env?: Record<string, string>
  /** 'pipe' collects stdout (small outputs only); 'ignore' sends it to /dev/null; a number is an fd. */
  stdout?: 'pipe' | 'ignore' | number
  onSpawn?: (child: ChildProcess) => void
}

let reports: string | null = null
let counter = 0

export async function runNode(script: string, args: readonly string[], options: ChildOptions = {}): Promise<ChildResult> {
  if (reports === null) {
    const dir = mkdtempSync(join(tmpdir(), 'ct-bench-reports-'))
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    reports = dir
  }
  const reportFile = join(reports, `${process.pid}-${++counter}.json`)
  const preload = pathToFileURL(dist('bench/lib/child-report.js')).href
  const stdio: StdioOptions = ['ignore', options.stdout ?? 'ignore', 'pipe']
  const started = performance.now()
  const child = spawn(process.execPath, ['--import', preload, script, ...args], {
    env: { ...process.env, ...options.env, CT_BENCH_REPORT: reportFile },
    stdio,
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
    if (stderr.length > 128 << 10) stderr = stderr.slice(-(64 << 10))
  })
  options.onSpawn?.(child)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (c, s) => resolve([c, s]))
  })
  const wallMs = performance.now() - started
  let report: ChildReport | null = null
  try {
    report = JSON.parse(readFileSync(reportFile, 'utf8')) as ChildReport
    rmSync(reportFile)
  } catch {
    // killed before its exit handler ran
  }
  return { code, signal, wallMs, report, cpuMs: report ? report.userMs + report.systemMs : NaN, stdout, stderr: stderr.slice(-(64 << 10)) }
}

/** Throws with the child's last words when it did not exit 0. */
export function check(name: string, result: ChildResult): ChildResult {
  if (result.code !== 0) {
    throw new Error(`${name} exited with ${result.code ?? result.signal}\n${result.stderr.split('\n').slice(-15).join('\n')}`)
  }
  return result
}
