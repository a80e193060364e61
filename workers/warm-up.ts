// Type feedback for the parse path's hot functions before V8 compiles them: once per thread and output
// format, a built-in document goes through a throwaway ObjectParser (its own flattener, output and stats,
// so the thread's caches and counts never see it) in whole and in small chunks, and walks every path the
// cutter, the fast flatteners and the framing take on real records: escapes of every kind in keys and
// values, the characters the format escapes, UTF-8 of every length and invalid, numbers of every form,
// literals, empty and nested containers, unsorted and duplicate keys, keys seen for the first time and
// keys that follow others, records across chunk edges, records that are rejected, too deep or too large,
// and the scratch arrays growing.
//
// Why: TurboFan compiles a function with the feedback it has. A path it never saw run becomes a deopt
// the first time a record takes it ("Insufficient type feedback…"), and the function is compiled again.
// On the real corpus (parse --threads 1 --format fortisiem, 200 files of 1,000 records, --trace-deopt
// --trace-opt, perf on V8's helper threads): 22 deopts of the flattener's and cutter's functions after
// start-up (scan() alone compiled 4 times by TurboFan, 60-110 ms each), 450-470 ms of compilation; with
// this warm-up 1 deopt (measureLag(), when the stats' sum turns from integer to double) and 270-280 ms
// (most of it the main thread's and each function's single compilation). Moving the rare paths out of
// line instead does not help by itself: a call that never ran has no feedback either, and deopts its
// caller the same way (build()'s slab refill did: "Insufficient type feedback for call").

import { FastFlattener } from './fortisiem/fast.ts'
import type { ParseOptions } from './protocol.ts'

/** Formats and framings warmed up on this thread. */
const warmed = new Set<string>()

/** The parser to warm up, with a flattener of its own. */
export interface WarmUpTarget {
  push(bytes: Uint8Array): void
  end(): void
  take(): unknown
}

const encoder = new TextEncoder()
/** Stands for invalid UTF-8 in the records' text (document() puts the bytes in): ÿ appears nowhere else. */
const INVALID = '\u00ff'

/**
 * Records that take every path: each value kind, escape and character class the scan and the writers
 * treat apart, in keys and values. Duplicated keys, keys out of order and keys of several spellings on
 * purpose. Rare paths come first (feedback is complete before anything is hot).
 */
