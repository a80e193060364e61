// The fortisiem line's grammar (README, Output), tested the way a SIEM parser reads it: pairs found with
// the README's regular expression, keys and values unescaped, and the result compared with the record as
// JSON.parse reads it. A round-trip property over the fixtures, the whole real corpus and fuzzed records,
// through both flatteners. And the json format: one record per line whatever the values.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { parse as parseJson } from 'lossless-json'
import { describe, expect, it } from 'vitest'
import { corpusDocuments, corpusRecordCount } from '../../../bench/lib/corpus.ts'
import { Random } from '../../../src/synthetic/random.ts'
import { FastFlattener } from '../../../workers/fortisiem/fast.ts'
import { flattenRecord } from '../../../workers/fortisiem/reference.ts'
import { ObjectParser, parseObjectSync } from '../../../workers/object-parser.ts'
import { OutputBuilder } from '../../../workers/frames.ts'
import type { Format, ParseOptions } from '../../../workers/protocol.ts'
import { fixtureDocuments, fixtureRecords, repoRoot } from '../../helpers/fixtures.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()
const pieceDecoder = new TextDecoder('utf-8', { ignoreBOM: true }) // a U+FEFF inside a record is a character like any other
const HEADER = /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} FortiSIEM-CloudTrail( |$)/

// ---------------------------------------------------------------------------------------------------------
// The reader, exactly as the README tells a SIEM parser author to write it.

const PAIR = /(^| )\[((?:[^\]\\]|\\.)*)\]=/g

/** Undoes \\ \n \r \t \uXXXX \] \=; any other escape is an error in the line. */
function unescape(s: string): string {
  return s.replace(/\\(u[0-9a-f]{4}|.)/g, (escape, e: string) => {
    if (e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16))
    const plain = ({ '\\': '\\', n: '\n', r: '\r', t: '\t', ']': ']', '=': '=' } as Record<string, string>)[e]
    if (plain === undefined) throw new Error(`unknown escape ${JSON.stringify(escape)} in ${JSON.stringify(s)}`)
    return plain
  })
}

/** The pairs of a line's fields (the line after its header), in order. */
function readFields(fields: string): [string, string][] {
  const matches = [...fields.matchAll(PAIR)]
  if (fields !== '') expect(matches[0]?.index, `the fields start with a pair: ${fields.slice(0, 200)}`).toBe(0)
  return matches.map((m, k) => {
    const valueStart = m.index + m[0].length
    const valueEnd = k + 1 < matches.length ? matches[k + 1].index : fields.length
    return [unescape(m[2]), unescape(fields.slice(valueStart, valueEnd))]
  })
}

/** A whole line: the header, then the fields. */
function readLine(line: string): [string, string][] {
  const header = HEADER.exec(line)
  expect(header, line.slice(0, 200)).not.toBeNull()
  return readFields(line.slice(header![0].length))
}

// ---------------------------------------------------------------------------------------------------------
// What the pairs must be: the record as JSON.parse has it, walked by the README's rules (an independent
// oracle, none of the flatteners' code).

type Leaf = { path: string; value: string | number }

function leaves(original: Record<string, unknown>): Leaf[] {
  const out: Leaf[] = []
  // UTF-8 has no lone surrogates: they are written as U+FFFD, as TextEncoder writes them.
  const text = (s: string) => pieceDecoder.decode(enc.encode(s))
  const walk = (v: unknown, path: string, top = false) => {
    if (v === null) out.push({ path, value: 'null' })
    else if (typeof v === 'boolean') out.push({ path, value: String(v) })
    else if (typeof v === 'number') out.push({ path, value: v })
    else if (typeof v === 'string') out.push({ path, value: text(v) })
    else if (Array.isArray(v)) {
      if (v.length === 0) out.push({ path, value: '[]' })
      v.forEach((x, i) => walk(x, `${path}/${i}`))
    } else {
      const keys = Object.keys(v as object).sort()
      if (keys.length === 0 && !top) out.push({ path, value: '{}' }) // {} as a record: no fields
      for (const k of keys) walk((v as Record<string, unknown>)[k], top ? text(k) : `${path}/${text(k)}`)
    }
  }
  let record = original
  if (typeof record.eventSource === 'string') record = { ...record, eventSource: record.eventSource.replace(/\.amazonaws\.com$/, '').toUpperCase() }
  walk(record, '', true)
  return out
}

