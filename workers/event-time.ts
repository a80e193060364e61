// The record's eventTime, read straight from its bytes for cloudtrail_event_lag_seconds (the fast paths
// note where it is as they go; the others look it up here): one indexOf for `"eventTime"` and twenty
// digits parsed by hand (CloudTrail writes 2014-10-10T06:38:11Z). Any other shape gives NaN and the
// record is simply not measured.

const NEEDLE = new TextEncoder().encode('"eventTime"')

function digits(buf: Uint8Array, at: number, n: number): number {
  let v = 0
  for (let i = 0; i < n; i++) {
    const d = buf[at + i] - 0x30
    if (d < 0 || d > 9) return Number.NaN
    v = v * 10 + d
  }
  return v
}

/** Milliseconds since the epoch, or NaN. */
export function eventTimeMs(buf: Uint8Array, start: number, end: number): number {
  return parseTime(buf, indexOf(buf, start, end), end)
}

/** The time written at buf[at…] as CloudTrail writes it (2014-10-10T06:38:11Z), or NaN. */
export function parseTime(buf: Uint8Array, at: number, end: number): number {
  if (at < 0 || at + 20 > end) return Number.NaN
  if (buf[at + 4] !== 0x2d || buf[at + 7] !== 0x2d || buf[at + 10] !== 0x54 || buf[at + 13] !== 0x3a || buf[at + 16] !== 0x3a) return Number.NaN
  return Date.UTC(digits(buf, at, 4), digits(buf, at + 5, 2) - 1, digits(buf, at + 8, 2), digits(buf, at + 11, 2), digits(buf, at + 14, 2), digits(buf, at + 17, 2))
}

/**
 * Start of the value after `"eventTime":"`, or -1. Buffer's native search over a view of the record only:
 * searching the whole chunk from `start` would cost a scan to the chunk's end for every record that has
 * no eventTime.
 */
function indexOf(buf: Uint8Array, start: number, end: number): number {
  const i = Buffer.prototype.indexOf.call(new Uint8Array(buf.buffer, buf.byteOffset + start, end - start), NEEDLE) as number
  if (i < 0) return -1
  // `"eventTime"`, then optional whitespace, ':', optional whitespace, '"'.
  let at = start + i + NEEDLE.length
  while (at < end && (buf[at] === 0x20 || buf[at] === 0x0a || buf[at] === 0x0d || buf[at] === 0x09)) at++
  if (buf[at++] !== 0x3a) return -1
  while (at < end && (buf[at] === 0x20 || buf[at] === 0x0a || buf[at] === 0x0d || buf[at] === 0x09)) at++
  return buf[at] === 0x22 ? at + 1 : -1
}
