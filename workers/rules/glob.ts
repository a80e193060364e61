// One alternative of a rule's pattern: literal bytes and `*` (any run of bytes, the empty one included),
// matched whole against a value's UTF-8 bytes.
//
// Values are chosen by whoever calls an AWS API, so the match must stay linear in the value whatever the
// pattern and the value hold: a backtracking matcher (a regular expression, or the textbook glob loop that
// goes back to the last `*`) takes O(value × pattern) on `a*a*a*…b` against `aaaa…`. Here a `*`-only glob
// is read as PREFIX*PIECE1*PIECE2*…*SUFFIX: the prefix and suffix are compared in place, and each middle
// piece is found at its leftmost place after the previous one with Knuth-Morris-Pratt, whose text position
// never moves back. Leftmost is always right for `*`-only globs (a later place for a piece leaves less room
// to the ones after it, never more), so one forward pass decides: O(value + pattern), no backtracking.
// Matching bytes matches characters: a piece is whole UTF-8 characters, and UTF-8 never finds one
// character's bytes inside another's.

export class Glob {
  /** The literal pieces between the stars; one piece and no star: an exact value. */
  private readonly pieces: Uint8Array[]
  /** KMP failure function of each middle piece. */
  private readonly failure: Int32Array[]
  private readonly starred: boolean
  private readonly minLength: number

  /** `pieces`: the literal text around each `*` (n + 1 pieces for n stars), already unescaped. */
  constructor(pieces: readonly string[]) {
    const encoder = new TextEncoder()
    this.pieces = pieces.map((p) => encoder.encode(p))
    this.starred = pieces.length > 1
    this.minLength = this.pieces.reduce((n, p) => n + p.length, 0)
    this.failure = this.pieces.map(kmpFailure)
  }

  /** Whether buf[s, e) is matched whole. */
  matches(buf: Uint8Array, s: number, e: number): boolean {
    const pieces = this.pieces
    if (e - s < this.minLength) return false
    const first = pieces[0]
    if (!this.starred) return e - s === first.length && same(buf, s, first)
    const last = pieces[pieces.length - 1]
    if (!same(buf, s, first) || !same(buf, e - last.length, last)) return false
    let at = s + first.length
    const stop = e - last.length
    for (let k = 1; k < pieces.length - 1; k++) {
      const piece = pieces[k]
      if (piece.length === 0) continue
      const found = kmpFind(buf, at, stop, piece, this.failure[k])
      if (found < 0) return false
      at = found + piece.length
    }
    return at <= stop
  }
}

function same(buf: Uint8Array, at: number, piece: Uint8Array): boolean {
  for (let k = 0; k < piece.length; k++) if (buf[at + k] !== piece[k]) return false
  return true
}

function kmpFailure(p: Uint8Array): Int32Array {
  const f = new Int32Array(p.length)
  for (let i = 1, k = 0; i < p.length; i++) {
    while (k > 0 && p[i] !== p[k]) k = f[k - 1]
    if (p[i] === p[k]) k++
    f[i] = k
  }
  return f
}

/** The first index in [from, stop) where `p` lies whole before `stop`, or -1. */
function kmpFind(buf: Uint8Array, from: number, stop: number, p: Uint8Array, f: Int32Array): number {
  for (let i = from, k = 0; i < stop; i++) {
    const b = buf[i]
    while (k > 0 && b !== p[k]) k = f[k - 1]
    if (b === p[k]) k++
    if (k === p.length) return i - p.length + 1
  }
  return -1
}
