// The fast flattener against the reference, byte for byte: fixtures, generated records, a table of edge
// cases, and a seeded fuzz loop. Agreement means: both accept with equal bytes, or both reject (and the
// fast one leaves the output as it was).
//
// CT_TEST_FULL=1 runs the generated-records test in full: 3,000 records from each of its four seeds
// (12,000, about 12 s) instead of 750 from each (3,000) by default.
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { Random } from '../../../src/synthetic/random.ts'
import { RecordGenerator } from '../../../src/synthetic/records.ts'
import { FastFlattener } from '../../../workers/fortisiem/fast.ts'
import { RecordSyntaxError, flattenRecord } from '../../../workers/fortisiem/reference.ts'
import { OutputBuilder } from '../../../workers/frames.ts'
import { RecordCutter } from '../../../workers/record-cutter.ts'
import { fixtureDocuments, fixtureRecords, fixturesDir, repoRoot } from '../../helpers/fixtures.ts'

const MAX_DEPTH = 32
/** Generated records per seed: CT_TEST_FULL=1 for the full run. */
const GENERATED_PER_SEED = process.env.CT_TEST_FULL ? 3000 : 750
const enc = new TextEncoder()
const dec = new TextDecoder('utf-8')

type Input = string | Uint8Array
const bytesOf = (input: Input): Uint8Array => (typeof input === 'string' ? enc.encode(input) : input)
const show = (input: Input): string => JSON.stringify(typeof input === 'string' ? input : Buffer.from(input).toString('latin1')).slice(0, 400)

/** What object-parser.ts gets today: TextDecoder, flattenRecord, TextEncoder; null when it rejects. */
function reference(bytes: Uint8Array, maxDepth = MAX_DEPTH): string | null {
  try {
    return Buffer.from(enc.encode(flattenRecord(dec.decode(bytes), maxDepth))).toString('latin1')
  } catch (err) {
    if (err instanceof RecordSyntaxError) return null
    throw err
  }
}

// Something already in the output, which a rejected record must leave alone.
const BEFORE = enc.encode('<before> ')

/** The fast flattener into an OutputBuilder record that already holds BEFORE; null when it rejects. */
function fast(flattener: FastFlattener, bytes: Uint8Array, chunkBytes = 64): string | null {
  const out = new OutputBuilder(chunkBytes, 'lines')
  out.beginRecord()
  out.writeBytes(BEFORE, 0, BEFORE.length)
  // The record inside a larger buffer, with bytes either side that must not be read.
  const buf = new Uint8Array(bytes.length + 8).fill(0x37) // '7'
  buf.set(bytes, 4)
  const ok = flattener.flatten(buf, 4, 4 + bytes.length, out)
  out.endRecord()
  const all = Buffer.from(out.take()!.data).toString('latin1').slice(0, -1)
  expect(all.startsWith('<before> '), 'output before the record is intact').toBe(true)
  if (!ok) {
    expect(all, 'a rejected record leaves the output as it was').toBe('<before> ')
    return null
  }
  return all.slice(BEFORE.length)
}

function agree(flattener: FastFlattener, input: Input, maxDepth = MAX_DEPTH, chunkBytes?: number): string | null {
  const bytes = bytesOf(input)
  const want = reference(bytes, maxDepth)
  const got = fast(flattener, bytes, chunkBytes)
  if (got !== want) expect(got, show(input)).toBe(want)
  return got
}

function cutRecords(text: string, maxDepth = MAX_DEPTH): Uint8Array[] {
  const records: Uint8Array[] = []
  const cutter = new RecordCutter(
    { onRecord: (buf, start, end) => records.push(buf.slice(start, end)), onSkip: () => {} },
    { maxRecordBytes: 1 << 24, maxDepth },
  )
  cutter.push(enc.encode(text))
  cutter.end()
  return records
}

