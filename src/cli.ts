#!/usr/bin/env node
// cloudtrail-ingest run | parse PATH… | demo — commands and flags; nothing else.
// Exit status: 0 done, 1 failed at run time, 2 bad usage or configuration.

import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { checkMetricsListen, envName, loadConfig, settings, type Command, type Config, type RawSettings, type Setting } from './config.ts'
import { describeError, isCollectorError } from './errors.ts'
import { createLogger, type Logger } from './log.ts'
import { sizeThreadPool } from './pipeline/pool.ts'

const commands: Record<Command, string> = {
  run: 'the collector: SQS receivers -> ring -> parse pool -> sink -> delete',
  parse: 'the same parse pool over local .json.gz files or directories (searched recursively)',
  demo: 'the embedded default: fauxqs emulator in-process, synthetic CloudTrail traffic, the collector',
}

interface Extra {
  flag: string
  type: 'string' | 'boolean'
  help: string
  default?: string
}

const extras: Record<Command, Extra[]> = {
  run: [{ flag: 'config', type: 'string', help: 'config file: name = value lines (phoenix_config.txt style), .json or .yaml (with a list of sources)' }],
  parse: [
    { flag: 'config', type: 'string', help: 'config file: name = value lines, .json or .yaml' },
    { flag: 'threads', type: 'string', help: 'parse threads (same as --parse-threads)' },
  ],
  demo: [
    { flag: 'config', type: 'string', help: 'config file: name = value lines, .json or .yaml' },
    { flag: 'eps', type: 'string', default: '2000', help: 'synthetic CloudTrail events per second' },
    { flag: 'duration', type: 'string', help: 'seconds to run; default: until Ctrl-C' },
  ],
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function usage(): string {
  const lines = ['Usage: cloudtrail-ingest <command> [options]', '', 'Commands:']
  for (const [name, help] of Object.entries(commands)) lines.push(`  ${name.padEnd(8)}${help}`)
  lines.push('', 'Run "cloudtrail-ingest <command> --help" for its options.')
  return lines.join('\n')
}

function commandHelp(command: Command): string {
  const lines = [`Usage: cloudtrail-ingest ${command}${command === 'parse' ? ' [options] PATH…' : ' [options]'}`, '', commands[command], '', 'Options:']
  const row = (flag: string, help: string, dflt?: string, env?: string) => {
    lines.push(`  --${flag}`)
    lines.push(`      ${help}${dflt !== undefined && dflt !== '' ? ` (default: ${dflt})` : ''}${env ? `  [${env}]` : ''}`)
  }
  for (const e of extras[command]) row(e.flag, e.help, e.default)
  for (const s of settings.filter((s) => s.commands.includes(command))) {
    const shown = s.name === 'key_pattern' ? 'CloudTrail and CloudTrail-Insight .json.gz keys' : s.default
    row(s.flag, `${s.help}${s.flagOnly ? '' : `; setting ${s.name}`}`, shown, s.flagOnly ? undefined : envName(s))
  }
  row('help', 'this help')
  lines.push('', 'Precedence: flags > environment > --config file > defaults.')
  return lines.join('\n')
}

function fail(message: string): never {
  process.stderr.write(`cloudtrail-ingest: ${message}\n`)
  process.exit(2)
}

function parseCommandLine(command: Command, argv: string[]): { flags: RawSettings; positionals: string[]; extra: Record<string, string | boolean | undefined>; help: boolean } {
  const own = settings.filter((s) => s.commands.includes(command))
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' } }
  for (const s of own) options[s.flag] = { type: s.kind === 'bool' ? 'boolean' : 'string', ...(s.kind === 'list' ? { multiple: true } : {}) }
  for (const e of extras[command]) options[e.flag] = { type: e.type }
  let parsed
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: command === 'parse', strict: true })
  } catch (err) {
    // Node's message quotes the stray argument, which may be the rest of a secret given without quotes
    // (--secret-key abc def): not shown.
    const message = (err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' ? `${command} takes no arguments besides its options (a value with spaces needs quotes)` : (err as Error).message
    fail(`${message}\nRun "cloudtrail-ingest ${command} --help" for the options.`)
  }
  const flags: RawSettings = {}
  const bySetting = new Map<string, Setting>(own.map((s) => [s.flag, s]))
  const extra: Record<string, string | boolean | undefined> = {}
  for (const [flag, value] of Object.entries(parsed.values)) {
    const setting = bySetting.get(flag)
    if (setting) flags[setting.name] = value as string | string[] | boolean
    else if (flag !== 'help') extra[flag] = value as string | boolean
  }
  if (typeof extra.config === 'string') flags.config = extra.config
  if (typeof extra.threads === 'string') flags.cloudtrail_file_parse_thread_num = extra.threads
  return { flags, positionals: parsed.positionals, extra, help: parsed.values.help === true }
}

