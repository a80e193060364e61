// Synthetic CloudTrail records' clock (records.ts): "2026-11-26T15:02:56Z" (CloudTrail writes seconds, no
// milliseconds). The "YYYY-MM-DDTHH:" prefix is cached per hour, so a record costs two lookups and a
// concatenation instead of a Date and toISOString.

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => (i < 10 ? '0' : '') + i)

export class IsoClock {
  private hour = Number.NaN
  private prefix = ''

  format(ms: number): string {
    const s = Math.floor(ms / 1000)
    const h = Math.floor(s / 3600)
    if (h !== this.hour) {
      this.hour = h
      this.prefix = new Date(h * 3_600_000).toISOString().slice(0, 14)
    }
    const r = s - h * 3600
    return this.prefix + TWO_DIGITS[(r / 60) | 0] + ':' + TWO_DIGITS[r % 60] + 'Z'
  }
}