describe('FastFlattener against the reference', () => {
  it('agrees on every fixture record (serialized)', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    const records = fixtureRecords()
    expect(records.length).toBeGreaterThan(400)
    for (const { record } of records) expect(agree(ff, JSON.stringify(record))).not.toBeNull()
  })

  it('agrees on the fixture documents as written (number text, whitespace), cut by the cutter', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    let n = 0
    for (const { text } of fixtureDocuments()) {
      for (const record of cutRecords(text)) {
        expect(agree(ff, record)).not.toBeNull()
        n++
      }
    }
    expect(n).toBeGreaterThanOrEqual(10)
  })

  it('agrees on every fixture file as written: whole files, their array elements, JSON-lines', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    const dir = join(fixturesDir, 'records')
    let n = 0
    for (const name of readdirSync(dir)) {
      const text = readFileSync(join(dir, name), 'utf8')
      const lines = name.endsWith('.jsonl') ? text.split('\n').filter((l) => l.trim()) : [text]
      for (const line of lines) {
        // Objects go in as they are (records or not: any object is a fair test); arrays by element.
        const doc = line.trimStart().startsWith('[') ? `{"Records":${line}}` : `{"Records":[${line}]}`
        for (const record of cutRecords(doc)) {
          agree(ff, record)
          n++
        }
      }
    }
    expect(n).toBeGreaterThan(100)
  })

  it(`agrees on ${(4 * GENERATED_PER_SEED).toLocaleString('en-US')} generated records from four seeds`, () => {
    for (const seed of [1, 2, 7, 2026]) {
      const ff = new FastFlattener(MAX_DEPTH)
      const gen = new RecordGenerator({ seed, startTime: new Date('2026-11-26T15:00:00Z') })
      for (let i = 0; i < GENERATED_PER_SEED; i++) expect(agree(ff, JSON.stringify(gen.next()))).not.toBeNull()
    }
  })

  it('agrees on generated records pretty-printed and re-cut', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    const gen = new RecordGenerator({ seed: 5 })
    const doc = JSON.stringify({ Records: Array.from({ length: 300 }, () => gen.next()) }, null, '\t')
    const records = cutRecords(doc)
    expect(records.length).toBe(300)
    for (const record of records) expect(agree(ff, record)).not.toBeNull()
  })
})