/** The configuration, checked at start (the metrics endpoint's address too), or exit 2 naming the setting. */
async function load(command: Command, flags: RawSettings): Promise<Config> {
  try {
    const config = loadConfig(command, flags)
    if (command !== 'parse') await checkMetricsListen(config)
    return config
  } catch (err) {
    if (isCollectorError(err) && err.code === 'ERR_CONFIG') fail(`invalid configuration: ${err.message}`)
    throw err
  }
}

function number(extra: Record<string, unknown>, name: string, min: number): number | undefined {
  const raw = extra[name]
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!Number.isFinite(n) || n < min) fail(`invalid configuration: ${name}: expected a number >= ${min}, got ${JSON.stringify(raw)}`)
  return n
}

/** SIGINT/SIGTERM stop gracefully; a second one exits at once. */
function onSignals(log: Logger, stop: () => void): void {
  let count = 0
  const handler = (signal: NodeJS.Signals) => {
    if (++count > 1) {
      log.warn({ signal }, 'second signal: exiting now; unfinished messages come back from SQS')
      log.flush()
      process.exit(1)
    }
    log.info({ signal }, 'signal received')
    stop()
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(usage() + '\n')
    return command === undefined ? 2 : 0
  }
  if (command === '--version') {
    process.stdout.write(version() + '\n')
    return 0
  }
  if (!(command in commands)) fail(`unknown command "${command}"\n${usage()}`)
  const cmd = command as Command
  const { flags, positionals, extra, help } = parseCommandLine(cmd, rest)
  if (help) {
    process.stdout.write(commandHelp(cmd) + '\n')
    return 0
  }
  const config = await load(cmd, flags)
  sizeThreadPool(config.parseThreads)
  const log = createLogger(config.logLevel, {})
  process.on('unhandledRejection', (err) => {
    log.fatal({ err: describeError(err) }, 'unhandled rejection: exiting (unfinished messages come back from SQS)')
    log.flush()
    process.exit(1)
  })

  if (cmd === 'parse') {
    if (positionals.length === 0) fail('parse: give at least one .json.gz file or directory')
    const { parseFiles } = await import('./commands/parse.ts')
    try {
      const summary = await parseFiles(positionals, config, log)
      log.info(summary, 'parse finished')
      return summary.failed > 0 ? 1 : 0
    } catch (err) {
      log.error({ err: describeError(err) }, 'parse failed')
      return 1
    }
  }

  if (cmd === 'demo') {
    const { runDemo } = await import('./commands/demo.ts')
    const eps = number(extra, 'eps', 1) ?? 2000
    const duration = number(extra, 'duration', 1)
    return runDemo(flags, log, { eps, duration, onSignals: (stop: () => void) => onSignals(log, stop) })
  }

  const { startCollector } = await import('./commands/run.ts')
  // The signals first: one that comes while the queues are probed stops the collector once it has started
  // (without a handler, Node's default would kill it with messages received and not handed back).
  let collector: Awaited<ReturnType<typeof startCollector>> | null = null
  let stopAsked = false
  onSignals(log, () => {
    stopAsked = true
    collector?.stop('signal')
  })
  try {
    collector = await startCollector(config, log)
    if (stopAsked) collector.stop('signal')
    // SIGHUP: the config file (and the environment and flags) read again; a configuration that does not
    // load leaves the running one as it is.
    process.on('SIGHUP', () => {
      log.info({ signal: 'SIGHUP', config: flags.config }, 'reloading the configuration')
      let next: Config
      try {
        next = loadConfig('run', flags)
      } catch (err) {
        const { code, message } = describeError(err)
        log.error({ code, reason: message }, 'reload refused: the configuration does not load; the running one is kept')
        return
      }
      void collector?.reload(next)
    })
    return await collector.done
  } catch (err) {
    const { code, message } = describeError(err)
    log.fatal({ code, reason: message }, 'collector failed to start')
    return 1
  }
}

// If the event loop empties while a command is still running, a promise is waiting on something that
// can no longer happen: a bug. Exit loudly rather than 0.
let finished = false
process.on('exit', (code) => {
  if (!finished && code === 0) {
    process.stderr.write('cloudtrail-ingest: internal error: the event loop emptied before the command finished\n')
    process.exitCode = 70
  }
})

main(process.argv.slice(2)).then(
  (status) => {
    finished = true
    process.exitCode = status
    // Everything is closed and confirmed by now; should a handle still hold the loop, do not hang.
    setTimeout(() => process.exit(status), 5000).unref()
  },
  (err: unknown) => {
    finished = true
    process.stderr.write(`cloudtrail-ingest: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exitCode = 1
  },
)
