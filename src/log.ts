import pino from 'pino'

export type Logger = pino.Logger
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
export const logLevels: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

// Logs go to stderr, always: stdout may be the sink. Paths that could ever hold a secret are censored
// as a second line of defence; the first is that config.ts never hands the secret to anything but the
// AWS credential provider.
const redact = {
  paths: ['secret_key', 'secretKey', 'secretAccessKey', '*.secret_key', '*.secretKey', '*.secretAccessKey', 'config.secret_key', 'credentials'],
  censor: '[redacted]',
}

export function createLogger(level: LogLevel = 'info', base: Record<string, unknown> = {}): Logger {
  return pino(
    { level, base: { pid: process.pid, ...base }, redact, timestamp: pino.stdTimeFunctions.isoTime },
    // Synchronous: a log line written just before exit (or a crash) is never lost. Logs are a few lines
    // per object at most, far off the hot path.
    pino.destination({ dest: 2, sync: true }),
  )
}

/** For tests and library use: a logger that writes nothing. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