// Each case: the record text, and the fields when the reference's answer is worth stating (null: rejected).
const ACCEPTED: [string, string][] = [
  ['{}', ''],
  [' \t\r\n{ } \n', ''],
  ['{"a":1}', '[a]=1'],
  ['{"b":1,"a":2}', '[a]=2 [b]=1'],
  ['{"a":1,"b":2,"d":4,"c":3,"e":5}', '[a]=1 [b]=2 [c]=3 [d]=4 [e]=5'],
  ['{"a":1,"a":2}', '[a]=2'],
  ['{"b":{"x":1},"a":0,"b":[2]}', '[a]=0 [b/0]=2'],
  ['{"a":1,"b":2,"a":3,"b":{"c":4},"a":[]}', '[a]=[] [b/c]=4'],
  ['{"a":"x","\\u0061":"y"}', '[a]=y'],
  ['{"":1}', '[]=1'],
  ['{"":{"":{"":[]}}}', '[//]=[]'],
  ['{"":{}}', '[]={}'],
  ['{"x":{"":1,"a":2}}', '[x/]=1 [x/a]=2'],
  ['{"a\\nb":1,"c\\u0001":{"d\\te":2},"q\\"\\\\\\/":3}', '[a\\nb]=1 [c\\u0001/d\\te]=2 [q"\\\\/]=3'],
  ['{"k":"\\b\\f\\n\\r\\t\\u0000\\u0007\\u000b\\u001f\\u001F\\u0020"}', '[k]=\\u0008\\u000c\\n\\r\\t\\u0000\\u0007\\u000b\\u001f\\u001f '],
  ['{"k":"\\"\\\\\\/"}', '[k]="\\\\/'],
  ['{"k":"\\u00e9\\u00E9\\u20ac\\uffff\\u007f"}', '[k]=éé€\uffff\\u007f'],
  ['{"k":"\\ud83d\\ude00 \\uD83D\\uDE00"}', '[k]=😀 😀'],
  ['{"k":"\\ud800 \\udfff \\ud800\\u0041 \\udc00\\ud800 \\ud83d"}', '[k]=\ufffd \ufffd \ufffdA \ufffd\ufffd \ufffd'],
  ['{"k":"\\ud83d\\ud83d\\ude00"}', '[k]=\ufffd😀'],
  ['{"k":"😀 é 日本 \uE000 \uFFFD"}', '[k]=😀 é 日本 \uE000 \uFFFD'],
  ['{"n":[-0,0,1.0,1e400,1E-7,-1.5e+3,123456789012345678901234567890,0.000]}', '[n/0]=-0 [n/1]=0 [n/2]=1.0 [n/3]=1e400 [n/4]=1E-7 [n/5]=-1.5e+3 [n/6]=123456789012345678901234567890 [n/7]=0.000'],
  ['{"t":true,"f":false,"z":null}', '[f]=false [t]=true [z]=null'],
  ['{"a":{},"b":[],"c":[{}],"d":[[]],"e":[{},[],{"x":[]}],"f":{"g":{}}}', '[a]={} [b]=[] [c/0]={} [d/0]=[] [e/0]={} [e/1]=[] [e/2/x]=[] [f/g]={}'],
  ['{"a":[[1,2],[3,[4,[5]]],[]]}', '[a/0/0]=1 [a/0/1]=2 [a/1/0]=3 [a/1/1/0]=4 [a/1/1/1/0]=5 [a/2]=[]'],
  ['{"a":[0,1,2,3,4,5,6,7,8,9,10,11]}', '[a/0]=0 [a/1]=1 [a/2]=2 [a/3]=3 [a/4]=4 [a/5]=5 [a/6]=6 [a/7]=7 [a/8]=8 [a/9]=9 [a/10]=10 [a/11]=11'],
  // Sort order: UTF-16 code units. U+E000–U+FFFF sort after U+10000 and above (surrogates D800–DFFF)
  // although their UTF-8 bytes sort before; the rest agrees with byte order.
  ['{"\uE000":1,"😀":2,"\uFFFF":3,"a":4,"é":5,"\u0800":6}', '[a]=4 [é]=5 [\u0800]=6 [😀]=2 [\uE000]=1 [\uFFFF]=3'],
  ['{"😀":2,"\uE000":1}', '[😀]=2 [\uE000]=1'],
  ['{"x\uE000":1,"x😀":2,"x":0}', '[x]=0 [x😀]=2 [x\uE000]=1'],
  ['{"\\ud800":1,"\\udbff":2,"\\ud800":3}', '[\ufffd]=3 [\ufffd]=2'],
  ['{"\\ud83d\\ude00":1,"😀":2}', '[😀]=2'],
  ['{"B":1,"_":2,"a":3,"Z":4,"z":5}', '[B]=1 [Z]=4 [_]=2 [a]=3 [z]=5'],
  ['{"10":1,"9":2,"1":3,"a":4,"01":5}', '[01]=5 [1]=3 [10]=1 [9]=2 [a]=4'],
  ['{"__proto__":{"polluted":1},"constructor":2,"toString":3}', '[__proto__/polluted]=1 [constructor]=2 [toString]=3'],
  // eventSource: only at the top, only when a string.
  ['{"eventSource":"signin.amazonaws.com"}', '[eventSource]=SIGNIN'],
  ['{"eventSource":"AWS Internal"}', '[eventSource]=AWS INTERNAL'],
  ['{"eventSource":".amazonaws.com"}', '[eventSource]='],
  ['{"eventSource":"a.amazonaws.com.amazonaws.com"}', '[eventSource]=A.AMAZONAWS.COM'],
  ['{"eventSource":"s3.amazonaws.co"}', '[eventSource]=S3.AMAZONAWS.CO'],
  ['{"eventSource":"s3.AMAZONAWS.COM"}', '[eventSource]=S3.AMAZONAWS.COM'],
  ['{"eventSource":"s3.amazonaws.co\\u006d"}', '[eventSource]=S3'],
  ['{"eventSource":"stra\u00dfe.amazonaws.com"}', '[eventSource]=STRASSE'],
  ['{"eventSource":"\u00e9v\u00e9nement"}', '[eventSource]=\u00c9V\u00c9NEMENT'],
  ['{"eventSource":"\\n\\u0001x\\ud800"}', '[eventSource]=\\n\\u0001X\ufffd'],
  ['{"eventSource":""}', '[eventSource]='],
  ['{"eventSource":1}', '[eventSource]=1'],
  ['{"eventSource":null}', '[eventSource]=null'],
  ['{"eventSource":{"x":"s3.amazonaws.com"}}', '[eventSource/x]=s3.amazonaws.com'],
  ['{"eventSource":["s3.amazonaws.com"]}', '[eventSource/0]=s3.amazonaws.com'],
  ['{"event\\u0053ource":"s3.amazonaws.com"}', '[eventSource]=S3'],
  ['{"eventSource":"ec2.amazonaws.com","eventSource":"s3.amazonaws.com"}', '[eventSource]=S3'],
  ['{"eventSource":"ec2.amazonaws.com","eventSource":[1]}', '[eventSource/0]=1'],
  ['{"x":{"eventSource":"s3.amazonaws.com"},"y":[{"eventSource":"s3.amazonaws.com"}]}', '[x/eventSource]=s3.amazonaws.com [y/0/eventSource]=s3.amazonaws.com'],
  ['{"eventsource":"s3.amazonaws.com","EventSource":"s3.amazonaws.com"}', '[EventSource]=s3.amazonaws.com [eventsource]=s3.amazonaws.com'],
  ['\ufeff{"a":1}', '[a]=1'],
  // The grammar's escapes (README, Output), whether the characters come raw or as JSON escapes.
  ['{"k":"a]=b ]\\u003d \\u005d= \\u005d\\u003d ]]= ]=="}', '[k]=a]\\=b ]\\= ]\\= ]\\= ]]\\= ]\\=='],
  ['{"k":"x [y","l":"x \\u005by","m":"x\\u0020[y","n":"[z] [w","o":"[a] b","p":" [ ["}', '[k]=x \\u005by [l]=x \\u005by [m]=x \\u005by [n]=[z] \\u005bw [o]=[a] b [p]= \\u005b \\u005b'],
  ['{"k":"\u0085\u2028\u2029\u007f\u00a0","l":"\\u0085\\u2028\\u2029\\u007f\\u009F"}', '[k]=\\u0085\\u2028\\u2029\\u007f\u00a0 [l]=\\u0085\\u2028\\u2029\\u007f\\u009f'],
  ['{"k":"\\\\ \\u005c \\\\n"}', '[k]=\\\\ \\\\ \\\\n'],
  ['{"a]b":1,"\\u005d":2,"c]=\\u0085 [":3}', '[\\]]=2 [a\\]b]=1 [c\\]=\\u0085 []=3'],
  ['{"eventSource":"a]=b [c.amazonaws.com"}', '[eventSource]=A]\\=B \\u005bC'],
  ['{"eventSource":"a\u007f.amazonaws.com"}', '[eventSource]=A\\u007f'],
]

