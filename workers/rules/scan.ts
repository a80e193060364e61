// Finds, in a record's bytes, the few values the rules read and the values they redact — before the record
// is formatted, so that a dropped record costs a walk to its end and nothing more (bench/rules.bench.ts).
//
// The containers on a rule's path are read token by token; every other value is skipped whole, strings
// by their closing quote and containers by their brackets, without looking at keys. A record's drop and
// keep rules are decided on the way (each captured value is matched at once, glob.ts), and each value to
// redact is noted as a byte range [start, end) of the record (redact.ts replaces them).
//
// Paths are matched as the fortisiem format writes them: {"a/b":1} and {"a":{"b":1}} both have a value at
// a/b. A state of the walk is a target (compile.ts) and how much of its path the keys so far have matched.
//
// What this does not decide itself it leaves to the reference (reference.ts) by setting `ambiguous`: a key
// on a rule's path that comes twice in one object (JSON.parse keeps the last one, and so does the format),
// or one with escapes. A record it cannot read (not JSON, past `limit`, nested deeper than maxDepth) gives -1.
// Nothing recurses.

import { isUtf8 } from 'node:buffer'
import { matchesValue, type RuleSet } from './compile.ts'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const COMMA = 0x2c
const COLON = 0x3a
const SLASH = 0x2f

const SHIFT = 20
const OFFSET = (1 << SHIFT) - 1

const EMPTY_OBJECT = new TextEncoder().encode('{}')
const EMPTY_ARRAY = new TextEncoder().encode('[]')
const decoder = new TextDecoder('utf-8')
const encoder = new TextEncoder()

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

function skipSpace(buf: Uint8Array, i: number, end: number): number {
  while (i < end && isSpace(buf[i])) i++
  return i
}

/** Words in platform order; computed here, not imported, as fortisiem/fast.ts says why. */
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1
/**
 * The index (0-3) within a word read in platform order of the first byte flagged in `t` (not 0): SWAR
 * tests flag a byte by its top bit. Here, not imported: ../json-bytes.ts says why.
 */
const firstFlagged = LE ? (t: number): number => (31 - Math.clz32(t & -t)) >> 3 : (t: number): number => Math.clz32(t) >> 3

// Skipping is most of the scan: 4 bytes at a time to the next byte that may matter (a quote or backslash in
// a string; a quote or bracket outside), as json/fast.ts and fortisiem/fast.ts do. On the corpus's short
// strings it measured the same as indexOf() and a byte loop within this shared machine's noise (the scan
// alone: 1.8-2.3 µs per record either way, /tmp scripts over bench/lib/corpus.ts's 8,000 records); it is kept
// for long values, which it crosses 4 bytes per step.

/** Whether the last stringEnd() passed a backslash (a key with escapes goes to the reference). */
let escapes = false

/** Index of the closing quote of the string whose first byte is at i (just after its opening quote), or -1. */
function stringEnd(buf: Uint8Array, view: DataView, i: number, end: number): number {
  escapes = false
  for (;;) {
    while (i + 4 <= end) {
      const x = view.getInt32(i, LE)
      const q = x ^ 0x22222222
      const b = x ^ 0x5c5c5c5c
      const t = (((q - 0x01010101) & ~q) | ((b - 0x01010101) & ~b)) & 0x80808080
      if (t !== 0) {
        i += firstFlagged(t)
        break
      }
      i += 4
    }
    if (i >= end) return -1
    const c = buf[i]
    if (c === QUOTE) return i
    if (c === BACKSLASH) {
      escapes = true
      i += 2
    } else {
      i++
    }
  }
}

export class RuleScanner {
  /** Per match rule (drop rules, then keep rules): whether one of its values matched. */
  readonly hit: Uint8Array
  /** A key on a rule's path came twice in one object, or had escapes: the reference decides. */
  ambiguous = false
  /** The values to redact: [start, end) of the record's bytes, in order, and the rule of each. */
  redactStart: Int32Array = new Int32Array(16)
  redactEnd: Int32Array = new Int32Array(16)
  redactRule: Int32Array = new Int32Array(16)
  redactions = 0

