// drop, keep and redact rules: parsing, matching, and the parse threads' verdicts held to a straightforward
// evaluation over the parsed records, in both formats, over the fixtures, the real corpus and hostile records.
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { corpusDocuments } from '../../../bench/lib/corpus.ts'
import { isCollectorError } from '../../../src/errors.ts'
import { type JsonValue, RawNumber, parseLossless } from '../../../workers/fortisiem/reference.ts'
import { minifyRecord } from '../../../workers/json/reference.ts'
import { parseObjectSync } from '../../../workers/object-parser.ts'
import type { Format, ParseOptions } from '../../../workers/protocol.ts'
import { compileRules, matchesValue, type RuleSpec } from '../../../workers/rules/compile.ts'
import { Glob } from '../../../workers/rules/glob.ts'
import { fixtureDocuments } from '../../helpers/fixtures.ts'
import { cutRecords } from '../../helpers/records.ts'

const clock = () => Date.UTC(2026, 10, 26, 15, 2, 56)
const limits = { maxDecompressedBytes: 1 << 30, maxRecordBytes: 1 << 22, maxDepth: 64, outputChunkBytes: 1 << 20 }
const options = (format: Format, fastPaths: boolean, rules?: RuleSpec): ParseOptions => ({ format, framing: 'lines', fastPaths, limits, rules })
const spec = (s: Partial<RuleSpec>): RuleSpec => ({ drop: [], keep: [], redact: [], ...s })
const encoder = new TextEncoder()

// ---------------------------------------------------------------------------------------------------------
// The oracle: written from the README's words, sharing nothing with workers/rules/ but the parser.

/** A glob as a regular expression: fine for the short values of the tables, not for hostile ones. */
function oracleMatch(pattern: string, value: string): boolean {
  const alternatives: string[] = []
  let cur = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '\\') cur += pattern[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    else if (c === '*') cur += '[\\s\\S]*'
    else if (c === '|') {
      alternatives.push(cur)
      cur = ''
    } else cur += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  }
  alternatives.push(cur)
  return alternatives.some((a) => new RegExp(`^(?:${a})$`, 'u').test(value))
}

function oracleFields(v: JsonValue, path: string, out: [string, string][]): void {
  if (v === null || typeof v === 'boolean') out.push([path, String(v)])
  else if (typeof v === 'string') out.push([path, v])
  else if (v instanceof RawNumber) out.push([path, v.text])
  else {
    const entries: [string, JsonValue][] = Array.isArray(v) ? v.map((x, k) => [String(k), x]) : Object.entries(v)
    if (entries.length === 0) out.push([path, Array.isArray(v) ? '[]' : '{}'])
    for (const [k, x] of entries) oracleFields(x, path ? `${path}/${k}` : k, out)
  }
}

interface Expected {
  dropped: string | null
  redacted: string[]
  tree: JsonValue
}

function oracle(rules: RuleSpec, text: string): Expected {
  const tree = parseLossless(text, limits.maxDepth)
  const fields: [string, string][] = []
  oracleFields(tree, '', fields)
  const matches = (rule: string) => {
    const eq = rule.indexOf('=')
    const path = rule.slice(0, eq)
    return fields.some(([p, v]) => p === path && oracleMatch(rule.slice(eq + 1), v))
  }
  let dropped = rules.drop.find(matches) ?? null
  if (dropped === null && rules.keep.length > 0 && !rules.keep.some(matches)) dropped = 'keep'
  const redacted = new Set<string>()
  const ruleFor = (path: string) =>
    rules.redact.find((r) => (r.endsWith('/*') ? path.startsWith(r.slice(0, -1)) : path === r || path.startsWith(`${r}/`)))
  const walk = (v: JsonValue, path: string): JsonValue => {
    if (v === null || typeof v !== 'object' || v instanceof RawNumber) return v
    const entries: [string, JsonValue][] = Array.isArray(v) ? v.map((x, k) => [String(k), x]) : Object.entries(v)
    const mapped = entries.map(([k, x]): [string, JsonValue] => {
      const p = path ? `${path}/${k}` : k
      const r = ruleFor(p)
      if (r !== undefined) redacted.add(r)
      return [k, r !== undefined ? '[REDACTED]' : walk(x, p)]
    })
    if (Array.isArray(v)) return mapped.map(([, x]) => x)
    const o: Record<string, JsonValue> = {}
    for (const [k, x] of mapped) Object.defineProperty(o, k, { value: x, enumerable: true, writable: true, configurable: true })
    return o
  }
  const out = walk(tree, '')
  return { dropped, redacted: rules.redact.filter((r) => redacted.has(r)), tree: out }
}