// Each class of record the reference rejects.
const REJECTED: string[] = [
  '',
  '   ',
  '[1]',
  '"x"',
  '1',
  'null',
  '{',
  '{"a":1',
  '{"a":1}}',
  '{"a":1} x',
  '{"a":1}{}',
  '{"a":1},',
  '\ufeff\ufeff{"a":1}',
  ' \ufeff{"a":1}',
  '{,}',
  '{"a"}',
  '{"a" 1}',
  '{"a"::1}',
  '{"a":}',
  '{"a":1,}',
  '{"a":1,,"b":2}',
  '{"a":1 "b":2}',
  '{"a":1;"b":2}',
  '{a:1}',
  "{'a':1}",
  '{1:1}',
  '{"a":[1,]}',
  '{"a":[,1]}',
  '{"a":[1 2]}',
  '{"a":[1}',
  '{"a":{]}',
  '{"a":{"b":1]}',
  '{"a":tru}',
  '{"a":True}',
  '{"a":nul}',
  '{"a":nulll}',
  '{"a":falsey}',
  '{"a":undefined}',
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":-Infinity}',
  '{"a":01}',
  '{"a":-01}',
  '{"a":00}',
  '{"a":1.}',
  '{"a":.5}',
  '{"a":1.e5}',
  '{"a":1e}',
  '{"a":1e+}',
  '{"a":1E-}',
  '{"a":-}',
  '{"a":+1}',
  '{"a":1x}',
  '{"a":0x10}',
  '{"a":1_000}',
  '{"a":"x"y}',
  '{"a":"\u0000"}',
  '{"a":"\u0001"}',
  '{"a":"\n"}',
  '{"a":"\t"}',
  '{"a":"\u001f"}',
  '{"a\u0001":1}',
  '{"a\n":1}',
  '{"a":"\\x"}',
  '{"a":"\\a"}',
  '{"a":"\\U0041"}',
  '{"a":"\\u12"}',
  '{"a":"\\u12G4"}',
  '{"a":"\\u"}',
  '{"a":"\\\'"}',
  '{"a\\x":1}',
  '{"a\\u00":1}',
  '{"a":"\\ud800\\u12"}',
  '{"eventSource":"\\x"}',
  '{"eventSource":"a\u0001"}',
  '{"eventSource":"\u00e9\\q"}',
  '{"eventSource":tru}',
  '{"a":1}\u0000',
  '{"a":1}\u00a0',
  '{"a":\u00a01}',
  '{"a"\u3000:1}',
  '{"a":1,"a":}',
  '{"a":"unterminated}',
  '{"a":"\\"}',
]