function records(maxDepth: number): { all: string[]; core: string[] } {
  const values = [
    '"plain"',
    '"x"',
    '""',
    '"with \\"quote\\" and \\\\ and \\/ and \\b\\f\\n\\r\\t"',
    '"\\u0000\\u001f\\u007f\\u0085\\u2028\\u2029\\u005c\\u003d\\u005b\\u00e9\\u20ac\\ud83d\\ude00\\ud800\\udc00x\\ud800"',
    '"a]=b ] = c ]\\u003d d \\u005d=e"',
    '"open [bracket and [another] [ last"',
    '"del \u007f c1 \u0085 ls \u2028 ps \u2029"',
    '"é 2-byte € 3-byte 😀 4-byte, ascii after"',
    '"ünïcödé only"',
    '"ends with bracket ["',
    '0',
    '-1',
    '12345678901234567890',
    '3.25',
    '-0.5e10',
    '1E+2',
    '2e-3',
    'true',
    'false',
    'null',
    '{}',
    '[]',
    '[1,"two",null,true,false,{"k":"v"},[],{}]',
    '{"nested":{"deeper":{"deepest":[{"a":1},{"a":2,"b":"x"}]}}}',
  ]
  const out: string[] = []
  // Keys: plain, escaped (several spellings of one key), non-ASCII, the format's escapes, short and long.
  const keys = ['"a"', '"b"', '"ab"', '"abcd"', '"abcdefgh"', '"a\\u0062"', '"\\u0061b"', '"k\\"q"', '"k\\\\b"', '"k]e[y"', '"ké"', '"k€😀"', '"k\\n"', '"key with spaces"', '"z"']
  out.push(`{${keys.map((k, i) => `${k}:${values[i % values.length]}`).join(',')}}`)
  out.push(`{${keys.map((k, i) => `${k}:${values[(i + 3) % values.length]}`).reverse().join(',')}}`)
  // Every value under one key, and all of them in one object, in two orders.
  for (const v of values) out.push(`{"eventVersion":"1.08","value":${v},"eventTime":"2026-11-26T15:02:56Z"}`)
  out.push(`{${values.map((v, i) => `"v${i}":${v}`).join(',')}}`)
  out.push(`{${values.map((v, i) => `"v${i}":${v}`).reverse().join(',')}}`)
  // The top-level eventSource: plain, without the suffix, escaped, non-ASCII (upper-cased by Unicode).
  for (const s of ['"ec2.amazonaws.com"', '"s3"', '"sts.amazonaws.co"', '"s\\u0033.amazonaws.com"', '"straße.amazonaws.com"', '"x]=y"', '123', 'null'])
    out.push(`{"eventSource":${s},"eventName":"Describe","eventTime":"2026-11-26T15:02:56Z","requestParameters":{"eventSource":${s}}}`)
  // eventTime in other forms.
  for (const t of ['"not a time"', '"2026-11-26T15:02:56"', '12', '{"eventTime":"2026-11-26T15:02:56Z"}']) out.push(`{"eventTime":${t},"a":1}`)
  // Duplicate keys (the last wins), and the same keys in every order.
  out.push('{"a":1,"b":2,"a":3,"c":{"x":1,"x":2},"b":{"y":[]}}')
  for (const order of [['a', 'b', 'c'], ['c', 'b', 'a'], ['b', 'a', 'c'], ['a', 'c', 'b'], ['c', 'a', 'b'], ['b', 'c', 'a']])
    out.push(`{${order.map((k) => `"${k}":{"${order.join('":1,"')}":1}`).join(',')}}`)
  // One key in many places (its list of successors starts over).
  out.push(`{${Array.from({ length: 12 }, (_, i) => `"p${i}":{"shared":1,"n${i}":2}`).join(',')}}`)
  // More than 32 keys out of order (the sort for large objects), long paths, many fields (scratch arrays grow).
  out.push(`{${Array.from({ length: 40 }, (_, i) => `"k${(i * 7) % 40}":${i}`).join(',')}}`)
  out.push(`{"${'l'.repeat(260)}":{"a":1,"b":[1,2]}}`)
  out.push(`{"many":[${Array.from({ length: 300 }, (_, i) => `{"i":${i}}`).join(',')}]}`)
  // Nesting deeper than the frames kept at first, and deeper than maxDepth (rejected).
  const depth = Math.min(maxDepth, 40)
  out.push(`${'{"d":'.repeat(depth - 1)}[1]${'}'.repeat(depth - 1)}`)
  out.push(`${'['.repeat(maxDepth)}${']'.repeat(maxDepth)}`.replace(/^\[/, '{"deep":[').replace(/\]$/, ']}'))
  // Invalid JSON in each place the scan checks, control characters, invalid UTF-8 (written with U+FFFD).
  for (const bad of ['{"a":tru}', '{"a":fals}', '{"a":nul}', '{"a":01}', '{"a":-}', '{"a":1.}', '{"a":1e}', '{"a" 1}', '{"a":1 "b":2}', '{a:1}', '{"a":"\\x"}', '{"a":"\\u12"}', '{"a":"tab\there"}', '{"k\there":1}', '{"a":[1,]}', '{"a":}'])
    out.push(bad)
  out.push(`{"bad":"a${INVALID}b"}`)
  out.push(`{"${INVALID}(":1}`)
  // Whitespace between tokens (the json format minifies; the scan skips it).
  out.push('{ "a" : [ 1 , { "b" : "c" } ] ,\n\t"d" : { } ,\r\n "e":[ ] }')
  out.push('{}')
  // Many keys never seen before (beyond what one record may bring, it goes to the reference).
  out.push(`{${Array.from({ length: 300 }, (_, i) => `"fresh${i}":${i}`).join(',')}}`)
  // Then records as CloudTrail writes them, several times, so that keys follow keys as they usually do.
  const cloudtrail =
    '{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA:s","arn":"arn:aws:sts::111122223333:assumed-role/r/s","accountId":"111122223333","accessKeyId":"ASIA","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA","arn":"arn:aws:iam::111122223333:role/r","accountId":"111122223333","userName":"r"},"attributes":{"creationDate":"2026-11-26T15:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-26T15:02:56Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.0 Python/3.11 [ua]","requestParameters":{"instancesSet":{},"filterSet":{"items":[{"name":"private-ip-address","valueSet":{"items":[{"value":"10.0.0.1"}]}}]}},"responseElements":null,"requestID":"r-1","eventID":"e-1","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.us-east-1.amazonaws.com"}}'
  for (let k = 0; k < 4; k++) out.push(cloudtrail)
  // For the passes that cut the document otherwise: every kind of value and key, a bad record, whitespace.
  const core = [out[0], out[1], out[values.length + 2], out[values.length + 3], '{"a":tru}', `{"bad":"${INVALID}"}`, '{ "a" : [ 1 , { "b" : "c" } ] }', '{}', cloudtrail, cloudtrail]
  return { all: out, core }
}