/** The pairs read back are the record's paths and values, in order; numbers as the numbers written. */
function expectRoundTrip(pairs: [string, string][], record: Record<string, unknown>, what: string): void {
  const want = leaves(record)
  const number = (text: string): number | string => (/^-?\d/.test(text) ? (JSON.parse(text) as number) : text)
  const got = pairs.map(([path, value], k) => ({ path, value: typeof want[k]?.value === 'number' ? number(value) : value }))
  if (JSON.stringify(got) !== JSON.stringify(want)) expect(got, what).toEqual(want)
}

// ---------------------------------------------------------------------------------------------------------
// The flatteners, each as the worker calls it.

const flatteners = {
  reference: (text: string) => dec.decode(enc.encode(flattenRecord(text, 64))),
  fast: (() => {
    const ff = new FastFlattener(64)
    return (text: string) => {
      const bytes = enc.encode(text)
      const out = new OutputBuilder(1 << 16, 'lines')
      out.beginRecord()
      expect(ff.flatten(bytes, 0, bytes.length, out), text.slice(0, 200)).toBe(true)
      out.endRecord()
      return dec.decode(out.take()!.data).slice(0, -1)
    }
  })(),
}

const options = (format: Format, fastPaths: boolean): ParseOptions => ({
  format,
  framing: 'lines',
  fastPaths,
  limits: { maxDecompressedBytes: 1 << 30, maxRecordBytes: 8 << 20, maxDepth: 128, outputChunkBytes: 1 << 20 },
})

/** A whole decompressed document through the object parser: its output lines. */
function parseDocument(bytes: Uint8Array, format: Format, fastPaths: boolean): string[] {
  const parser = new ObjectParser(options(format, fastPaths))
  parser.push(bytes)
  parser.end()
  const chunks: Uint8Array[] = []
  for (let t = parser.take(); t; t = parser.take()) chunks.push(t.data)
  const text = Buffer.concat(chunks).toString('utf8')
  expect(text.endsWith('\n') || text === '').toBe(true)
  return text.split('\n').slice(0, -1)
}