describe('FastFlattener edge cases', () => {
  it.each(ACCEPTED)('%s', (text, fields) => {
    const ff = new FastFlattener(MAX_DEPTH)
    expect(reference(enc.encode(text)), 'the table is right about the reference').toBe(Buffer.from(fields).toString('latin1'))
    agree(ff, text)
  })

  it.each(REJECTED)('rejects %j', (text) => {
    const ff = new FastFlattener(MAX_DEPTH)
    expect(reference(enc.encode(text)), 'the reference rejects it').toBeNull()
    expect(agree(ff, text)).toBeNull()
  })

  it('agrees on every control character in keys and values, raw (rejected) and escaped', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    for (let c = 0; c < 0x80; c++) {
      const hex = c.toString(16).padStart(4, '0')
      const ch = String.fromCharCode(c)
      agree(ff, `{"v":"a\\u${hex}b","k\\u${hex}":1,"u\\u${hex.toUpperCase()}":2}`)
      if (ch !== '"' && ch !== '\\') {
        agree(ff, `{"v":"a${ch}b"}`)
        agree(ff, `{"k${ch}":1}`)
        agree(ff, `{"v":"\\${ch}"}`)
      }
    }
  })

  it('agrees on C1 controls, U+2028, U+2029 and their neighbours, raw and escaped, in keys and values', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    for (const c of [...Array.from({ length: 0x22 }, (_, k) => 0x7e + k), 0x2027, 0x2028, 0x2029, 0x202a]) {
      const ch = String.fromCharCode(c)
      const hex = c.toString(16).padStart(4, '0')
      agree(ff, `{"v":"a${ch}b","k${ch}":1,"w":"\\u${hex}]=${ch} [","u\\u${hex.toUpperCase()}":2}`)
    }
  })

  it('agrees on every code point class as raw UTF-8 and as escapes, in keys and values', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    const points = [0x7f, 0x80, 0xff, 0x100, 0x7ff, 0x800, 0xfff, 0x1000, 0xd7ff, 0xe000, 0xfeff, 0xfffd, 0xfffe, 0xffff, 0x10000, 0x1f600, 0x10ffff]
    for (const p of points) {
      const ch = String.fromCodePoint(p)
      const esc = [...ch].length === 1 && ch.length === 2 ? `\\u${ch.charCodeAt(0).toString(16)}\\u${ch.charCodeAt(1).toString(16)}` : `\\u${p.toString(16).padStart(4, '0')}`
      agree(ff, `{"${ch}":"${ch}","x${esc}":"${esc}","${ch}${ch}":1,"\uE000":2,"\uD83D\uDE00":3}`)
    }
    // Every lone surrogate class, escaped.
    for (const u of [0xd800, 0xdbff, 0xdc00, 0xdfff]) agree(ff, `{"k\\u${u.toString(16)}":"v\\u${u.toString(16)}"}`)
  })

  it('agrees on keys near one another in every order (the sortedness check and duplicates)', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    const keys = ['a', 'b', 'c', 'B', '', 'aa', '\uE000', '😀', 'é', 'a']
    const random = new Random(99)
    for (let n = 0; n < 500; n++) {
      const count = 1 + random.int(8)
      const members = Array.from({ length: count }, () => `${JSON.stringify(random.pick(keys))}:${random.int(100)}`)
      agree(ff, `{${members.join(',')},"o":{${members.join(',')}}}`)
    }
  })

  it('checks a predicted key whole: the key there may be longer or shorter, or spelled otherwise', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    const stems = ['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdefgh', 'abcdefghi']
    const keys = [...stems, ...stems.map((k) => k + 'z'), ...stems.map((k) => k.slice(0, -1) + '\\u00' + k.charCodeAt(k.length - 1).toString(16))]
    const random = new Random(5)
    for (let n = 0; n < 400; n++) {
      const k = random.pick(keys)
      agree(ff, `{"x":1,"${k}":2,"y":{"x":1,"${k}":[{"${k}":3}]}}`)
      agree(ff, `{"${k}":1}`)
    }
  })

  it('agrees on nesting up to maxDepth and rejects one more, without using the JS stack', () => {
    for (const maxDepth of [0, 1, 2, 3, 10, 200]) {
      const ff = new FastFlattener(maxDepth)
      const depths = new Set([1, 2, 3, 4, 5, 6, 7, 8, maxDepth - 1, maxDepth, maxDepth + 1].filter((d) => d >= 1 && d <= maxDepth + 1))
      for (const depth of depths) {
        // `depth` levels of values: the record at 1, then objects or arrays, then a scalar or an empty container.
        for (const leaf of ['1', '{}', '[]']) {
          let text = leaf
          for (let d = depth - 1; d >= 1; d--) text = d === 1 || d % 2 === 0 ? `{"k${d}":${text},"a":0}` : `[${text},0]`
          if (!text.startsWith('{')) continue
          agree(ff, text, maxDepth)
          if (maxDepth === 0) expect(fast(ff, enc.encode(text))).toBeNull()
        }
      }
    }
    // Deeper than the JS stack would allow for a recursive walk (the reference is not asked: it recurses).
    const ff = new FastFlattener(200_000)
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)
    const out = new OutputBuilder(1 << 20, 'lines')
    expect(ff.flatten(enc.encode(deep), 0, deep.length, out)).toBe(true)
    expect(out.position).toBe(2 * 100_000 + 3)
    // Not UTF-8, so left to the reference, which runs out of stack at such depths: rejected, not thrown.
    const notUtf8 = new Uint8Array([...enc.encode('{"a":'.repeat(100_000) + '"'), 0xff, ...enc.encode('"' + '}'.repeat(100_000))])
    expect(ff.flatten(notUtf8, 0, notUtf8.length, out)).toBe(false)
    expect(out.position).toBe(2 * 100_000 + 3)
  })

  it('says whether a record was valid UTF-8', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    const out = new OutputBuilder(64, 'lines')
    const check = (bytes: number[], valid: boolean) => {
      ff.flatten(new Uint8Array(bytes), 0, bytes.length, out)
      expect(ff.notUtf8, JSON.stringify(bytes)).toBe(!valid)
    }
    check([...enc.encode('{"a":"é"}')], true)
    check([...enc.encode('{"a":"'), 0xff, ...enc.encode('"}')], false)
    check([...enc.encode('{"a":1}')], true)
    check([...enc.encode('{"a\\n'), 0xc3, ...enc.encode('":1}')], false)
    check([...enc.encode('{"a":tru}')], true)
  })

  it('falls back to the WHATWG decoder for invalid UTF-8, as the reference sees it', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    const invalid = [[0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xc2], [0xe0, 0x80, 0x80], [0xe0, 0xa0], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x9f, 0x98], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xfe], [0xff]]
    for (const seq of invalid) {
      for (const [before, after] of [['{"v":"a', 'b"}'], ['{"k', '":1}'], ['{"v":"', '"}'], ['{"eventSource":"s3', '.amazonaws.com"}'], ['{"v":1', '}'], ['{', '"v":1}']]) {
        const bytes = new Uint8Array([...enc.encode(before), ...seq, ...enc.encode(after)])
        agree(ff, bytes)
      }
    }
    // In keys with escapes, and after a key the flattener knows (so that it predicts it).
    agree(ff, '{"ab":1,"cd":2}')
    for (const seq of invalid) {
      agree(ff, new Uint8Array([...enc.encode('{"a\\n'), ...seq, ...enc.encode('":1}')]))
      agree(ff, new Uint8Array([...enc.encode('{"ab":1,"cd'), ...seq, ...enc.encode('":2}')]))
      agree(ff, new Uint8Array([...enc.encode('{"ab":1,"c'), ...seq, ...enc.encode('":2}')]))
    }
  })

  it('grows the output buffer as it writes, and keeps what was before', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    const gen = new RecordGenerator({ seed: 3 })
    for (let i = 0; i < 200; i++) agree(ff, JSON.stringify(gen.next()), MAX_DEPTH, 1)
    const long = JSON.stringify({ a: 'x'.repeat(100_000), b: '\b'.repeat(50_000), eventSource: 'ß'.repeat(30_000) })
    agree(ff, long, MAX_DEPTH, 1)
  })

  it('stays exact when records bring more distinct keys than it interns', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    const random = new Random(7)
    const keyOf = (n: number) => `k${n.toString(36)}${n % 7 === 0 ? '\uE000' : n % 11 === 0 ? '😀' : ''}`
    // One record with 30,000 distinct keys in random order (it goes to the reference: too many new keys),
    // then many small records with fresh keys.
    const big = Array.from({ length: 30_000 }, (_, n) => n).sort(() => random.float() - 0.5)
    agree(ff, `{${big.map((n) => `"${keyOf(n)}":${n}`).join(',')}}`)
    expect(ff.notUtf8).toBe(false)
    for (let r = 0; r < 300; r++) {
      const members = Array.from({ length: 30 }, () => {
        const n = random.int(20_000)
        return `"${keyOf(n)}":{"${keyOf(n + 1)}":${n},"a":1}`
      })
      agree(ff, `{${members.join(',')}}`)
    }
  })
})

