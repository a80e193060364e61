// The reference FortiSIEM flattener: straightforward on purpose. It parses a record into a tree and walks
// it. The fast single-pass flattener (fast.ts) is tested against it byte for byte.
//
// FortiSIEM's line for one record, as FortiSIEM's sample CloudTrail events have it (README "Output"):
//   <ctime> FortiSIEM-CloudTrail [path]=value [path]=value …
// - depth first, object keys sorted at each level (JavaScript's default sort: UTF-16 code units);
// - path segments joined with '/', array elements by index;
// - strings raw, except what a reader could take for a line end or for the start of another pair (the
//   grammar, README "Output"): a backslash is \\; U+0000–U+001F, U+007F–U+009F, U+2028 and U+2029 are
//   \n \r \t or \uXXXX; in a path `]` is \]; in a value `]=` is ]\= and a `[` after a space with no `]`
//   after it is \u005b. So a parser that finds pairs with (^| )\[((?:[^\]\\]|\\.)*)\]= gets back every
//   path and value, whatever they hold (test/workers/fortisiem/grammar.test.ts);
// - numbers as written in the source (1.0 stays 1.0, 1e400 stays 1e400), booleans, null;
// - {} and [] for empty objects and arrays;
// - the top-level eventSource as the service name in capitals: signin.amazonaws.com -> SIGNIN.
// A record whose fields come to more than `maxBytes` (UTF-8) is refused while they are written, never
// built whole first: one long key over a long array multiplies (a 113 KB record would be a 1.3 GB line).
//
// JSON.parse cannot be the parser here: it turns 1e400 into Infinity and 1.0 into 1, and its reviver's
// context.source (Node 22 and later) does not help with keys: on Node 24 JSON.parse can read an escaped
// key as another key seen before (nodejs/node#63785: after a key written "\\", one written "\u005D" comes
// back as a backslash). lossless-json reads it instead: numbers kept as written, escapes and lone
// surrogates as JSON.parse reads them, the last of duplicate keys kept, "__proto__" a plain key. It is
// slower than the hand-written parser it replaced (flattenRecord, best of 7 runs on Node 24: the corpus
// 53 -> 74 µs per record, 1,000 synthetic records, seed 1: 70 -> 126), which matters little: the collector runs
// the reference only for the records the fast path leaves to it (invalid UTF-8, or more than 256 keys never
// seen before); tests and benchmarks run it as the oracle.
//
// The parser and walk() recurse, as deep as the record. The record cutter skips records deeper than
// max_depth (10,000 at most) before they get here, and a parse thread's stack (Node gives a worker 4 MB)
// holds that: on Node 24 nested objects fit up to about 15,500 levels there, but only about 3,800 on the
// main thread's ~1 MB (tests, benchmarks). Running out throws a RangeError that isStackOverflow() tells
// apart and callers refuse as not JSON.

import { parse } from 'lossless-json'

export class RawNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = null | boolean | string | RawNumber | JsonValue[] | { [key: string]: JsonValue }

export class RecordSyntaxError extends Error {}

/** The record's fields would exceed the output limit (max_record_size): skipped and counted as record_too_large. */
export class RecordTooLargeError extends Error {}

/**
 * The parser or the walk recursed out of stack (a record nested some thousands deep on the main thread, see
 * above): the record is refused like one that is not JSON. Other RangeErrors (a failed allocation) are not.
 */
export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message)
}

const LOSSLESS = {
  parseNumber: (text: string): RawNumber => new RawNumber(text),
  // The last of duplicate keys wins, as in JSON.parse (lossless-json throws by default).
  onDuplicateKey: ({ newValue }: { newValue: unknown }): unknown => newValue,
}

/**
 * The record's tree, numbers as written. Throws RecordSyntaxError when it is not JSON, or when a value sits
 * deeper than `maxDepth` (the record itself is at depth 1).
 */
export function parseLossless(text: string, maxDepth = 1000): JsonValue {
  checkDepth(text, maxDepth)
  try {
    return parse(text, null, LOSSLESS) as JsonValue
  } catch (err) {
    if (err instanceof SyntaxError) throw new RecordSyntaxError(err.message)
    throw err
  }
}

/**
 * Throws RecordSyntaxError when a value of the JSON `text` sits deeper than `maxDepth`: a token starts
 * inside `maxDepth` open containers. lossless-json has no depth limit of its own. Exact on valid JSON
 * (strings skipped as JSON reads them); on invalid JSON either this or the parser throws, the same error.
 */
function checkDepth(text: string, maxDepth: number): void {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x2c /* , */ || c === 0x3a /* : */) continue
    if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--
      continue
    }
    if (depth >= maxDepth) throw new RecordSyntaxError(`nested too deep at character ${i}`)
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) depth++
    else if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i)
        if (d === 0x5c /* \ */) i++
        else if (d === 0x22) break
      }
    }
  }
}

