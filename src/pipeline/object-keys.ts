// Which S3 objects are CloudTrail log files, and which keys are refused before anything is fetched.
// CloudTrail writes
//   [prefix/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail[-Insight|-Digest]/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_….json.gz
// and a bucket fed through S3 event notifications also holds other things (access logs, VPC flow logs,
// Config snapshots), so by default only keys shaped like CloudTrail logs are fetched.
//
// Keys come from whoever can write to the queue, so key_pattern is matched in time linear in the key
// (re2js, below), and a key S3 cannot hold or a proxy would rewrite is refused outright (keyProblem).

import { RE2JS } from 're2js'
import { ConfigError, type ErrorCode } from '../errors.ts'

export type KeyClass = 'log' | 'digest' | 'other'

/** A compiled key_pattern. */
export interface KeyPattern {
  readonly source: string
  test(key: string): boolean
}

/**
 * Two alternatives:
 * - a `CloudTrail/` or `CloudTrail-Insight/` path segment, anywhere (custom prefixes, organization trails,
 *   or at the very start of the key), with the key ending in `.json.gz`;
 * - a bare file name with no folder that follows CloudTrail's naming, `<12-digit account>_CloudTrail_….json.gz`
 *   (or `_CloudTrail-Insight_`). CloudTrail itself never writes such a key, but one that someone copied to
 *   the bucket root is still unmistakably a CloudTrail log, and skipping it would lose events silently.
 * A documented template such as `bucket_name/prefix_name/AWSLogs/O-ID/Account ID/CloudTrail/region/…/file_name.json.gz`
 * matches too: the pattern checks the layout, not that account ids or dates are well formed.
 */
export const DEFAULT_KEY_PATTERN = String.raw`(?:^|/)CloudTrail(?:-Insight)?/.*\.json\.gz$|^\d{12}_CloudTrail(?:-Insight)?_[^/]*\.json\.gz$`

/**
 * The pattern is written in JavaScript's syntax and matched by re2js, a port of RE2: automata, no
 * backtracking, time linear in the key whatever the pattern. V8's RegExp backtracks: the default pattern
 * is quadratic in the `/CloudTrail/` segments of a key (16 s of main-thread CPU for a 480 KB key) and a
 * pattern such as `(a+)+$` is exponential (16 s for 28 characters). re2js takes about 1.9 µs for a
 * CloudTrail key and 0.5 µs for another (V8: 0.4 µs), once per object on the main thread, and 11 µs for a
 * hostile 1 KiB key (V8: 88 µs) (bench/notifications.bench.ts). Not the `re2`
 * package: native, its install builds RE2 with node-gyp (about 3 minutes on 2 cores, and a compiler on
 * every machine). Not a start-time check: safe-regex2 calls the default pattern safe and misses `(a|a)*$`;
 * recheck finds both but took 2.7 s at start (a 29 MB native binary), and would refuse the default too.
 *
 * re2js translates JavaScript's syntax (`\uXXXX`, `[^]`, `(?<name>…)`, …) and matches lookbehinds in
 * linear time too; lookaheads and backreferences have no linear-time match and are refused here, naming
 * the setting.
 */
export function compileKeyPattern(source: string): KeyPattern {
  if (typeof source !== 'string' || source.length === 0) throw new ConfigError('key_pattern', 'must be a non-empty regular expression')
  try {
    new RegExp(source)
  } catch (err) {
    throw new ConfigError('key_pattern', `is not a valid regular expression: ${(err as Error).message}`)
  }
  // re2js would read `\k<name>` as the letters "k<name>": refused before translation.
  if (hasBackreference(source)) throw new ConfigError('key_pattern', 'uses a backreference, which has no linear-time match')
  let re: RE2JS
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(source), RE2JS.LOOKBEHINDS)
  } catch (err) {
    throw new ConfigError('key_pattern', `has no linear-time match (lookaheads and backreferences are not supported): ${(err as Error).message}`)
  }
  return { source, test: (key) => re.test(key) }
}

/** `\1`…`\9` or `\k` outside a character class. */
function hasBackreference(source: string): boolean {
  let inClass = false
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (c === '\\') {
      const next = source.charCodeAt(i + 1)
      if (!inClass && ((next >= 0x31 && next <= 0x39) || next === 0x6b /* k */)) return true
      i++
    } else if (c === '[') inClass = true
    else if (c === ']') inClass = false
  }
  return false
}

/**
 * Digests are recognised whatever the pattern says (they are never parsed as logs): a `CloudTrail-Digest/`
 * segment, or a file name containing `_CloudTrail-Digest_` in whatever folder it sits.
 */
export function classifyKey(key: string, pattern: KeyPattern): KeyClass {
  if (isDigest(key)) return 'digest'
  return pattern.test(key) ? 'log' : 'other'
}

function isDigest(key: string): boolean {
  if (key.startsWith('CloudTrail-Digest/') || key.includes('/CloudTrail-Digest/')) return true
  return key.includes('_CloudTrail-Digest_', key.lastIndexOf('/') + 1)
}

/** S3's limit on a key, in bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024

export type KeyProblem = { code: Extract<ErrorCode, 'ERR_KEY_TOO_LONG' | 'ERR_KEY_UNSAFE'>; message: string }

/**
 * Why a key is refused before it is fetched, or null. Longer than S3 allows: no such object can exist.
 * A `.` or `..` segment or a leading `/`: CloudTrail never writes one, and a proxy or S3-compatible store
 * that normalises paths would read another key, or with path-style URLs another bucket
 * (`/bucket/../other/key`).
 */
export function keyProblem(key: string): KeyProblem | null {
  // UTF-8 takes 1 to 3 bytes per UTF-16 code unit: the exact count only between length and length * 3.
  if (key.length > MAX_KEY_BYTES || (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)) {
    return { code: 'ERR_KEY_TOO_LONG', message: `key is longer than S3's ${MAX_KEY_BYTES} bytes (${key.length} characters)` }
  }
  if (key.charCodeAt(0) === 0x2f /* / */) return { code: 'ERR_KEY_UNSAFE', message: 'key starts with "/"' }
  if (key.includes('.') && hasDotSegment(key)) return { code: 'ERR_KEY_UNSAFE', message: 'key has a "." or ".." path segment' }
  return null
}

function hasDotSegment(key: string): boolean {
  for (let start = 0; start <= key.length; ) {
    let end = key.indexOf('/', start)
    if (end < 0) end = key.length
    const n = end - start
    if ((n === 1 || n === 2) && key.charCodeAt(start) === 0x2e && (n === 1 || key.charCodeAt(start + 1) === 0x2e)) return true
    start = end + 1
  }
  return false
}