// ---------------------------------------------------------------------------------------------------------
// Fuzz: random records (keys and values from a vocabulary of awkward pieces, random whitespace and number
// text), and byte mutations of generated records that keep them a balanced {…}.

const KEY_PIECES = ['a', 'b', 'B', 'z', '', 'eventSource', 'é', '\uE000', '\uFFFF', '😀', '\\u0061', '\\ud83d\\ude00', '\\ud800', '\\n', '\\u0001', '\\"', '\\\\', '/', ' ', '日本']
const STRING_PIECES = ['x', ' ', 'é', '😀', '\uE000', '\\n', '\\t', '\\b', '\\f', '\\r', '\\u0000', '\\u001f', '\\u00e9', '\\ud83d\\ude00', '\\udc00', '\\ud800', '\\"', '\\\\', '\\/', 's3.amazonaws.com', 'ß', '\u007f', ']', '=', ' [', '[', '\\u005d', '\\u003d', '\\u005b', '\\u005c', '\u0085', '\u2028', '\\u2029']
const NUMBERS = ['0', '-0', '1', '-1', '1.0', '1.50', '1e400', '1E-7', '-2.5e+3', '123456789012345678901234567890', '0.0']
const SPACES = ['', '', '', ' ', '\n', '\t', '\r\n  ']

