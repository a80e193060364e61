// Where results go: bench/results/<name>.json (with the date, the host and the Node version, so that a
// number is never read without its machine) and beside it the run's charts (<name>.svg) and tables (.md).

import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from './paths.ts'

export interface Host {
  date: string
  cpuModel: string
  cpuCount: number
  /** 1, 5 and 15 minute load averages when the run started: this machine is shared. */
  loadAverage: number[]
  memoryGiB: number
  node: string
  kernel: string
}

export function host(): Host {
  const list = cpus()
  return {
    date: new Date().toISOString(),
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpuCount: list.length,
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    kernel: release(),
  }
}

export const resultsDir = (): string => join(repoRoot(), 'bench', 'results')

/** Writes bench/results/<name>.json, then each of `files` (file name: text) in order; returns the paths written. */
export function saveResults(name: string, data: object, files: Record<string, string> = {}): string[] {
  const dir = resultsDir()
  mkdirSync(dir, { recursive: true })
  const written = [join(dir, `${name}.json`)]
  writeFileSync(written[0], JSON.stringify(data, null, 2) + '\n')
  for (const [file, text] of Object.entries(files)) {
    const path = join(dir, file)
    writeFileSync(path, text)
    written.push(path)
  }
  return written
}
