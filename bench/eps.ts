// The EPS harness (issues 4 and 10): the collector end to end against fauxqs, and the parse stage alone.
//
//   node dist/bench/eps.js --mode threads [--files 200] [--max-threads <cpus>] [--reps 5] [--formats fortisiem,json,ocsf]
//   node dist/bench/eps.js --mode drain   [--files 300] [--reps 3] [--format fortisiem] [--parse-threads N]
//                                         [--sink file|stdout] [--wait-time S]
//   node dist/bench/eps.js --mode ramp    [--start 4000] [--factor 2] [--step-seconds 20] [--max-eps 512000]
//                                         [--refine 2] [--warmup 5] [--format fortisiem] [--parse-threads N] [--pull-threads N]
//   drain and ramp: --collector-arg='--max-objects-in-flight 32' (repeatable; note the =) passes flags to `run`.
//   --data corpus|synthetic: files of real records sampled from test/fixtures/corpus (default), or synthetic ones.
//   --quick: smaller defaults for `make bench` (a few minutes on a 2-core machine).
//
// Prints a table (Markdown) on stdout, a progress line on stderr, and writes bench/results/<mode>.json,
// <mode>.md and the mode's SVG charts; with --data synthetic, <mode>-synthetic.* beside them, so that the
// real corpus's figures are never overwritten by the generator's. Every ratio is taken within one run;
// absolute numbers on a shared machine are noise. What each mode measures: the comment at the top of its
// file in bench/eps/.

import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import { drainMode } from './eps/drain.ts'
import { rampMode } from './eps/ramp.ts'
import { threadsMode } from './eps/threads.ts'
import { host, saveResults } from './lib/results.ts'
import type { Format } from '../workers/protocol.ts'

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    quick: { type: 'boolean', default: false },
    files: { type: 'string' },
    reps: { type: 'string' },
    'max-threads': { type: 'string' },
    formats: { type: 'string' },
    format: { type: 'string' },
    'parse-threads': { type: 'string' },
    'pull-threads': { type: 'string' },
    'wait-time': { type: 'string' },
    sink: { type: 'string' },
    'collector-arg': { type: 'string', multiple: true },
    start: { type: 'string' },
    factor: { type: 'string' },
    'step-seconds': { type: 'string' },
    'max-eps': { type: 'string' },
    refine: { type: 'string' },
    warmup: { type: 'string' },
    data: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
})

function usage(code: number): never {
  process.stderr.write('usage: node dist/bench/eps.js --mode threads|drain|ramp [--quick] [options]; see the comment at the top of bench/eps.ts\n')
  process.exit(code)
}

/** A numeric option: the flag, else the quick or full default; exits 2 naming the option when bad. */
function num(name: string, full: number, quick: number, min = 0): number {
  const raw = values[name as keyof typeof values] as string | undefined
  const n = raw === undefined ? (values.quick ? quick : full) : Number(raw)
  if (!Number.isFinite(n) || n < min) {
    process.stderr.write(`eps: --${name} must be a number >= ${min}, got ${JSON.stringify(raw)}\n`)
    process.exit(2)
  }
  return n
}

function optionalInt(name: string): number | undefined {
  return values[name as keyof typeof values] === undefined ? undefined : num(name, 0, 0, 1)
}

/** A format the mode runs: threads all three; drain and ramp compare with the reference loop, which writes fortisiem or json. */
function format<F extends Format>(raw: string | undefined, allowed: readonly F[]): F {
  const f = (raw ?? 'fortisiem') as F
  if (!allowed.includes(f)) {
    process.stderr.write(`eps: format must be ${allowed.join(' or ')}, got ${JSON.stringify(raw)}\n`)
    process.exit(2)
  }
  return f
}
const LOOP_FORMATS = ['fortisiem', 'json'] as const

function dataKind(raw: string | undefined): 'corpus' | 'synthetic' {
  const v = raw ?? 'corpus'
  if (v !== 'corpus' && v !== 'synthetic') {
    process.stderr.write(`eps: --data must be corpus or synthetic, got ${JSON.stringify(v)}\n`)
    process.exit(2)
  }
  return v
}

function sink(raw: string | undefined): 'file' | 'stdout' {
  const v = raw ?? 'file'
  if (v !== 'file' && v !== 'stdout') {
    process.stderr.write(`eps: --sink must be file or stdout, got ${JSON.stringify(v)}\n`)
    process.exit(2)
  }
  return v
}

/** --collector-arg='--max-objects-in-flight 32' (repeatable): extra flags for `run`, split on spaces. */
function collectorArgs(): string[] {
  return (values['collector-arg'] ?? []).flatMap((a) => a.split(/\s+/).filter(Boolean))
}

if (values.help) usage(0)
const machine = host()
let result: { summary: object; tables: Record<string, string>; charts: Record<string, string> }
switch (values.mode) {
  case 'threads':
    result = await threadsMode({
      data: dataKind(values.data),
      files: num('files', 200, 150, 1),
      maxThreads: num('max-threads', Math.max(2, cpus().length), Math.max(2, cpus().length), 1),
      reps: num('reps', 5, 3, 1),
      formats: (values.formats ?? 'fortisiem,json,ocsf').split(',').map((f) => format(f.trim(), ['fortisiem', 'json', 'ocsf'] as const)),
    })
    break
  case 'drain':
    result = await drainMode({
      data: dataKind(values.data),
      files: num('files', 300, 150, 1),
      reps: num('reps', 3, 2, 1),
      format: format(values.format, LOOP_FORMATS),
      parseThreads: optionalInt('parse-threads'),
      waitTime: values['wait-time'] === undefined ? undefined : num('wait-time', 0, 0, 0),
      sink: sink(values.sink),
      collectorArgs: collectorArgs(),
    })
    break
  case 'ramp':
    result = await rampMode({
      data: dataKind(values.data),
      start: num('start', 4000, 4000, 1000),
      factor: num('factor', 2, 2, 1.05),
      stepSeconds: num('step-seconds', 20, 10, 3),
      maxEps: num('max-eps', 512_000, 512_000, 1000),
      refine: num('refine', 2, 1, 0),
      warmupSeconds: num('warmup', 5, 3, 0),
      format: format(values.format, LOOP_FORMATS),
      parseThreads: optionalInt('parse-threads'),
      pullThreads: optionalInt('pull-threads'),
      collectorArgs: collectorArgs(),
    })
    break
  default:
    usage(2)
}

const mode = values.mode!
const data = dataKind(values.data)
/** bench/results/<name>.*: the corpus's under the mode's name, the synthetic data's beside them. */
const name = data === 'corpus' ? mode : `${mode}-synthetic`
const charts = Object.fromEntries(Object.entries(result.charts).map(([file, svg]) => [file.replace(mode, name), svg]))
const header = `${mode} (${data === 'corpus' ? 'real CloudTrail records sampled from the corpus' : 'synthetic records'}): ${machine.date}, ${machine.cpuCount} × ${machine.cpuModel}, Node ${machine.node}, load average at start ${machine.loadAverage.join(' ')}`
const markdown = [header, '', ...Object.values(result.tables).flatMap((t) => [t, ''])].join('\n')
process.stdout.write(`\n${markdown}\n`)
const written = saveResults(name, { host: machine, ...result.summary }, { ...charts, [`${name}.md`]: markdown })
process.stderr.write(`results: ${written.join(', ')}\n`)