function randomRecord(r: Random, maxDepth: number): string {
  const sp = () => r.pick(SPACES)
  const str = (pieces: string[], n: number) => '"' + Array.from({ length: r.int(n) }, () => r.pick(pieces)).join('') + '"'
  const value = (depth: number): string => {
    const x = r.float()
    if (depth < maxDepth && x < 0.25) return object(depth + 1)
    if (depth < maxDepth && x < 0.35) return '[' + sp() + Array.from({ length: r.int(4) }, () => value(depth + 1)).join(sp() + ',' + sp()) + sp() + ']'
    if (x < 0.7) return str(STRING_PIECES, 5)
    if (x < 0.85) return r.pick(NUMBERS)
    return r.pick(['true', 'false', 'null'])
  }
  const object = (depth: number): string => {
    const n = r.int(6)
    const members = Array.from({ length: n }, () => sp() + str(KEY_PIECES, 3) + sp() + ':' + sp() + value(depth))
    return '{' + members.join(',') + sp() + '}'
  }
  return object(1)
}

const MUTATION_BYTES = enc.encode('{}[]",:\\ \n\t0123456789-+.eEuabfnrtlsx/\u00e9\u00ff')

function mutate(r: Random, src: Uint8Array): Uint8Array {
  const bytes = [...src]
  const edits = 1 + r.int(3)
  for (let e = 0; e < edits; e++) {
    // Keep the outer braces: edit strictly inside them.
    const at = 1 + r.int(Math.max(1, bytes.length - 2))
    const kind = r.int(5)
    if (kind === 0) bytes[at] = r.pick([...MUTATION_BYTES])
    else if (kind === 1) bytes.splice(at, 0, r.pick([...MUTATION_BYTES]))
    else if (kind === 2 && bytes.length > 2) bytes.splice(at, 1)
    else if (kind === 3) bytes[at] = r.int(256)
    else {
      // Duplicate a stretch (makes duplicate keys, repeated escapes…).
      const len = 1 + r.int(20)
      bytes.splice(at, 0, ...bytes.slice(at, at + len))
    }
  }
  return new Uint8Array(bytes)
}

/** Balanced braces and brackets outside strings, closed strings: what the cutter hands over. */
function balanced(bytes: Uint8Array): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    if (inString) {
      if (b === 0x5c) i++
      else if (b === 0x22) inString = false
    } else if (b === 0x22) inString = true
    else if (b === 0x7b || b === 0x5b) depth++
    else if (b === 0x7d || b === 0x5d) {
      if (--depth < 0) return false
      if (depth === 0 && i !== bytes.length - 1) return false
    }
  }
  return depth === 0 && !inString && bytes[0] === 0x7b
}

describe('FastFlattener fuzz', () => {
  it('agrees on 4,000 random records', () => {
    const r = new Random(2026)
    const ff = new FastFlattener(8)
    let accepted = 0
    for (let n = 0; n < 4000; n++) if (agree(ff, randomRecord(r, 7), 8) !== null) accepted++
    expect(accepted).toBeGreaterThan(3000)
  })

  it('agrees on 6,000 byte mutations of generated and random records', () => {
    const r = new Random(4242)
    const ff = new FastFlattener(MAX_DEPTH)
    const gen = new RecordGenerator({ seed: 11 })
    let tried = 0
    let accepted = 0
    let rejected = 0
    while (tried < 6000) {
      const src = enc.encode(r.chance(0.5) ? JSON.stringify(gen.next()) : randomRecord(r, 6))
      const mutant = mutate(r, src)
      if (!balanced(mutant)) continue
      tried++
      if (agree(ff, mutant) === null) rejected++
      else accepted++
    }
    // Both outcomes are exercised.
    expect(accepted).toBeGreaterThan(300)
    expect(rejected).toBeGreaterThan(300)
  })
})

