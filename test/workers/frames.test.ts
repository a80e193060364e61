// OutputBuilder hands over whole records only, whatever a formatter did halfway: a record abandoned,
// or left unfinished by an exception, never reaches a sink, and syslog's octet counts stay right.
import { describe, expect, it } from 'vitest'
import { OutputBuilder } from '../../workers/frames.ts'

const syslog = { pri: 134, hostname: 'collector-1', appName: 'cloudtrail-ingest' }
const clock = () => Date.UTC(2026, 10, 26, 15, 2, 56)

/** RFC 6587 octet-counted frames, read strictly: every byte must belong to one. */
function frames(bytes: Uint8Array): string[] {
  const buf = Buffer.from(bytes)
  const out: string[] = []
  let at = 0
  while (at < buf.length) {
    const space = buf.indexOf(0x20, at)
    const len = buf.toString('latin1', at, space)
    expect(len, `a frame starts with its length at byte ${at}`).toMatch(/^[1-9]\d*$/)
    const end = space + 1 + Number(len)
    expect(end, 'the frame lies inside the chunk').toBeLessThanOrEqual(buf.length)
    out.push(buf.toString('utf8', space + 1, end))
    at = end
  }
  return out
}

/** A record through the builder: begin, write, then end it, abandon it, or leave it (as an exception would). */
function record(out: OutputBuilder, text: string, how: 'end' | 'abandon' | 'unfinished'): void {
  out.beginRecord()
  out.writeString(text)
  if (how === 'end') out.endRecord()
  else if (how === 'abandon') out.abandonRecord()
}

describe('OutputBuilder: whole records only', () => {
  it.each(['lines', 'syslog'] as const)('drops abandoned and unfinished records, keeps the rest whole (%s)', (framing) => {
    const out = new OutputBuilder(1 << 10, framing, syslog, clock)
    record(out, 'one', 'end')
    record(out, 'half of a rec', 'unfinished')
    record(out, 'two é', 'end')
    record(out, 'refused', 'abandon')
    record(out, 'three', 'end')
    record(out, 'cut short by an exception', 'unfinished')
    expect(out.pending).toBeGreaterThan(0)
    const taken = out.take()!
    expect(taken.records).toBe(3)
    if (framing === 'lines') {
      expect(Buffer.from(taken.data).toString('utf8')).toBe('one\ntwo é\nthree\n')
    } else {
      const header = '<134>1 2026-11-26T15:02:56Z collector-1 cloudtrail-ingest - - - '
      expect(frames(taken.data)).toEqual([`${header}one`, `${header}two é`, `${header}three`])
    }
    // Nothing of the unfinished record is left for the next chunk either.
    expect(out.take()).toBeNull()
    record(out, 'four', 'end')
    expect(Buffer.from(out.take()!.data).toString('utf8')).toMatch(/four\n?$/)
  })

  it('hands over nothing while only an unfinished record is there', () => {
    const out = new OutputBuilder(64, 'lines')
    record(out, 'x'.repeat(1000), 'unfinished')
    expect(out.pending).toBe(0)
    expect(out.full).toBe(false)
    expect(out.take()).toBeNull()
  })

  it('never lets a writer move back into whole records', () => {
    const out = new OutputBuilder(64, 'lines')
    record(out, 'kept', 'end')
    out.beginRecord()
    expect(() => out.setPosition(2)).toThrow(RangeError)
    out.setPosition(out.position)
    out.endRecord()
    expect(Buffer.from(out.take()!.data).toString()).toBe('kept\n\n')
  })
})

describe('OutputBuilder: chunk buffers', () => {
  it('hands a full chunk over in its own buffer, and copies a small one out, keeping the large buffer for the next chunk', () => {
    const chunkBytes = 1 << 12
    const out = new OutputBuilder(chunkBytes, 'lines')
    while (!out.full) record(out, 'r'.repeat(100), 'end')
    const full = out.take()!
    // Moved as it is: the view starts its buffer, which is larger than the chunk (room for one more record).
    expect(full.data.byteOffset).toBe(0)
    expect(full.data.buffer.byteLength).toBeGreaterThan(full.data.length)

    record(out, 'small', 'end')
    const small = out.take()!
    expect(Buffer.from(small.data).toString()).toBe('small\n')
    expect(small.data.buffer.byteLength).toBe(small.data.length)
    // The next chunk is written into the buffer the small one was copied from (not a new one).
    while (!out.full) record(out, 's'.repeat(100), 'end')
    const next = out.take()!
    expect(next.data.buffer.byteLength).toBe(full.data.buffer.byteLength)
    expect(Buffer.from(next.data).toString()).toBe(`${'s'.repeat(100)}\n`.repeat(next.records))
  })
})