describe.each(['reference', 'fast'] as const)('the fortisiem grammar, read back: %s flattener', (which) => {
  const flatten = flatteners[which]
  const fastPaths = which === 'fast'

  it('cannot be forged by a value: the first [userIdentity/arn] is the record’s own', () => {
    const record = {
      eventSource: 'sts.amazonaws.com',
      userAgent: 'aws-cli/2 [userIdentity/arn]=arn:aws:iam::111111111111:user/mallory',
      errorMessage: 'x [sourceIPAddress]=10.0.0.1 [y',
      requestParameters: { roleArn: 'a [userIdentity/type]=Root', tail: ' [' },
      userIdentity: { arn: 'arn:aws:iam::222222222222:user/alice', type: 'IAMUser' },
      sourceIPAddress: '192.0.2.1',
    }
    const pairs = readFields(flatten(JSON.stringify(record)))
    const first = (path: string) => pairs.find(([p]) => p === path)?.[1]
    expect(first('userIdentity/arn')).toBe('arn:aws:iam::222222222222:user/alice')
    expect(first('userIdentity/type')).toBe('IAMUser')
    expect(first('sourceIPAddress')).toBe('192.0.2.1')
    expect(pairs.map(([p]) => p)).toEqual(['errorMessage', 'eventSource', 'requestParameters/roleArn', 'requestParameters/tail', 'sourceIPAddress', 'userAgent', 'userIdentity/arn', 'userIdentity/type'])
    expectRoundTrip(pairs, record, which)
  })

  it('writes each escape as the README says', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ a: 'x]=y' }, '[a]=x]\\=y'],
      [{ a: ']]==]' }, '[a]=]]\\==]'],
      [{ 'k]=': 1 }, '[k\\]=]=1'],
      [{ '[k]': 1 }, '[[k\\]]=1'],
      [{ a: 'back\\slash \\n' }, '[a]=back\\\\slash \\\\n'],
      [{ a: 'new\nline\r\t' }, '[a]=new\\nline\\r\\t'],
      [{ a: '\u0000\u001f\u007f\u0080\u0085\u009f\u00a0\u2028\u2029\u202a' }, '[a]=\\u0000\\u001f\\u007f\\u0080\\u0085\\u009f\u00a0\\u2028\\u2029\u202a'],
      [{ 'k\u2028\u0085\\': 1 }, '[k\\u2028\\u0085\\\\]=1'],
      // A `[` after a space with no `]` after it: the search for the next pair would start there.
      [{ a: 'x [y', b: 1 }, '[a]=x \\u005by [b]=1'],
      [{ a: 'x [y [z] [w', b: 1 }, '[a]=x [y [z] \\u005bw [b]=1'],
      [{ a: 'x [y] z', b: 1 }, '[a]=x [y] z [b]=1'],
      [{ a: '[y', b: 1 }, '[a]=[y [b]=1'],
      [{ a: ' [', b: ' [ [' }, '[a]= \\u005b [b]= \\u005b \\u005b'],
      // Lone surrogates cannot be written in UTF-8.
      [{ a: 'x\ud800y\udc00', b: '😀' }, '[a]=x\ufffdy\ufffd [b]=😀'],
    ]
    for (const [record, fields] of cases) expect(flatten(JSON.stringify(record)), JSON.stringify(record)).toBe(fields)
  })

  it('keeps ordinary records byte for byte: brackets, equals signs and spaces in values, slashes in keys', () => {
    const record = { userAgent: '[S3Console/0.4, aws-internal/3 aws-sdk-java/1.11.1002]', q: 'a=b&c=[d]', 'x/y': 'é 日本 😀', eventSource: 's3.amazonaws.com' }
    expect(flatten(JSON.stringify(record))).toBe('[eventSource]=S3 [q]=a=b&c=[d] [userAgent]=[S3Console/0.4, aws-internal/3 aws-sdk-java/1.11.1002] [x/y]=é 日本 😀')
  })

  it('writes a `/` in a key as it is: paths may coincide, but only below the key’s own object', () => {
    expect(flatten('{"a/b":1}')).toBe(flatten('{"a":{"b":1}}'))
    expect(flatten('{"a":{"0":1}}')).toBe(flatten('{"a":[1]}'))
    const record = { requestParameters: { '../userIdentity/arn': 'x', ' [userIdentity/arn]=': 'y', '/': 'z' }, userIdentity: { arn: 'alice' } }
    const pairs = readFields(flatten(JSON.stringify(record)))
    expect(pairs.filter(([path]) => !path.startsWith('requestParameters/'))).toEqual([['userIdentity/arn', 'alice']])
    expectRoundTrip(pairs, record, which)
  })

  it('reads back every fixture record', () => {
    const records = fixtureRecords()
    expect(records.length).toBeGreaterThan(400)
    for (const { source, record } of records) expectRoundTrip(readFields(flatten(JSON.stringify(record))), record, source)
    for (const { name, text } of fixtureDocuments()) {
      const lines = parseDocument(enc.encode(text), 'fortisiem', fastPaths)
      const { Records } = JSON.parse(text) as { Records: Record<string, unknown>[] }
      expect(lines.length, name).toBe(Records.length)
      lines.forEach((line, i) => expectRoundTrip(readLine(line), Records[i], `${name} #${i}`))
    }
  })

  it('reads back every record of the real corpus, as the files have them', () => {
    let n = 0
    for (const { name, bytes } of corpusDocuments()) {
      const lines = parseDocument(bytes, 'fortisiem', fastPaths)
      const { Records } = JSON.parse(bytes.toString('utf8')) as { Records: Record<string, unknown>[] }
      expect(lines.length, name).toBe(Records.length)
      lines.forEach((line, i) => expectRoundTrip(readLine(line), Records[i], `${name} #${i}`))
      n += lines.length
    }
    expect(n).toBe(corpusRecordCount())
    expect(n).toBe(7944)
  })

  it('reads back 3,000 fuzzed records of hostile keys and values, raw and escaped in the JSON', () => {
    const r = new Random(which === 'fast' ? 91 : 92)
    for (let k = 0; k < 3000; k++) {
      // As bytes would bring it: a surrogate left alone by the escapes above is U+FFFD in UTF-8.
      const text = dec.decode(enc.encode(serialize(r, randomRecord(r))))
      // Read by lossless-json, not JSON.parse: on Node 24 (V8 12.8 and later) JSON.parse can read an escaped
      // key as another key seen before (nodejs/node#63785: after a key written "\\", one written "\u005D"
      // comes back as a backslash), and this fuzzing finds it. The flatteners never JSON.parse an object.
      const parsed = parseJson(text, null, Number) as Record<string, unknown>
      expectRoundTrip(readFields(flatten(text)), parsed, text)
    }
  })
})