function stringify(v: JsonValue): string {
  if (v instanceof RawNumber) return v.text
  if (v === null || typeof v !== 'object') return JSON.stringify(v)
  if (Array.isArray(v)) return `[${v.map(stringify).join(',')}]`
  return `{${Object.keys(v).map((k) => `${JSON.stringify(k)}:${stringify(v[k])}`).join(',')}}`
}

/** The records of a document as the cutter cuts them. */
const cut = (doc: Uint8Array): string[] => cutRecords(doc, limits).map((r) => r.text)

/** What the parse threads must make of a document under `rules`, from the oracle and the rule-less reference formatter. */
function expected(doc: Uint8Array, format: Format, rules: RuleSpec) {
  const dropped: Record<string, number> = {}
  const redacted: Record<string, number> = {}
  const kept: { text: string; redacted: boolean; tree: JsonValue }[] = []
  for (const text of cut(doc)) {
    const e = oracle(rules, text)
    if (e.dropped !== null) {
      dropped[e.dropped] = (dropped[e.dropped] ?? 0) + 1
      continue
    }
    for (const r of e.redacted) redacted[r] = (redacted[r] ?? 0) + 1
    kept.push({ text: e.redacted.length > 0 ? stringify(e.tree) : text, redacted: e.redacted.length > 0, tree: e.tree })
  }
  const plain = parseObjectSync(gzipSync(`{"Records":[${kept.map((k) => k.text).join(',')}]}`), options(format, false), clock)
  return { dropped, redacted, kept, output: plain.output.toString('utf8') }
}

function check(name: string, doc: Uint8Array, format: Format, fastPaths: boolean, rules: RuleSpec): void {
  const want = expected(doc, format, rules)
  const got = parseObjectSync(gzipSync(doc), options(format, fastPaths, rules), clock)
  const where = `${name} (${format}, ${fastPaths ? 'fast' : 'reference'})`
  expect(got.stats.dropped, where).toEqual(want.dropped)
  expect(got.stats.redacted, where).toEqual(want.redacted)
  expect(got.stats.records, where).toBe(want.kept.length)
  const text = got.output.toString('utf8')
  if (format === 'fortisiem') {
    expect(text, where).toBe(want.output)
    return
  }
  const lines = text.split('\n').slice(0, -1)
  expect(lines.length, where).toBe(want.kept.length)
  lines.forEach((line, k) => {
    const w = want.kept[k]
    if (!w.redacted) expect(line, where).toBe(minifyRecord(w.text))
    else expect(parseLossless(line), where).toEqual(w.tree) // valid JSON, the values replaced
  })
}

const RULE_SETS: [string, RuleSpec][] = [
  ['README drops', spec({ drop: ['readOnly=true', 'eventName=Describe*|List*|Get*', 'eventSource=kms.amazonaws.com', 'userIdentity/invokedBy=*.amazonaws.com'] })],
  ['keep writes, redact secrets', spec({ keep: ['readOnly=false', 'recipientAccountId=123456789012'], redact: ['requestParameters/policyDocument', 'responseElements/credentials/*'] })],
  ['redact whole subtrees', spec({ drop: ['userIdentity/type=Root'], redact: ['userIdentity', 'requestParameters/*', 'resources/0'] })],
  ['arrays, numbers, empties', spec({ drop: ['resources/0/type=AWS::S3::*', 'eventVersion=1.0*'], keep: ['requestParameters={}|*a*', 'additionalEventData/MFAUsed=No', 'errorCode=*', 'sessionCredentialFromConsole=true'] })],
  ['redact inside what the rules read', spec({ keep: ['userIdentity/sessionContext/attributes/mfaAuthenticated=false|true', 'eventType=AwsApiCall'], redact: ['userIdentity/sessionContext', 'userIdentity/arn', 'tlsDetails/*'] })],
]