  private readonly paths: Uint8Array[]
  private readonly targetRedact: Uint8Array
  private readonly targetUnder: Uint8Array
  private readonly redactOf: Int32Array
  private readonly rootStates: Int32Array
  private states: Int32Array = new Int32Array(64)
  private hits: Int32Array = new Int32Array(64)
  private frameArray: Uint8Array
  private frameIndex: Int32Array
  private frameStates: Int32Array
  private frameHits: Int32Array
  private frameRedact: Int32Array
  private frameRedactRule: Int32Array
  private readonly digits = new Uint8Array(16)
  private viewBuf: Uint8Array | null = null
  private view: DataView = new DataView(new ArrayBuffer(0))

  constructor(
    private readonly rules: RuleSet,
    private readonly maxDepth: number,
  ) {
    this.hit = new Uint8Array(rules.drop.length + rules.keep.length)
    this.paths = rules.targets.map((t) => t.path)
    this.targetRedact = Uint8Array.from(rules.targets.map((t) => (t.redact ? 1 : 0)))
    this.targetUnder = Uint8Array.from(rules.targets.map((t) => (t.under ? 1 : 0)))
    this.redactOf = new Int32Array(rules.targets.length).fill(-1)
    rules.redact.forEach((r, k) => {
      if (this.redactOf[r.target] < 0) this.redactOf[r.target] = k
    })
    this.rootStates = Int32Array.from(rules.targets.map((_t, k) => k << SHIFT))
    const n = Math.min(maxDepth + 1, 64)
    this.frameArray = new Uint8Array(n)
    this.frameIndex = new Int32Array(n)
    this.frameStates = new Int32Array(n)
    this.frameHits = new Int32Array(n)
    this.frameRedact = new Int32Array(n)
    this.frameRedactRule = new Int32Array(n)
  }