// Pieces a hostile key or value is made of: everything the grammar escapes, everything the reader looks
// for, and what lies near them.
const PIECES = [
  ']', '=', ']=', '\\', '[', ' ', ' [', '[x]=', ' [userIdentity/arn]=', ']\\=', '\\]', '\\=', '\\\\', '\\n', '\\u0041',
  '/', '//', '"', 'a', 'é', '日本', '😀', '\ud83d', '\ude00', '\ud800\ud800', '\u0000', '\n', '\r', '\t', '\u001f',
  '\u007f', '\u0080', '\u0085', '\u009f', '\u00a0', '\u2028', '\u2029', '\u2027', '\u202a', '\ufeff', '\ufffd',
]

function randomString(r: Random, n: number): string {
  return Array.from({ length: r.int(n) }, () => r.pick(PIECES)).join('')
}

function randomRecord(r: Random): Record<string, unknown> {
  const value = (depth: number): unknown => {
    const x = r.float()
    if (depth < 4 && x < 0.15) return object(depth + 1)
    if (depth < 4 && x < 0.25) return Array.from({ length: r.int(3) }, () => value(depth + 1))
    if (x < 0.85) return randomString(r, 6)
    return r.pick([0, -1.5, 1e21, true, false, null])
  }
  const object = (depth: number): Record<string, unknown> => {
    const o: Record<string, unknown> = {}
    for (let k = r.int(5); k > 0; k--) o[randomString(r, 4)] = value(depth)
    return o
  }
  const record = object(1)
  if (r.chance(0.3)) record.eventSource = randomString(r, 4) + (r.chance(0.5) ? '.amazonaws.com' : '')
  return record
}

/** JSON text of `v`, with some characters written as \uXXXX escapes (the fast flattener's other path). */
function serialize(r: Random, v: unknown): string {
  const text = JSON.stringify(v)
  if (r.chance(0.5)) return text
  // Inside strings only: every character after an even run of backslashes and before the closing quote.
  let out = ''
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (!inString) {
      out += c
      if (c === '"') inString = true
    } else if (c === '\\') {
      const n = text[i + 1] === 'u' ? 6 : 2 // an escape of JSON.stringify's own, kept whole
      out += text.slice(i, i + n)
      i += n - 1
    } else if (c === '"') {
      out += c
      inString = false
    } else {
      const hex = c.charCodeAt(0).toString(16).padStart(4, '0')
      out += r.chance(0.3) ? `\\u${r.chance(0.5) ? hex.toUpperCase() : hex}` : c
    }
  }
  return out
}

it('is the reader the README gives', () => {
  expect(readFileSync(join(repoRoot, 'README.md'), 'utf8')).toContain(`\`${PAIR.source}\``)
})

describe('the json format under hostile values', () => {
  it.each([true, false])('writes one parseable line per record (fast paths: %s)', (fastPaths) => {
    const r = new Random(7)
    const records = Array.from({ length: 300 }, () => randomRecord(r))
    records.push({ userAgent: 'aws-cli/2 [userIdentity/arn]=x\n{"injected":true}\r\n', s: '\u2028\u2029\u0085\u007f' })
    const texts = records.map((x) => dec.decode(enc.encode(serialize(r, x))))
    const doc = enc.encode(`{"Records":[${texts.join(',')}]}`)
    const { output, stats } = parseObjectSync(gzipSync(doc), options('json', fastPaths))
    const text = output.toString('utf8')
    expect(stats.records).toBe(records.length)
    // No line end of any kind inside a line: \n ends each record and nothing else breaks one.
    expect(text.split('\n').length - 1).toBe(records.length)
    expect(text).not.toMatch(/\r/)
    const lines = text.split('\n').slice(0, -1)
    lines.forEach((line, i) => expect(JSON.parse(line), line).toEqual(JSON.parse(texts[i])))
  })
})
