// libdeflate's whole-buffer gunzip (native/gunzip.c), when `make` could build it; null otherwise, and then
// inflate.ts uses Node's zlib as it always did. CT_INFLATE=zlib turns it off, for benchmarks that pair
// the two (bench/inflate.bench.ts) and for a host where it misbehaves.
//
// Loaded on first use, not while the module is evaluated: Piscina loads the worker's module graph with
// require(esm), and once in CI on Node 22 that load aborted the process (FATAL ERROR
// v8::Module::IsGraphAsync must be used on an instantiated module). The cause is not proven; loading the
// addon from inside the graph's evaluation was the one thing new there, and now the graph does no loading.

import { createRequire } from 'node:module'

export interface NativeGunzip {
  /** The bytes written to `output` (every member, one after another); -1 not gzip or corrupt; -2 too small. */
  gunzip(input: Uint8Array, output: Uint8Array): number
  /** libdeflate's version, for the start-up log. */
  version: string
}

/** From workers/ (the tests run the sources) or dist/workers/ (the build): the addon is in build/ at the root. */
const CANDIDATES = ['../build/gunzip.node', '../../build/gunzip.node']

function load(): NativeGunzip | null {
  if (process.env.CT_INFLATE === 'zlib') return null
  const require = createRequire(import.meta.url)
  for (const path of CANDIDATES) {
    try {
      return require(path) as NativeGunzip
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err
    }
  }
  return null
}

let loaded: NativeGunzip | null | undefined

/** The addon, loaded on the first call; null when it is not built or CT_INFLATE=zlib. */
export function nativeGunzip(): NativeGunzip | null {
  if (loaded === undefined) loaded = load()
  return loaded
}
