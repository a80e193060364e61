// `make bench`: the micro-benchmarks (every dist/bench/*.bench.js, one subject per file), then a quick run
// of each mode of the EPS harness (bench/eps.ts --quick) on the real corpus, then where the results are.
// About 5 minutes on a 2-core machine (4.8 measured on a loaded one, Node 24). For the full runs see bench/eps.ts; for the soak, `make soak`.

import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { dist, repoRoot } from './lib/paths.ts'
import { host, resultsDir } from './lib/results.ts'

/** Runs a script, passing its output through; resolves with its exit code and what it printed. */
function run(script: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
      process.stdout.write(d)
    })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, out }))
  })
}

const started = Date.now()
const failed: string[] = []
const benchDir = join(repoRoot(), 'dist', 'bench')
const micro = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.js'))
  .sort()
const machine = host()
const microOut: string[] = [`micro-benchmarks: ${machine.date}, ${machine.cpuCount} × ${machine.cpuModel}, Node ${machine.node}`, '']
for (const file of micro) {
  process.stderr.write(`\n== ${file}\n`)
  const { code, out } = await run(join(benchDir, file), [])
  microOut.push(`== ${file}`, out.trimEnd(), '')
  if (code !== 0) failed.push(file)
}
mkdirSync(resultsDir(), { recursive: true })
writeFileSync(join(resultsDir(), 'micro.txt'), microOut.join('\n') + '\n')

for (const mode of ['threads', 'drain', 'ramp']) {
  process.stderr.write(`\n== eps --mode ${mode} --quick\n`)
  const { code } = await run(dist('bench/eps.js'), ['--mode', mode, '--quick'])
  if (code !== 0) failed.push(`eps --mode ${mode}`)
}

const minutes = ((Date.now() - started) / 60_000).toFixed(1)
process.stderr.write(`\nbench: done in ${minutes} min. Results in ${resultsDir()}: micro.txt, threads.{json,md,svg}, drain.{json,md,svg}, drain-eps.svg, ramp.{json,md,svg}, ramp-lag.svg\n`)
process.stderr.write('Full runs: node dist/bench/eps.js --mode threads|drain|ramp (see bench/eps.ts).\n')
if (failed.length > 0) {
  process.stderr.write(`bench: failed: ${failed.join(', ')}\n`)
  process.exit(1)
}
