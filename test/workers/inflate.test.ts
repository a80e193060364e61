// The whole path's inflater answers exactly as gunzipSync does, reusing the thread's buffer: with
// libdeflate (which `make` builds, and this suite requires) and with zlib alone.
import { gunzipSync, gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { WholeInflater } from '../../workers/inflate.ts'
import { nativeGunzip, type NativeGunzip } from '../../workers/native-gunzip.ts'
import { realFiles } from '../../bench/lib/corpus.ts'
import { readFileSync } from 'node:fs'

const MiB = 1 << 20

/** gunzipSync's answer: the bytes, or null when it throws. */
function reference(gz: Uint8Array, limit: number): Buffer | null {
  try {
    return gunzipSync(gz, { maxOutputLength: limit })
  } catch {
    return null
  }
}

function inflated(inflater: WholeInflater, gz: Uint8Array, limit = 16 * MiB): Buffer | null {
  const r = inflater.inflate(gz, limit)
  if (r === null) return null
  const copy = Buffer.from(r.text)
  r.release()
  return copy
}

it('has the libdeflate addon (make builds build/gunzip.node; CT_INFLATE=zlib turns it off)', () => {
  if (process.env.CT_INFLATE === 'zlib') expect(nativeGunzip()).toBeNull()
  else expect(nativeGunzip()?.version).toMatch(/^\d+\.\d+/)
})

describe.each([
  ['libdeflate', nativeGunzip()],
  ['zlib', null],
] as [string, NativeGunzip | null][])('WholeInflater with %s', (_inflater, native) => {
  const a = gzipSync('hello world '.repeat(1000))
  const b = gzipSync('a second member')
  const flipped = (buf: Buffer, at: number) => {
    const c = Buffer.from(buf)
    c[at] ^= 0xff
    return c
  }

  it.each([
    ['one member', a],
    ['two members', Buffer.concat([a, b])],
    ['trailing zeros', Buffer.concat([a, Buffer.alloc(16)])],
    ['trailing garbage', Buffer.concat([a, Buffer.from('garbage')])],
    ['truncated', a.subarray(0, a.length - 9)],
    ['only a header', a.subarray(0, 12)],
    ['a corrupt block', Buffer.concat([a.subarray(0, 15), Buffer.from('xxxxxxxx'), a.subarray(23)])],
    ['a wrong CRC', flipped(a, a.length - 6)],
    ['not gzip', Buffer.from('{"Records":[]}')],
    ['empty', Buffer.alloc(0)],
  ])('answers as gunzipSync does: %s', (_name, gz) => {
    const inflater = new WholeInflater(native)
    const want = reference(gz, 16 * MiB)
    expect(inflated(inflater, gz)).toEqual(want)
    // And the next object is unaffected by what came before.
    expect(inflated(inflater, a)).toEqual(gunzipSync(a))
  })

  it('answers as gunzipSync does on every real log file of the corpus, one buffer for all', () => {
    const inflater = new WholeInflater(native)
    const { files } = realFiles()
    expect(files.length).toBeGreaterThan(600)
    const buffers = new Set<ArrayBufferLike>()
    for (const file of files) {
      const gz = readFileSync(file)
      const r = inflater.inflate(gz, 16 * MiB)
      expect(r && Buffer.compare(r.text, gunzipSync(gz)), file).toBe(0)
      buffers.add(r!.text.buffer)
      r!.release()
    }
    expect(buffers.size).toBe(1)
  })

  it('grows for a large object, up to the limit and not one byte past it, then gives the memory back', () => {
    const inflater = new WholeInflater(native)
    const text = Buffer.alloc(10 * MiB, 'x')
    const gz = gzipSync(text)
    // (Buffer.compare: vitest's deep equality takes seconds over megabytes.)
    expect(Buffer.compare(inflated(inflater, gz, text.length)!, text)).toBe(0)
    expect(inflated(inflater, gz, text.length - 1)).toBeNull()
    // A size that fills the buffer exactly: the loop asks zlib once more and gets the end.
    for (const size of [4 * MiB, 8 * MiB]) {
      const exact = Buffer.alloc(size, 'y')
      expect(Buffer.compare(inflated(inflater, gzipSync(exact), 16 * MiB)!, exact)).toBe(0)
    }
    // Two members, the first larger than the buffer and the trailer naming only the small last one.
    const big = Buffer.alloc(6 * MiB, 'z')
    const two = inflated(inflater, Buffer.concat([gzipSync(big), b]), 16 * MiB)!
    expect(two.length).toBe(big.length + 15)
    expect(Buffer.compare(two.subarray(0, big.length), big)).toBe(0)
    // A trailer that lies about the size: corrupt, as gunzipSync says.
    const lying = Buffer.from(gzipSync(big))
    lying.writeUInt32LE(12 * MiB, lying.length - 4)
    expect(inflated(inflater, lying, 16 * MiB)).toEqual(reference(lying, 16 * MiB))
    const small = inflater.inflate(a, 16 * MiB)!
    expect(small.text.buffer.byteLength).toBeLessThanOrEqual(4 * MiB)
    small.release()
  })

  it('gives an object inflated while the buffer is taken a buffer of its own', () => {
    const inflater = new WholeInflater(native)
    const first = inflater.inflate(a, 16 * MiB)!
    const second = inflater.inflate(Buffer.concat([b, b]), 16 * MiB)!
    expect(second.text.buffer).not.toBe(first.text.buffer)
    expect(first.text.toString()).toBe('hello world '.repeat(1000))
    expect(second.text.toString()).toBe('a second membera second member')
    second.release()
    first.release()
  })
})