describe('rule parsing', () => {
  it.each([
    ['drop', 'eventName', 'expected PATH=PATTERN'],
    ['drop', '=List*', 'the path is empty'],
    ['keep', 'a/*=x', 'no wildcards'],
    ['drop', '/a=x', 'neither starts nor ends with /'],
    ['drop', 'a/=x', 'neither starts nor ends with /'],
    ['drop', 'a=\\x', 'a backslash escapes only'],
    ['redact', 'a/*/b', 'trailing /*'],
    ['redact', '*', 'trailing /*'],
    ['redact', '/*', 'the path is empty'],
    ['redact', '', 'the path is empty'],
  ] as const)('%s %j: %s', (kind, rule, detail) => {
    const rules = spec({ [kind]: ['eventName=ok', rule] })
    let err: unknown
    try {
      compileRules(rules)
    } catch (e) {
      err = e
    }
    expect(isCollectorError(err) && err.code).toBe('ERR_CONFIG')
    const e = err as { setting: string; detail: string }
    expect(e.setting).toBe(kind)
    expect(e.detail).toContain(`rule 2 (${JSON.stringify(rule)})`)
    expect(e.detail).toContain(detail)
  })

  it('compiles what the README shows', () => {
    const set = compileRules(spec({ drop: RULE_SETS[0][1].drop, keep: ['readOnly=false'], redact: ['a', 'a/*', 'b/c'] }))
    expect(set.drop.map((r) => r.label)).toEqual(RULE_SETS[0][1].drop)
    expect(set.targets.length).toBe(7) // readOnly: one target for its drop and keep rules
  })
})

describe('glob matching', () => {
  const glob = (pattern: string) => {
    const set = compileRules(spec({ drop: [`p=${pattern}`] }))
    return (value: string) => {
      const b = encoder.encode(value)
      return matchesValue(set.drop[0], b, 0, b.length)
    }
  }
  it.each([
    ['Describe*', 'DescribeInstances', true],
    ['Describe*', 'describeInstances', false],
    ['Describe*', 'Describe', true],
    ['*.amazonaws.com', 'ec2.amazonaws.com', true],
    ['*.amazonaws.com', 'amazonaws.com', false],
    ['*', '', true],
    ['', '', true],
    ['', 'x', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'acb', false],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['*ab*ab*', 'abab', true],
    ['*ab*ab*', 'aba', false],
    ['List*|Get*', 'GetObject', true],
    ['x\\*y', 'x*y', true],
    ['x\\*y', 'xzy', false],
    ['a\\|b', 'a|b', true],
    ['é*ü', 'éaü', true],
    ['*aab', 'aaab', true],
    ['*abcabd*', 'abcabcabd', true],
  ])('%j against %j: %s', (pattern, value, want) => {
    expect(glob(pattern)(value)).toBe(want)
    expect(oracleMatch(pattern, value)).toBe(want)
  })

  it('agrees with the oracle on random patterns and values', () => {
    let seed = 7
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n)
    for (let k = 0; k < 3000; k++) {
      const pattern = Array.from({ length: rand(8) }, () => 'ab*'[rand(3)]).join('')
      const value = Array.from({ length: rand(10) }, () => 'ab'[rand(2)]).join('')
      expect(glob(pattern)(value), `${pattern} ${value}`).toBe(oracleMatch(pattern, value))
    }
  })

  it('stays linear on hostile patterns and values', () => {
    const value = 'a'.repeat(4 << 20)
    const patterns = [`${'a*'.repeat(500)}b`, `*${'a'.repeat(1000)}b*`, `${'*a'.repeat(2000)}*b`, '*'.repeat(10000)]
    for (const pattern of patterns) {
      const m = glob(pattern)
      const t = performance.now()
      const result = m(value)
      const ms = performance.now() - t
      expect(result, pattern.slice(0, 20)).toBe(pattern.startsWith('*'.repeat(100)))
      expect(ms, pattern.slice(0, 20)).toBeLessThan(2000)
    }
  })

  it('Glob alone: an exact value, and pieces', () => {
    const g = new Glob(['ab', '', 'c'])
    const b = encoder.encode('abxc')
    expect(g.matches(b, 0, b.length)).toBe(true)
    expect(g.matches(b, 1, b.length)).toBe(false)
  })
})