  /**
   * Reads the record that opens at `start` (its `{`). `exact`: it must end at `limit` (whitespace aside);
   * otherwise it may end anywhere before. Returns the index after its closing brace, or -1.
   */
  scan(buf: Uint8Array, start: number, limit: number, exact: boolean): number {
    this.hit.fill(0)
    this.ambiguous = false
    this.redactions = 0
    if (buf[start] !== OPEN_BRACE || this.maxDepth < 1) return -1
    const paths = this.paths
    const targetRedact = this.targetRedact
    const targetUnder = this.targetUnder
    let states = this.states
    if (states.length < this.rootStates.length * 2) states = this.states = new Int32Array(this.rootStates.length * 4)
    states.set(this.rootStates)
    let statesTop = this.rootStates.length
    let hitsTop = 0
    let f = 0
    let redacting = 0 // open containers being redacted
    this.frameArray[0] = 0
    this.frameStates[0] = 0
    this.frameHits[0] = 0
    this.frameRedact[0] = -1
    let i = start + 1
    let first = true
    if (buf !== this.viewBuf) {
      this.viewBuf = buf
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    }
    const view = this.view
    for (;;) {
      i = skipSpace(buf, i, limit)
      if (i >= limit) return -1
      let c = buf[i]
      const inArray = this.frameArray[f] === 1
      // The container's end, or the comma before the next member.
      if (c === (inArray ? CLOSE_BRACKET : CLOSE_BRACE)) {
        i++
        if (this.frameRedact[f] >= 0) {
          this.addRedaction(this.frameRedact[f], i, this.frameRedactRule[f])
          redacting--
        }
        statesTop = this.frameStates[f]
        hitsTop = this.frameHits[f]
        if (f === 0) break
        f--
        first = false
        continue
      }
      if (!first) {
        if (c !== COMMA) return -1
        i = skipSpace(buf, i + 1, limit)
        if (i >= limit) return -1
        c = buf[i]
      }
      first = false

      // The member's key (an object's) or index (an array's): the states it leads to go above statesTop.
      let ks = 0
      let ke = 0
      let key = buf
      if (inArray) {
        const index = this.frameIndex[f]++
        ke = writeDigits(this.digits, index)
        key = this.digits
      } else {
        if (c !== QUOTE) return -1
        ks = i + 1
        ke = stringEnd(buf, view, ks, limit)
        if (ke < 0) return -1
        i = skipSpace(buf, ke + 1, limit)
        if (i >= limit || buf[i] !== COLON) return -1
        i = skipSpace(buf, i + 1, limit)
        if (i >= limit) return -1
        c = buf[i]
      }
      const keyLength = ke - ks
      let capture = -1 // the target whose value this is, for drop and keep rules
      let redact = -1 // the redact rule that replaces this value
      let childTop = statesTop
      const frameStates = this.frameStates[f]
      // A key with escapes might be on a rule's path once decoded: the reference reads the record.
      if (!inArray && escapes && frameStates < statesTop) this.ambiguous = true
      for (let k = frameStates; k < statesTop; k++) {
        const st = states[k]
        const t = st >>> SHIFT
        const off = st & OFFSET
        const path = paths[t]
        const redactTarget = targetRedact[t] === 1
        if (off > path.length) {
          // Everything under a redact PATH/*.
          if (redact < 0) redact = this.redactOf[t]
          continue
        }
        const rem = path.length - off
        let n = 0
        const m = keyLength < rem ? keyLength : rem
        while (n < m && key[ks + n] === path[off + n]) n++
        if (n < m) continue
        let next = -1
        if (keyLength === rem) {
          if (!redactTarget) {
            capture = t
            next = (t << SHIFT) | path.length
          } else if (targetUnder[t] === 0) {
            if (redact < 0) redact = this.redactOf[t]
          } else {
            next = (t << SHIFT) | (path.length + 1)
          }
        } else if (keyLength < rem) {
          if (path[off + keyLength] === SLASH) next = (t << SHIFT) | (off + keyLength + 1)
        } else if (redactTarget && key[ks + rem] === SLASH) {
          if (redact < 0) redact = this.redactOf[t]
        }
        if (next < 0) continue
        if (!redactTarget && !this.ambiguous) {
          // A key on a drop or keep rule's path: it must not come twice in this object. Once one has, the
          // reference decides and no more are noted (100,000 copies of a key would make this quadratic).
          for (let h = this.frameHits[f]; h < hitsTop; h++) if (this.hits[h] === next) this.ambiguous = true
          if (hitsTop >= this.hits.length) this.hits = grown(this.hits, hitsTop + 1)
          this.hits[hitsTop++] = next
        }
        if (next === ((t << SHIFT) | path.length)) continue // a capture has no states below it
        if (childTop >= states.length) states = this.states = grown(states, childTop + 1)
        states[childTop++] = next
      }
      if (redacting > 0) redact = -1 // already inside a redacted value

      // The value.
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (f + 2 > this.maxDepth) return -1
        if (capture >= 0) {
          const close = skipSpace(buf, i + 1, limit)
          if (close < limit && buf[close] === (c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET)) {
            const empty = c === OPEN_BRACE ? EMPTY_OBJECT : EMPTY_ARRAY
            this.capture(capture, empty, 0, 2)
          }
        }
        if (childTop === statesTop) {
          // Nothing the rules read is inside: skipped whole.
          const s = i
          i = this.skipContainer(buf, i, limit, f + 2)
          if (i < 0) return -1
          if (redact >= 0) this.addRedaction(s, i, redact)
          continue
        }
        f++
        if (f >= this.frameArray.length) this.growFrames(f + 1)
        this.frameArray[f] = c === OPEN_BRACKET ? 1 : 0
        this.frameIndex[f] = 0
        this.frameStates[f] = statesTop
        this.frameHits[f] = hitsTop
        this.frameRedact[f] = redact >= 0 ? i : -1
        this.frameRedactRule[f] = redact
        if (redact >= 0) redacting++
        statesTop = childTop
        first = true
        i++
        continue
      }
      const s = i
      let e: number
      if (c === QUOTE) {
        const close = stringEnd(buf, view, i + 1, limit)
        if (close < 0) return -1
        e = close + 1
        if (capture >= 0) this.captureString(capture, buf, i + 1, close)
      } else {
        e = i
        while (e < limit) {
          const b = buf[e]
          if (b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET || isSpace(b)) break
          if (b === QUOTE || b === OPEN_BRACE || b === OPEN_BRACKET || b === COLON) return -1
          e++
        }
        if (e === i || e >= limit) return -1
        if (capture >= 0) this.capture(capture, buf, i, e)
      }
      if (redact >= 0) this.addRedaction(s, e, redact)
      i = e
    }
    if (exact && skipSpace(buf, i, limit) !== limit) return -1
    return i
  }

  private captureString(t: number, buf: Uint8Array, s: number, e: number): void {
    let escaped = false
    let high = false
    for (let k = s; k < e; k++) {
      const b = buf[k]
      if (b === BACKSLASH) escaped = true
      else if (b >= 0x80) high = true
    }
    if (!escaped && (!high || isUtf8(buf.subarray(s, e)))) {
      this.capture(t, buf, s, e)
      return
    }
    // Escapes or invalid UTF-8: the value as JSON.parse and the format read it.
    let text: string
    try {
      text = JSON.parse(decoder.decode(buf.subarray(s - 1, e + 1))) as string
    } catch {
      this.ambiguous = true // not a JSON string: the reference rejects the record
      return
    }
    const bytes = encoder.encode(text)
    this.capture(t, bytes, 0, bytes.length)
  }

  /** A value of target t: the drop and keep rules that read it are matched now. */
  private capture(t: number, buf: Uint8Array, s: number, e: number): void {
    const rules = this.rules
    for (const r of rules.readers[t]) {
      if (this.hit[r] === 1) continue
      const drop = r < rules.drop.length
      if (!matchesValue(drop ? rules.drop[r] : rules.keep[r - rules.drop.length], buf, s, e)) continue
      // Not decided here: a later copy of a key on the path may still come (JSON.parse keeps the last).
      this.hit[r] = 1
    }
  }

  private addRedaction(s: number, e: number, rule: number): void {
    const n = this.redactions
    if (n >= this.redactStart.length) {
      this.redactStart = grown(this.redactStart, n + 1)
      this.redactEnd = grown(this.redactEnd, n + 1)
      this.redactRule = grown(this.redactRule, n + 1)
    }
    this.redactStart[n] = s
    this.redactEnd[n] = e
    this.redactRule[n] = rule
    this.redactions = n + 1
  }

  /** The index after the container opening at i, at depth `depth`; -1 when it does not close before limit or goes deeper than maxDepth. */
  private skipContainer(buf: Uint8Array, i: number, limit: number, depth: number): number {
    const max = this.maxDepth
    if (depth > max) return -1
    const view = this.view
    let d = 1
    const top = depth - 1 // the depth of what is open at i is top + d
    for (i++; ; ) {
      while (i + 4 <= limit) {
        const x = view.getInt32(i, LE)
        const q = x ^ 0x22222222
        const o = (x | 0x20202020) ^ 0x7b7b7b7b // { or [
        const c = (x | 0x20202020) ^ 0x7d7d7d7d // } or ]
        const t = (((q - 0x01010101) & ~q) | ((o - 0x01010101) & ~o) | ((c - 0x01010101) & ~c)) & 0x80808080
        if (t !== 0) {
          i += firstFlagged(t)
          break
        }
        i += 4
      }
      if (i >= limit) return -1
      const b = buf[i]
      if (b === QUOTE) {
        i = stringEnd(buf, view, i + 1, limit)
        if (i < 0) return -1
      } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
        if (top + ++d > max) return -1
      } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        if (--d === 0) return i + 1
      }
      i++
    }
  }

  private growFrames(n: number): void {
    const size = Math.max(n, this.frameArray.length * 2)
    const a = new Uint8Array(size)
    a.set(this.frameArray)
    this.frameArray = a
    this.frameIndex = grown(this.frameIndex, size)
    this.frameStates = grown(this.frameStates, size)
    this.frameHits = grown(this.frameHits, size)
    this.frameRedact = grown(this.frameRedact, size)
    this.frameRedactRule = grown(this.frameRedactRule, size)
  }
}

function grown(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(Math.max(n, a.length * 2))
  b.set(a)
  return b
}

/** The decimal digits of n into d[0, …); returns how many. */
function writeDigits(d: Uint8Array, n: number): number {
  let len = 0
  do {
    d[len++] = 0x30 + (n % 10)
    n = Math.floor(n / 10)
  } while (n > 0)
  d.subarray(0, len).reverse()
  return len
}