/** A character that must not appear raw in a line, as the grammar writes it: \\, \n, \r, \t or \uXXXX. */
function escapeChar(c: string): string {
  if (c === '\\') return '\\\\'
  if (c === '\n') return '\\n'
  if (c === '\r') return '\\r'
  if (c === '\t') return '\\t'
  return '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')
}

// What either may hold that needs an escape (`]` only before `=` in a value). Tested first, replaced only
// where found: most strings have none (the corpus's 178,544 string values: 138 ns each this way, 245 with
// the bare replace() of control characters that was here before, 429 with one replace() for the grammar).
// eslint-disable-next-line no-control-regex
const SPECIAL = /[\\\]\u0000-\u001f\u007f-\u009f\u2028\u2029]/
// eslint-disable-next-line no-control-regex
const SPECIALS = /[\\\]\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

/** A path segment (an object key): the characters above, and `]` as \]. */
export function escapeKey(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIALS, (c) => (c === ']' ? '\\]' : escapeChar(c))) : s
}

/** A string value: the characters above, `]=` as ]\=, and a `[` after a space with no `]` after it as \u005b. */
export function escapeValue(s: string): string {
  const out = SPECIAL.test(s) ? s.replace(SPECIALS, (c, at: number) => (c !== ']' ? escapeChar(c) : s.charCodeAt(at + 1) === 0x3d ? ']\\' : ']')) : s
  if (out.indexOf(' [') < 0) return out
  // A reader's search for the next ` [KEY]=` that started at such a ` [` would run on into the next pair's
  // key (the first `]` it meets ends a key); a ` [` with a `]` after it in the value cannot (`]=` is never raw).
  const open = out.indexOf(' [', out.lastIndexOf(']') + 1)
  return open < 0 ? out : out.slice(0, open) + out.slice(open).replaceAll(' [', ' \\u005b')
}

/** signin.amazonaws.com -> SIGNIN */
export function serviceName(eventSource: string): string {
  const suffix = '.amazonaws.com'
  const name = eventSource.endsWith(suffix) ? eventSource.slice(0, -suffix.length) : eventSource
  return name.toUpperCase()
}

/** The fields being written, and their UTF-8 size against the limit. */
class Fields {
  readonly parts: string[] = []
  /** UTF-16 units so far, the spaces between fields included. */
  private units = -1
  /** UTF-8 bytes so far, counted only once they could pass the limit (3 bytes at most per unit); -1 before. */
  private bytes = -1

  constructor(private readonly maxBytes: number) {}

  push(path: string, value: string): void {
    const part = `[${path}]=${value}`
    this.parts.push(part)
    this.units += 1 + part.length
    if (3 * this.units <= this.maxBytes) return
    this.bytes = this.bytes < 0 ? Buffer.byteLength(this.parts.join(' ')) : this.bytes + 1 + Buffer.byteLength(part)
    if (this.bytes > this.maxBytes) throw new RecordTooLargeError(`the fields come to more than ${this.maxBytes} bytes`)
  }
}

function walk(value: JsonValue, path: string, fields: Fields): void {
  if (value === null) {
    fields.push(path, 'null')
  } else if (typeof value === 'string') {
    fields.push(path, escapeValue(value))
  } else if (typeof value === 'boolean') {
    fields.push(path, String(value))
  } else if (value instanceof RawNumber) {
    fields.push(path, value.text)
  } else if (Array.isArray(value)) {
    if (value.length === 0) fields.push(path, '[]')
    for (let i = 0; i < value.length; i++) walk(value[i], `${path}/${i}`, fields)
  } else {
    const keys = Object.keys(value).sort()
    if (keys.length === 0) fields.push(path, '{}')
    for (const key of keys) walk(value[key], `${path}/${escapeKey(key)}`, fields)
  }
}

/**
 * `[path]=value …` for one record's text; throws RecordSyntaxError when it is not a JSON object, and
 * RecordTooLargeError as soon as the fields come to more than `maxBytes` bytes of UTF-8.
 */
export function flattenRecord(text: string, maxDepth?: number, maxBytes = Infinity): string {
  const record = parseLossless(text, maxDepth)
  if (record === null || typeof record !== 'object' || Array.isArray(record) || record instanceof RawNumber) {
    throw new RecordSyntaxError('a record must be a JSON object')
  }
  const fields = new Fields(maxBytes)
  for (const key of Object.keys(record).sort()) {
    const value = record[key]
    const path = escapeKey(key)
    if (key === 'eventSource' && typeof value === 'string') fields.push('eventSource', escapeValue(serviceName(value)))
    else walk(value, path, fields)
  }
  return fields.parts.join(' ')
}
