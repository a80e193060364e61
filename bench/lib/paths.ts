// Paths of the built program, from wherever a benchmark runs (dist/bench/… after a build).

import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The directory holding package.json above this module. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('no package.json above the benchmark')
    dir = parent
  }
  return dir
}

/** A compiled script under dist/, e.g. dist('src/cli.js'); throws when the build is missing. */
export function dist(path: string): string {
  const file = join(repoRoot(), 'dist', path)
  if (!existsSync(file)) throw new Error(`${file} not found: run "make build" first`)
  return file
}