const fixtureDocs = fixtureDocuments().map(({ name, text }): [string, Uint8Array] => [name, encoder.encode(text)])
const corpus = corpusDocuments()
/** The corpus's records as written (whitespace and all), 400 to a document: fewer, larger objects. */
const corpusBatches: [string, Uint8Array][] = (() => {
  const records = corpus.flatMap(({ bytes }) => cut(bytes))
  const out: [string, Uint8Array][] = []
  for (let k = 0; k < records.length; k += 400) out.push([`corpus records ${k}-`, encoder.encode(`{"Records":[${records.slice(k, k + 400).join(',')}]}`)])
  return out
})()

const HOSTILE: [string, string][] = [
  ['duplicate keys', '{"Records":[{"eventName":"ListA","eventName":"PutB","readOnly":true},{"eventName":"PutB","eventName":"ListA"},{"userIdentity":{"type":"Root"},"userIdentity":{"type":"IAMUser"}}]}'],
  ['slashes in keys', '{"Records":[{"userIdentity/type":"Root","eventName":"X"},{"userIdentity":{"type/x":1},"requestParameters/policyDocument":"secret","responseElements/credentials":{"a":1}},{"responseElements":{"credentials/accessKeyId":"AKIA","credentials":{"sessionToken":"t"}}}]}'],
  ['escaped keys and values', '{"Records":[{"event\\u004eame":"ListX"},{"eventName":"Li\\u0073tY","readOnly":"tru\\u0065"},{"eventName":"\\"List\\"","userIdentity":{"invokedBy":"a.amazonaws.co\\u006d"}}]}'],
  ['numbers and literals', '{"Records":[{"readOnly":true,"eventVersion":1.0},{"readOnly":"true"},{"readOnly":null,"resources":[{"type":"AWS::S3::Object"}],"errorCode":-1.5e3},{"requestParameters":{},"additionalEventData":[]}]}'],
  ['whitespace', '{"Records":[ { "eventName" : "ListX" , "readOnly" : false } , {\n"requestParameters" : { "policyDocument" : { "a" : [ 1 , 2 ] } } ,\t"x":1 } ]}'],
  ['redact everything under', '{"Records":[{"requestParameters":{"a":{"b":1},"c":[1,{"d":2}],"e":"f"},"userIdentity":{"arn":"x","sessionContext":{"attributes":{"mfaAuthenticated":"false"}}},"tlsDetails":{}}]}'],
  ['non-ASCII', '{"Records":[{"eventName":"List\u00ff"},{"eventName":"Get\u2028x","requestParameters":{"policyDocument":"\u00e9t\u00e9"}}]}'],
  ['__proto__', '{"Records":[{"__proto__":{"type":"Root"},"userIdentity":{"__proto__":"x","type":"Root"}}]}'],
]

