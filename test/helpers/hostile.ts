// Generators for hostile and broken input: generated at test time, never committed as large files.

import { gzipSync } from 'node:zlib'

const enc = new TextEncoder()

/**
 * A gzip bomb that is also a well-formed start of a CloudTrail document: one record whose string value is
 * `decompressedBytes` of 'A'. Built from concatenated gzip members (gunzip inflates them in sequence), so
 * a 64 MiB member compressed once is repeated: a few MB inflate to gigabytes.
 */
export function gzipBomb(decompressedBytes: number): Buffer {
  const block = 64 << 20
  const member = gzipSync(Buffer.alloc(block, 0x41), { level: 9 })
  const parts = [gzipSync('{"Records":[{"eventVersion":"1.08","eventName":"Bomb","payload":"')]
  for (let sent = 0; sent < decompressedBytes; sent += block) parts.push(member)
  parts.push(gzipSync('"}]}'))
  return Buffer.concat(parts)
}

/** A record nested `depth` levels deep, between two good records. */
export function deepDocument(depth: number, good: unknown[]): Buffer {
  const deep = '{"eventVersion":"1.08","eventName":"Deep","d":' + '{"x":'.repeat(depth) + '1' + '}'.repeat(depth) + '}'
  return gzipSync(`{"Records":[${JSON.stringify(good[0])},${deep},${JSON.stringify(good[1])}]}`)
}

/** One record with a single string of `bytes` bytes, between two good records. */
export function hugeStringDocument(bytes: number, good: unknown[]): Buffer {
  const huge = Buffer.concat([enc.encode('{"eventVersion":"1.08","eventName":"Huge","s":"'), Buffer.alloc(bytes, 0x62), enc.encode('"}')])
  return gzipSync(Buffer.concat([enc.encode(`{"Records":[${JSON.stringify(good[0])},`), huge, enc.encode(`,${JSON.stringify(good[1])}]}`)]))
}

/** A record with invalid UTF-8 bytes inside a string value (written with U+FFFD, counted). */
export function invalidUtf8Document(marker: string): Buffer {
  const bad = Buffer.concat([enc.encode(`{"eventVersion":"1.08","eventName":"${marker}","s":"a`), Buffer.from([0xff, 0xfe, 0xc3]), enc.encode('b"}')])
  return gzipSync(Buffer.concat([enc.encode('{"Records":['), bad, enc.encode(']}')]))
}

/** A document that starts with a UTF-8 byte-order mark. */
export function bomDocument(records: unknown[]): Buffer {
  return gzipSync(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), enc.encode(JSON.stringify({ Records: records }))]))
}

/** Records with non-objects beside good ones. */
export function mixedRecordsDocument(good: unknown[]): Buffer {
  return gzipSync(`{"Records":[1,${JSON.stringify(good[0])},"text",null,[${JSON.stringify(good[1])}],true,${JSON.stringify(good[2])}]}`)
}

/** Keys that are dangerous in JavaScript, and a number no double can hold. */
export function prototypeDocument(marker: string): Buffer {
  return gzipSync(`{"Records":[{"eventVersion":"1.08","eventName":"${marker}","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"big":1e400,"neg":-0.0}]}`)
}

/** Truncated and corrupt versions of a good object. */
export function truncated(gz: Buffer): Buffer {
  return gz.subarray(0, Math.floor(gz.length / 2))
}

export function corrupt(gz: Buffer): Buffer {
  const out = Buffer.from(gz)
  for (let i = Math.floor(out.length / 3); i < Math.floor(out.length / 3) + 64 && i < out.length; i++) out[i] ^= 0xa5
  return out
}

/** A JSON body nested `depth` levels deep (an SQS body within its 1 MiB limit). */
export function deepBody(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth)
}

/** Gzipped documents every parse path must get through, record by record, as the reference does (named for the test's title). */
export function hostileObjects(): [string, Uint8Array][] {
  return [
    ['invalid utf-8', invalidUtf8Document('x')],
    ['bom', bomDocument([{ a: 1 }, { b: [] }])],
    ['mixed', mixedRecordsDocument([{ a: 1 }, { b: 2 }, { c: {} }])],
    ['proto', prototypeDocument('p')],
    ['deep', deepDocument(100, [{ a: 1 }, { b: 2 }])],
    ['bad records', gzipSync('{"Records":[{"a":tru},{"ok":1},{"b":"raw\\ttab"},{},{"eventSource":"ec2.amazonaws.com"}]}')],
  ]
}