/** A CloudTrail document of these records, with a non-object element and whitespace between records too. */
function document(recs: string[]): Uint8Array {
  const bytes = encoder.encode(`{"Records":[${recs.join(',')}, 7 ,"s",\n${recs.slice(-3).join(' , ')}],"other":{"x":[1,"]"]}}`)
  // INVALID's two bytes (C3 BF) become FF FE: not UTF-8.
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0xc3 && bytes[i + 1] === 0xbf) {
      bytes[i] = 0xff
      bytes[i + 1] = 0xfe
    }
  }
  return bytes
}

/** `bytes` in pieces of `size`. */
function pieces(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size))
  return out
}

/** `bytes` cut after each `},` (each record then ends at its piece's end, where values are copied byte by byte). */
function recordPieces(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  let from = 0
  for (let i = 1; i < bytes.length; i++) {
    if (bytes[i] === 0x2c && bytes[i - 1] === 0x7d) {
      out.push(bytes.subarray(from, i + 1))
      from = i + 1
    }
  }
  out.push(bytes.subarray(from))
  return out
}

/** The warm-up's passes: the chunks a parser is fed, and the options it runs with. */
export function warmUpPasses(options: ParseOptions): { chunks: Uint8Array[]; options: ParseOptions }[] {
  const { all, core } = records(options.limits.maxDepth)
  const doc = document(all)
  const small = document(core)
  const whole = Buffer.from(doc.buffer, doc.byteOffset, doc.length)
  const smallBuffer = Buffer.from(small.buffer, small.byteOffset, small.length)
  // All of it whole; the core in pieces, and with a max_record_size that some records exceed (as text, or
  // once formatted).
  const tight = { ...options, limits: { ...options.limits, maxRecordBytes: Math.min(options.limits.maxRecordBytes, 400) } }
  return [
    { chunks: [whole], options },
    { chunks: pieces(small, 61), options }, // zlib hands over Buffers; tests and tools plain Uint8Arrays
    { chunks: pieces(smallBuffer, 7), options },
    { chunks: recordPieces(smallBuffer), options },
    { chunks: [smallBuffer], options: tight },
    { chunks: pieces(smallBuffer, 61), options: tight },
  ]
}

/**
 * Runs the warm-up for these options on this thread, once; `parser` makes the throwaway parser with the
 * flattener it is given. Never throws: a warm-up that failed only leaves the feedback as it was
 * (test/workers/warm-up.test.ts checks that it does not fail).
 */
export function warmUp(options: ParseOptions, parser: (options: ParseOptions, fast: FastFlattener) => WarmUpTarget): void {
  const key = `${options.format}/${options.framing}/${options.limits.maxDepth}/${options.fastPaths !== false}`
  if (warmed.has(key)) return
  warmed.add(key)
  try {
    // This thread will transfer ArrayBuffers (every output chunk goes to the main thread that way), and the
    // first one detached in a thread throws away all code compiled there on the assumption that none ever
    // is (V8's detaching protector: 34 functions at once on the first object, the hot ones among them).
    // Detached once now, before anything is compiled. Measured as above: 380-520 ms of compilation with
    // the warm-up alone (420-440 with this alone), 270-280 ms with both.
    const detached = new ArrayBuffer(8)
    structuredClone(detached, { transfer: [detached] })
    for (const pass of warmUpPasses(options)) {
      // A slab of plans that fills up too.
      const p = parser(pass.options, new FastFlattener(pass.options.limits.maxDepth, 1024))
      for (const chunk of pass.chunks) {
        p.push(chunk)
        while (p.take());
      }
      p.end()
      while (p.take());
    }
  } catch {
    // The document is well formed; nothing here should fail, and a failure must not fail an object.
  }
}