describe.each(['fortisiem', 'json'] as const)('the %s format under rules', (format) => {
  describe.each(RULE_SETS)('%s', (_name, rules) => {
    it.each([true, false])('fixtures and hostile records, fast paths %s', (fastPaths) => {
      for (const [name, doc] of fixtureDocs) check(name, doc, format, fastPaths, rules)
      for (const [name, doc] of HOSTILE) check(name, encoder.encode(doc), format, fastPaths, rules)
    })
    it('the real corpus', () => {
      for (const [name, doc] of corpusBatches) check(name, doc, format, true, rules)
    })
  })

  it('hostile records: drop and redact as the oracle says, by rule', () => {
    const rules = spec({ drop: ['eventName=List*', 'readOnly=true', 'userIdentity/type=Root'], redact: ['requestParameters/policyDocument', 'responseElements/credentials', 'userIdentity/sessionContext/*'] })
    for (const [name, doc] of HOSTILE) for (const fast of [true, false]) check(name, encoder.encode(doc), format, fast, rules)
  })

  it('records that are not JSON are never written, whatever the rules', () => {
    const doc = '{"Records":[{"eventName":"ListX",},{"eventName":"ListY" "a":1},{"eventName":"Put","readOnly":tru},{"eventName":"ok"}]}'
    for (const fast of [true, false]) {
      for (const rules of [spec({ drop: ['eventName=List*'] }), spec({ keep: ['eventName=*'] }), spec({ redact: ['eventName'] })]) {
        const got = parseObjectSync(gzipSync(doc), options(format, fast, rules), clock)
        expect(got.stats.records).toBe(1)
        const notWritten = Object.values(got.stats.dropped).reduce((a, b) => a + b, 0) + (got.stats.skipped.record_not_json ?? 0)
        expect(notWritten).toBe(3) // a drop rule that matches drops one without a look at the rest; otherwise not JSON
      }
    }
  })

  it('invalid UTF-8: values matched as the format reads them (U+FFFD)', () => {
    const doc = Buffer.concat([Buffer.from('{"Records":[{"eventName":"List'), Buffer.from([0xff]), Buffer.from('"},{"eventName":"Get"}]}')])
    for (const fast of [true, false]) {
      const got = parseObjectSync(gzipSync(doc), options(format, fast, spec({ drop: ['eventName=List\ufffd'] })), clock)
      expect(got.stats.dropped).toEqual({ 'eventName=List\ufffd': 1 })
      expect(got.stats.records).toBe(1)
    }
  })

  it('a key repeated 100,000 times stays linear (the reference decides, once)', () => {
    const dup = Array.from({ length: 100_000 }, (_, k) => `"eventName":"List${k}"`).join(',')
    const doc = `{"Records":[{${dup},"eventName":"Put"},{"eventName":"ListX"}]}`
    for (const fast of [true, false]) {
      const t = performance.now()
      const got = parseObjectSync(gzipSync(doc), options(format, fast, spec({ drop: ['eventName=List*'] })), clock)
      expect(performance.now() - t).toBeLessThan(20_000)
      expect(got.stats.dropped).toEqual({ 'eventName=List*': 1 }) // the last eventName of the first record is Put
      expect(got.stats.records).toBe(1)
    }
  })

  it('a very long value and many keys stay linear', () => {
    // Not through the oracle: its regular expressions backtrack on these.
    const long = 'a'.repeat(3 << 20)
    const keys = Array.from({ length: 50_000 }, (_, k) => `"k${k}":${k}`).join(',')
    const doc = `{"Records":[{"eventName":"${long}","x":1},{${keys},"eventName":"Got"},{"eventName":"Get"}]}`
    const rules = spec({ drop: [`eventName=${'*a'.repeat(300)}*b`, 'eventName=Get', `eventName=${'a'.repeat(1000)}*b`], redact: ['k49999', 'k1/*'] })
    for (const fast of [true, false]) {
      const t = performance.now()
      const got = parseObjectSync(gzipSync(doc), options(format, fast, rules), clock)
      expect(performance.now() - t).toBeLessThan(20_000)
      expect(got.stats.dropped).toEqual({ 'eventName=Get': 1 })
      expect(got.stats.redacted).toEqual({ k49999: 1 })
      expect(got.stats.records).toBe(2)
      const text = got.output.toString('utf8')
      expect(text).toContain(format === 'json' ? '"k49999":"[REDACTED]"' : '[k49999]=[REDACTED]')
      expect(text).toContain(format === 'json' ? '"k49998":49998' : '[k49998]=49998')
    }
  })
})

describe('no rules', () => {
  it('writes what it wrote before, the same bytes', () => {
    for (const format of ['fortisiem', 'json'] as const) {
      for (const { bytes } of corpus.slice(0, 100)) {
        const gz = gzipSync(bytes)
        const none = parseObjectSync(gz, options(format, true, spec({})), clock).output
        expect(none.equals(parseObjectSync(gz, options(format, true), clock).output)).toBe(true)
      }
    }
  })
})