describe('FastFlattener caches', () => {
  it('writes a shape it knows from its plan whatever the values: escapes, eventSource forms, number text', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    const values = [
      ['"s3.amazonaws.com"', '"x"', '1'],
      ['"\\u0073\\u0033.amazonaws.com"', '"\\n\\b"', '-1.5e3'],
      ['"ß.amazonaws.com"', '"😀\\ud83d\\ude00"', '0'],
      ['"AWS Internal"', '""', '1E400'],
    ]
    for (let round = 0; round < 3; round++) {
      for (const [es, v, n] of values) {
        agree(ff, `{"z":${n},"eventSource":${es},"o":{"v":${v},"eventSource":${es}},"a":[${v},${n}]}`)
        agree(ff, `{"eventSource":${n},"v":${v}}`)
      }
    }
  })

  it('stays exact past the number of shapes it keeps (the plans start over)', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    const names = 'abcdefghijklm'.split('')
    // 5,000 distinct subsets of 13 keys, each in CloudTrail-like unsorted order: 5,000 shapes.
    for (let n = 1; n <= 5000; n++) {
      const members = names.filter((_, k) => (n >> k) & 1).reverse().map((k, i) => `"${k}":${i % 2 ? `"${k}${n}"` : `{"x":${n}}`}`)
      agree(ff, `{${members.join(',')}}`)
    }
  })

  it('stays exact with many spellings of the same keys (spellings it no longer keeps)', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    // 3,000 keys, each spelled 4 ways (12,000 spellings: more than it keeps), 200 new ones a record.
    const spell = (n: number, way: number) => {
      const name = `key${n}`
      if (way === 0) return name
      if (way === 1) return `\\u006b${name.slice(1)}`
      if (way === 2) return `${name.slice(0, -1)}\\u00${name.charCodeAt(name.length - 1).toString(16)}`
      return `k\\u0065${name.slice(2)}`
    }
    for (let r = 0; r < 240; r++) {
      const members: string[] = []
      for (let m = 0; m < 50; m++) {
        const n = (r * 50 + m) % 3000
        members.push(`"${spell(n, Math.floor(r / 60) % 4)}":{"${spell(n, (Math.floor(r / 60) + 1) % 4)}":${m},"b":[${m}]}`)
      }
      agree(ff, `{${members.join(',')}}`)
      agree(ff, `{${members.slice(0, 3).join(',')}}`) // and a repeated small shape
    }
  })

  it('writes records larger than a slab of plans', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    const record = `{"Items":[${Array.from({ length: 15_000 }, (_, n) => `{"b":"v${n}","a":${n}}`).join(',')}],"eventSource":"s3.amazonaws.com"}`
    agree(ff, record)
    agree(ff, record) // its plan, cached
  })

  it('gives back what a large record made it grow (measured in a process of its own, after a GC)', () => {
    const script = `
      const { FastFlattener } = await import(${JSON.stringify(pathToFileURL(join(repoRoot, 'dist/workers/fortisiem/fast.js')).href)})
      const { OutputBuilder } = await import(${JSON.stringify(pathToFileURL(join(repoRoot, 'dist/workers/frames.js')).href)})
      const ff = new FastFlattener(128)
      const run = (text) => { const b = Buffer.from(text); const out = new OutputBuilder(1 << 16, 'lines'); out.beginRecord(); ff.flatten(b, 0, b.length, out); out.endRecord() }
      const held = () => { gc(); gc(); return process.memoryUsage().arrayBuffers }
      run('{"a":1}')
      const before = held()
      run('{"a":[' + new Array(2 << 20).fill(0).join(',') + ']}') // 4 MiB of zeros, 2 million fields
      run('{"a":1}')
      console.log(JSON.stringify({ before, after: held() }))`
    const { before, after } = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' })) as { before: number; after: number }
    expect(after - before).toBeLessThan(16 << 20)
  })

  it('checks its arguments', () => {
    const ff = new FastFlattener(MAX_DEPTH)
    const out = new OutputBuilder(64, 'lines')
    const buf = enc.encode('{"a":1}')
    expect(() => ff.flatten(buf, -1, 7, out)).toThrow(RangeError)
    expect(() => ff.flatten(buf, 0, 8, out)).toThrow(RangeError)
    expect(() => ff.flatten(buf, 5, 4, out)).toThrow(RangeError)
    expect(() => ff.flatten(buf, 0.5, 7, out)).toThrow(RangeError)
    expect(() => new FastFlattener(-1)).toThrow(RangeError)
    expect(() => new FastFlattener(1.5)).toThrow(RangeError)
    expect(ff.flatten(buf, 0, 7, out)).toBe(true)
  })
})

describe('OutputBuilder low-level writing', () => {
  it('writes in place, grows keeping what was written, and moves back', () => {
    const out = new OutputBuilder(4, 'lines')
    out.beginRecord()
    out.writeString('ab')
    const mark = out.position
    expect(mark).toBe(2)
    let buf = out.room(3)
    buf.set([0x63, 0x64, 0x65], mark)
    out.setPosition(mark + 3)
    buf = out.room(1000)
    expect(buf.length).toBeGreaterThanOrEqual(1005)
    expect(Buffer.from(buf.subarray(0, 5)).toString()).toBe('abcde')
    out.setPosition(mark + 1)
    out.endRecord()
    expect(Buffer.from(out.take()!.data).toString()).toBe('abc\n')
    expect(() => out.setPosition(-1)).toThrow(RangeError)
    expect(() => out.setPosition(1.5)).toThrow(RangeError)
    expect(() => out.setPosition(1 << 30)).toThrow(RangeError)
  })
})
