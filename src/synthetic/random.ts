// A small seedable PRNG for synthetic data: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator,
// 128-bit state, passes PractRand to 2^40+), seeded through splitmix32 so that nearby seeds (1, 2, 3)
// give unrelated streams. Not for anything secret: it exists so that the same seed gives the same records.

const HEX = '0123456789abcdef'
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const UPPER_ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'
const TWO_POW_32 = 4294967296

export class Random {
  private a: number
  private b: number
  private c: number
  private d: number

  /** Any integer seed; it is taken modulo 2^32, so 1 and 2^32 + 1 give the same stream. */
  constructor(seed = 1) {
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`)
    let s = seed >>> 0
    const split = (): number => {
      s = (s + 0x9e3779b9) | 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = split()
    this.b = split()
    this.c = split()
    this.d = split()
    // Warm-up, as the sfc32 reference does, so the first outputs are already well mixed.
    for (let i = 0; i < 12; i++) this.u32()
  }

  /** Next 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** Uniform float in [0, 1). An arrow property so it can be passed around as a plain `() => number`. */
  readonly float = (): number => this.u32() / TWO_POW_32

  /**
   * Uniform integer in [0, n). The float behind it has 32 bits, so for n above 2^32 only 2^32 evenly spaced
   * values can come out (enough for account ids, not for anything that must cover the whole range).
   */
  int(n: number): number {
    return Math.floor(this.float() * n)
  }

  /** Uniform integer in [min, max] (both inclusive). */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1)
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }

  chance(p: number): boolean {
    return this.float() < p
  }

  /** n lowercase hex digits. */
  hex(n: number): string {
    let out = ''
    while (out.length < n) {
      let x = this.u32()
      for (let i = 0; i < 8 && out.length < n; i++) {
        out += HEX[x & 15]
        x >>>= 4
      }
    }
    return out
  }

  /** n characters of [0-9A-Za-z]. */
  base62(n: number): string {
    return fromAlphabet(this.float, BASE62, n)
  }

  /** n characters of [0-9A-Z], the shape of S3 request ids and IAM unique-id suffixes. */
  upperAlnum(n: number): string {
    return fromAlphabet(this.float, UPPER_ALNUM, n)
  }

  /** A string shaped like a random (version 4) UUID. */
  uuid(): string {
    const h = this.hex(30)
    const variant = HEX[8 + (this.u32() & 3)]
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(12, 15)}-${variant}${h.slice(15, 18)}-${h.slice(18, 30)}`
  }
}

/** n characters drawn uniformly from `alphabet` using any `() => number` in [0, 1). */
export function fromAlphabet(random: () => number, alphabet: string, n: number): string {
  let out = ''
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(random() * alphabet.length)]
  return out
}

export function base62(random: () => number, n: number): string {
  return fromAlphabet(random, BASE62, n)
}

/**
 * Weighted choice prepared once: `table.pick(rng)` costs one float and a short scan. The items are few
 * (tens), so a linear scan over cumulative weights beats a binary search or an alias table here.
 */
export class Weighted<T> {
  readonly items: readonly T[]
  private readonly cumulative: Float64Array
  private readonly total: number

  constructor(entries: ReadonlyArray<readonly [T, number]>) {
    if (entries.length === 0) throw new RangeError('Weighted needs at least one entry')
    this.items = entries.map((e) => e[0])
    this.cumulative = new Float64Array(entries.length)
    let sum = 0
    entries.forEach(([, w], i) => {
      if (!(w >= 0)) throw new RangeError(`weight must be >= 0, got ${w}`)
      sum += w
      this.cumulative[i] = sum
    })
    if (sum <= 0) throw new RangeError('weights must not all be zero')
    this.total = sum
  }

  pick(rng: Random): T {
    const x = rng.float() * this.total
    const c = this.cumulative
    for (let i = 0; i < c.length; i++) if (x < c[i]) return this.items[i]
    return this.items[this.items.length - 1]
  }
}
