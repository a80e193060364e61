import pino from 'pino'

export type Logger = pino.Logger
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
export const logLevels: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

// Logs go to stderr, always: stdout may be the sink. Paths that could ever hold a secret are censored
// as a second line of defence; the first is that config.ts never hands the secret to anything but the
// AWS credential provider (and the HTTP sink its headers).
const redact = {
  paths: [
    'secret_key', 'secretKey', 'secretAccessKey', '*.secret_key', '*.secretKey', '*.secretAccessKey', 'config.secret_key', 'credentials',
    // Top-level only: each wildcard path costs about 1 µs a line (fast-redact), and `credentials` holds the nested ones.
    'session_token', 'sessionToken', 'httpHeaders',
  ],
  censor: '[redacted]',
}

// Every log line is bounded, whatever it carries: keys, bucket names, topic ARNs and error messages come
// from SQS messages anyone who may write to the queue chooses (up to 1 MiB each), and stderr is written
// synchronously. One place cuts them all: the formatter below, for every line and every logger.

/** Longest string shown whole: S3's limit on a key (1,024 bytes), so any real key appears whole. */
export const LOG_STRING_CHARS = 1024
/** What a longer string keeps of its head and of its tail, with its length between them. */
const KEEP_CHARS = 256
/** Characters of values and names a line may carry in all (about 16 strings cut to their maximum). */
const LINE_CHARS = 16 * 1024
/** Entries shown of one object or array, and how deep. */
const MAX_ENTRIES = 64
const MAX_DEPTH = 6

/** `value` when it is short enough, else its head and tail with its length between them. */
export function cutForLog(value: string): string {
  if (value.length <= LOG_STRING_CHARS) return value
  let head = KEEP_CHARS
  let tail = value.length - KEEP_CHARS
  // Not between the two halves of a surrogate pair.
  if (isLowSurrogate(value.charCodeAt(head))) head--
  if (isLowSurrogate(value.charCodeAt(tail))) tail++
  return `${value.slice(0, head)}…[${value.length} chars]…${value.slice(tail)}`
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff
}

/**
 * A copy of a log line's fields with every string cut (cutForLog), at most MAX_ENTRIES entries per object
 * or array, MAX_DEPTH levels, and LINE_CHARS characters in all; what is left out says how much it was.
 */
export function boundForLog(fields: Record<string, unknown>): Record<string, unknown> {
  const budget = { chars: LINE_CHARS }
  return bound(fields, 0, budget) as Record<string, unknown>
}

function bound(value: unknown, depth: number, budget: { chars: number }): unknown {
  if (typeof value === 'string') {
    if (budget.chars <= 0) return `…[${value.length} chars]`
    const cut = cutForLog(value)
    budget.chars -= cut.length
    return cut
  }
  if (typeof value !== 'object' || value === null) {
    budget.chars -= 8
    return value
  }
  // What JSON.stringify would write: toJSON's result, an Error as pino writes it (kept an Error, so that
  // pino's own err serializer still names its type), else the own fields.
  if (value instanceof Error) {
    return Object.assign(Object.create(Object.getPrototypeOf(value)) as object, bound({ ...pino.stdSerializers.err(value) }, depth, budget))
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return bound((value as { toJSON(): unknown }).toJSON(), depth, budget)
  if (depth >= MAX_DEPTH || budget.chars <= 0) return '[…]'
  if (Array.isArray(value)) {
    const out: unknown[] = []
    for (let i = 0; i < value.length; i++) {
      if (i === MAX_ENTRIES || budget.chars <= 0) {
        out.push(`…[${value.length - i} more of ${value.length} items]`)
        break
      }
      out.push(bound(value[i], depth + 1, budget))
    }
    return out
  }
  const out: Record<string, unknown> = {}
  const names = Object.keys(value)
  for (let i = 0; i < names.length; i++) {
    if (i === MAX_ENTRIES || budget.chars <= 0) {
      out['…'] = `${names.length - i} more of ${names.length} fields`
      break
    }
    const name = cutForLog(names[i])
    budget.chars -= name.length
    out[name] = bound((value as Record<string, unknown>)[names[i]], depth + 1, budget)
  }
  return out
}

/**
 * `url` as logs and errors may show it: scheme, host and port, and of the path and query only what reads
 * as a word (`/services/collector`, `?index=`); userinfo, every query value, the fragment and any path
 * segment that could be a token (digits, mixed symbols, long) become `***`. An HTTP destination often
 * takes its token in the path (Sumo Logic, webhooks) or the query (`?token=`, `?dd-api-key=`).
 * Anything that is not a URL, and a URL with nothing to hide, is returned as it is.
 */
export function maskUrl(value: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value)?.[0]
  if (scheme === undefined) return value
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return `${scheme}***`
  }
  const segments = url.pathname.split('/')
  // Nothing to hide: shown as given.
  if (url.username === '' && url.password === '' && url.search === '' && url.hash === '' && segments.every((s) => s === '' || isWord(s))) return value
  const userinfo = url.username !== '' || url.password !== '' ? '***@' : ''
  const path = segments.map((segment) => (segment === '' || isWord(segment) ? segment : '***')).join('/')
  const query =
    url.search === ''
      ? ''
      : '?' +
        url.search
          .slice(1)
          .split('&')
          .map((pair) => {
            // A parameter without '=' is all value (`?TOKEN`).
            const eq = pair.indexOf('=')
            return eq > 0 && isWord(pair.slice(0, eq)) ? `${pair.slice(0, eq)}=***` : '***'
          })
          .join('&')
  return `${scheme}${userinfo}${url.host}${path}${query}${url.hash === '' ? '' : '#***'}`
}

/**
 * Reads as a word, not a token: at most 24 characters, parts of letters joined by - _ or . (a leading _ as
 * in `_bulk`, one trailing digit as in `v1`), each part lower case, Capitalised or an acronym of up to five
 * capitals. Random tokens mix cases or carry digits.
 */
function isWord(text: string): boolean {
  return text.length <= 24 && WORD.test(text)
}
const WORD = /^_?(?:[a-z]+|[A-Z][a-z]+|[A-Z]{1,5})(?:[-_.](?:[a-z]+|[A-Z][a-z]+|[A-Z]{1,5}))*\d?$/

export function createLogger(
  level: LogLevel = 'info',
  base: Record<string, unknown> = {},
  // Synchronous: a log line written just before exit (or a crash) is never lost. Logs are a few lines
  // per object at most, far off the hot path.
  destination: pino.DestinationStream = pino.destination({ dest: 2, sync: true }),
): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, ...base },
      redact,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: boundForLog, bindings: boundForLog },
      serializers: { msg: (msg: unknown) => (typeof msg === 'string' ? cutForLog(msg) : msg) },
    },
    destination,
  )
}

/** For tests and library use: a logger that writes nothing. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
