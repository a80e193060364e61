// The fast flattener's plans (fast.ts): for each shape of record scan() meets (its tokens: `{` `[`, each
// key's spelling, each scalar, each close), how to write its fields: per field in output order, its prefix
// (` [path]=`, or the whole field for {} and []) and which scalar fills it. Building one sorts each
// object's keys in UTF-16 order and drops earlier duplicates (the last one wins, as in JSON.parse).
// CloudTrail has a few thousand shapes (event type × identity type × optional fields), so plans are cached
// by shape and almost every record finds its own.
//
// Measured (bench/flatten.bench.ts's file, µs per record on this 2-core machine, JSON.parse ~4.1): plans
// instead of writing fields as they come and reordering each object's segments when it closes (the first
// version of the flattener): CloudTrail's key order is not sorted, so nearly every object needed it, and
// moving the bytes was 38% of the time (6.6 in place; 4.2 with the moves left out).

import { Byte } from '../json-bytes.ts'
import { type Bytes, type Ints, grownInt32, grownUint8 } from './bytes.ts'
import { type Key, type KeyCache, type RawKey, compareKeys } from './keys.ts'
import { RecordTooLargeError } from './reference.ts'

/**
 * Words are read and written in the platform's byte order. Computed here, not imported: an imported LE
 * made the flattener about 27% slower (../json-bytes.ts).
 */
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** A shape's tokens (a const enum: written into scan() and build() as literals). A key's is KEY + its spelling's id. */
export const enum Token {
  OBJECT = 1,
  ARRAY = 2,
  CLOSE = 3,
  STRING = 4,
  RAW = 5, // a number, true, false or null: written as it is
  KEY = 8,
}

/** Plan item flags. */
export const enum ItemFlag {
  /** The top-level eventSource string. */
  EVENT_SOURCE = 1,
}

/**
 * How to write the records of one shape. Its numbers live in a shared slab (`mem`): one typed array per
 * plan would cost a backing-store allocation each, which was most of the time of building one.
 */
export class Plan {
  /** Same hash, other shape. */
  next: Plan | null = null
  constructor(
    readonly mem: Int32Array,
    /** The shape, mem[tokens, tokens + tokenCount), to tell it from others with the same hash. */
    readonly tokens: number,
    readonly tokenCount: number,
    /**
     * Per field, 4 numbers from mem[items, itemsEnd): where its prefix starts in mem (words,
     * each prefix on a word of its own, copied a word at a time), its length in bytes, the scalar that
     * follows it or -1, flags.
     */
    readonly items: number,
    readonly itemsEnd: number,
  ) {}
}

/** Shapes kept, and the bytes of their plans; past either the cache starts over. */
const MAX_PLANS = 4096
const MAX_PLAN_BYTES = 16 << 20
/** Plans are cut out of slabs of this many 32-bit numbers. */
export const SLAB = 1 << 18
/**
 * Scratch arrays with more entries than this are given back before the next record (as record-cutter.ts gives
 * back its carry): they take 13-60 bytes per byte or token of the largest record, and one record of 8 MiB
 * of zeros (max_record_size) left 260 MiB of them behind, in every thread it passed through.
 */
export const SCRATCH_KEPT = 1 << 20

/** The plans of the shapes seen so far, and the scratch that builds new ones. One per FastFlattener. */
export class Plans {
  private plans = new Map<number, Plan>()
  private planBytes = 0
  private slab: Ints
  private slabBytes: Bytes
  private slabUsed = 0

  // build()'s scratch: the values of the shape as a tree, the depth-first walk, the plan being written.
  private nodeKind: Bytes = new Uint8Array(256)
  private nodeKey: (Key | null)[] = []
  private nodeSlot: Ints = new Int32Array(256)
  private nodeFirst: Ints = new Int32Array(256)
  private nodeNext: Ints = new Int32Array(256)
  private nodeLast: Ints = new Int32Array(256)
  private walkNode: Ints = new Int32Array(256)
  private walkChild: Ints = new Int32Array(256)
  private walkIndex: Ints = new Int32Array(256)
  private walkPath: Ints = new Int32Array(256)
  private children: Ints = new Int32Array(64)
  private path: Bytes = new Uint8Array(256)
  private pathView = new DataView(this.path.buffer)
  private prefixes: Bytes = new Uint8Array(4096)
  private prefixView = new DataView(this.prefixes.buffer)
  private items: Ints = new Int32Array(256)

  /** `slabSize`: 32-bit numbers per slab of plans. */
  constructor(private readonly slabSize = SLAB) {
    this.slab = new Int32Array(slabSize)
    this.slabBytes = new Uint8Array(this.slab.buffer)
  }

  /** Whether as many shapes, or as many bytes of plans, are kept as may be. */
  get full(): boolean {
    return this.plans.size >= MAX_PLANS || this.planBytes >= MAX_PLAN_BYTES
  }

  /**
   * Every plan dropped (when full, or when the keys they name started over). Nothing refers to them any
   * more: the slab can be written over, or given back when a large record's plan made it large.
   */
  clear(): void {
    this.plans.clear()
    this.planBytes = 0
    this.slabUsed = 0
    if (this.slab.length > this.slabSize) {
      this.slab = new Int32Array(this.slabSize)
      this.slabBytes = new Uint8Array(this.slab.buffer)
    }
  }

  /** Whether a large record grew the scratch past SCRATCH_KEPT. */
  get scratchLarge(): boolean {
    return this.nodeKind.length > SCRATCH_KEPT || this.prefixes.length > SCRATCH_KEPT || this.path.length > SCRATCH_KEPT
  }

  /** The scratch back to its first size (nothing refers to it between records). */
  giveBack(): void {
    this.nodeKind = new Uint8Array(256)
    this.nodeKey = []
    this.nodeSlot = new Int32Array(256)
    this.nodeFirst = new Int32Array(256)
    this.nodeNext = new Int32Array(256)
    this.nodeLast = new Int32Array(256)
    this.walkNode = new Int32Array(256)
    this.walkChild = new Int32Array(256)
    this.walkIndex = new Int32Array(256)
    this.walkPath = new Int32Array(256)
    this.children = new Int32Array(64)
    this.items = new Int32Array(256)
    this.path = new Uint8Array(256)
    this.pathView = new DataView(this.path.buffer)
    this.prefixes = new Uint8Array(4096)
    this.prefixView = new DataView(this.prefixes.buffer)
  }

  /**
   * The plan for the shape scan() saw (tokens[0, nt), the spelling of each key token in tokenRaw, its
   * hash): cached, or built (and cached unless `cached` is false: the shape has keys the cache does not
   * keep). Throws RecordTooLargeError when the prefixes alone come to more than `maxBytes`.
   */
  get(tokens: Ints, tokenRaw: (RawKey | null)[], nt: number, hash: number, cached: boolean, keys: KeyCache, maxBytes: number): Plan {
    const head = this.plans.get(hash)
    for (let p: Plan | null | undefined = head; p !== undefined && p !== null; p = p.next) {
      if (p.tokenCount !== nt) continue
      const mem = p.mem
      const at = p.tokens
      let k = 0
      while (k < nt && mem[at + k] === tokens[k]) k++
      if (k === nt) return p
    }
    keys.rank()
    const plan = this.build(tokens, tokenRaw, nt, maxBytes)
    if (plan === null) throw new RecordTooLargeError(`the fields come to more than ${maxBytes} bytes`)
    this.planBytes += 4 * (plan.itemsEnd - plan.tokens) + 100
    if (cached) {
      plan.next = head ?? null
      this.plans.set(hash, plan)
    }
    return plan
  }

  /**
   * The plan for the shape in `tokens`: a tree of its values (first child, next sibling), each object's
   * children put in key order with earlier duplicates dropped, then walked depth first writing each field's
   * prefix. New shapes come with about 5% of fresh CloudTrail records, so this is kept cheap too: scratch
   * arrays, no strings. Null, and nothing kept, as soon as the prefixes come to more than `maxBytes`: every
   * one of them is written once, so the fields would too. The keys are ranked (KeyCache.rank()) first.
   */
  private build(tokens: Ints, tokenRaw: (RawKey | null)[], nt: number, maxBytes: number): Plan | null {
    if (this.nodeKind.length < nt) {
      const n = Math.max(nt, this.nodeKind.length * 2)
      this.nodeKind = new Uint8Array(n)
      this.nodeSlot = new Int32Array(n)
      this.nodeFirst = new Int32Array(n)
      this.nodeNext = new Int32Array(n)
      this.nodeLast = new Int32Array(n)
      this.walkNode = new Int32Array(n)
      this.walkChild = new Int32Array(n)
      this.walkIndex = new Int32Array(n)
      this.walkPath = new Int32Array(n)
    }
    const kind = this.nodeKind
    const keyOf = this.nodeKey
    const slotOf = this.nodeSlot
    const first = this.nodeFirst
    const next = this.nodeNext
    const last = this.nodeLast
    // The open containers while reading the tokens (walkNode doubles as that stack).
    const open = this.walkNode
    let depth = 0
    let nodes = 0
    let slots = 0
    let key: Key | null = null
    for (let t = 0; t < nt; t++) {
      const token = tokens[t]
      if (token >= Token.KEY) {
        key = tokenRaw[t]!.key
        continue
      }
      if (token === Token.CLOSE) {
        depth--
        continue
      }
      const n = nodes++
      kind[n] = token
      keyOf[n] = key
      key = null
      slotOf[n] = token === Token.STRING || token === Token.RAW ? slots++ : -1
      first[n] = -1
      next[n] = -1
      last[n] = -1
      if (depth > 0) {
        const p = open[depth - 1]
        if (last[p] < 0) first[p] = n
        else next[last[p]] = n
        last[p] = n
      }
      if (token === Token.OBJECT || token === Token.ARRAY) open[depth++] = n
    }

    // Objects: children in key order (a stable sort), the last of equal keys kept.
    for (let n = 0; n < nodes; n++) {
      if (kind[n] !== Token.OBJECT) continue
      let count = 0
      let sorted = true
      for (let c = first[n]; c >= 0; c = next[c]) {
        if (count > 0 && compareKeys(keyOf[this.children[count - 1]]!, keyOf[c]!) >= 0) sorted = false
        if (count >= this.children.length) this.children = grownInt32(this.children, count + 1)
        this.children[count++] = c
      }
      if (sorted) continue
      const children = this.children
      if (count <= 32) {
        // Insertion sort (stable): CloudTrail's objects have a few dozen keys at most.
        for (let k = 1; k < count; k++) {
          const c = children[k]
          let m = k
          while (m > 0 && compareKeys(keyOf[children[m - 1]]!, keyOf[c]!) > 0) {
            children[m] = children[m - 1]
            m--
          }
          children[m] = c
        }
      } else {
        // Any number of keys: n log n, record order among equal keys.
        const byKey = Array.from(children.subarray(0, count)).sort((a, b) => compareKeys(keyOf[a]!, keyOf[b]!) || a - b)
        children.set(byKey)
      }
      let prev = -1
      for (let k = 0; k < count; k++) {
        const c = children[k]
        if (k + 1 < count && compareKeys(keyOf[c]!, keyOf[children[k + 1]]!) === 0) continue
        if (prev < 0) first[n] = c
        else next[prev] = c
        prev = c
      }
      next[prev] = -1
    }

    // Depth first from the record (node 0): each field's prefix, ` [path]=` (no space before the first),
    // with `{}` or `[]` for an empty container, each starting on a word.
    const walkNode = this.walkNode
    const walkChild = this.walkChild
    const walkIndex = this.walkIndex
    const walkPath = this.walkPath
    let path = this.path
    let pathView = this.pathView
    let bytes = this.prefixes
    let bytesView = this.prefixView
    let length = 0
    let total = 0 // bytes of the prefixes, as the fields will have them (without the padding)
    let items = this.items
    let ni = 0
    let d = 0
    walkNode[0] = 0
    walkChild[0] = first[0]
    walkIndex[0] = 0
    walkPath[0] = 0
    while (d >= 0) {
      const c = walkChild[d]
      if (c < 0) {
        d--
        continue
      }
      walkChild[d] = next[c]
      let pl = walkPath[d]
      // Room for the segment, and for word writes running past it.
      const segment = kind[walkNode[d]] === Token.OBJECT ? keyOf[c]! : null
      const room = pl + 16 + (segment === null ? 0 : segment.length)
      if (room > path.length) {
        path = this.path = grownUint8(path, room)
        pathView = this.pathView = new DataView(path.buffer)
      }
      if (d > 0) path[pl++] = Byte.SLASH
      if (segment !== null) {
        const words = segment.words
        for (let w = 0; w < words.length; w++) pathView.setInt32(pl + 4 * w, words[w], LE)
        pl += segment.length
      } else {
        const index = walkIndex[d]++
        let digits = 1
        for (let m = index; m >= 10; m = (m / 10) | 0) digits++
        for (let m = index, k = pl + digits - 1; k >= pl; k--, m = (m / 10) | 0) path[k] = 0x30 + (m % 10)
        pl += digits
      }
      const k = kind[c]
      if ((k === Token.OBJECT || k === Token.ARRAY) && first[c] >= 0) {
        d++
        walkNode[d] = c
        walkChild[d] = first[c]
        walkIndex[d] = 0
        walkPath[d] = pl
        continue
      }
      total += (ni > 0 ? 1 : 0) + pl + 3 + (k === Token.OBJECT || k === Token.ARRAY ? 2 : 0)
      if (total > maxBytes) return null
      if (length + pl + 16 > bytes.length) {
        bytes = this.prefixes = grownUint8(bytes, length + pl + 16)
        bytesView = this.prefixView = new DataView(bytes.buffer)
      }
      const prefix = length
      if (ni > 0) bytes[length++] = Byte.SPACE
      bytes[length++] = Byte.OPEN_BRACKET
      for (let q = 0; q < pl; q += 4) bytesView.setInt32(length + q, pathView.getInt32(q, LE), LE)
      length += pl
      bytes[length++] = Byte.CLOSE_BRACKET
      bytes[length++] = Byte.EQUALS
      if (k === Token.OBJECT || k === Token.ARRAY) {
        bytes[length++] = k === Token.OBJECT ? Byte.OPEN_BRACE : Byte.OPEN_BRACKET
        bytes[length++] = k === Token.OBJECT ? Byte.CLOSE_BRACE : Byte.CLOSE_BRACKET
      }
      if (ni + 4 > items.length) items = this.items = grownInt32(items, ni + 4)
      items[ni++] = prefix >> 2 // made absolute below
      items[ni++] = length - prefix
      items[ni++] = slotOf[c]
      items[ni++] = d === 0 && k === Token.STRING && keyOf[c]!.eventSource ? ItemFlag.EVENT_SOURCE : 0
      length = (length + 3) & ~3
    }
    // Into the slab: the shape, the prefixes, the items.
    const words = length >> 2
    const size = nt + words + ni
    if (this.slabUsed + size > this.slab.length) {
      this.slab = new Int32Array(Math.max(this.slabSize, size))
      this.slabBytes = new Uint8Array(this.slab.buffer)
      this.slabUsed = 0
    }
    const mem = this.slab
    const at = this.slabUsed
    this.slabUsed += size
    mem.set(tokens.subarray(0, nt), at)
    const prefixesAt = at + nt
    this.slabBytes.set(bytes.subarray(0, length), 4 * prefixesAt)
    const itemsAt = prefixesAt + words
    for (let k = 0; k < ni; k += 4) {
      mem[itemsAt + k] = prefixesAt + items[k]
      mem[itemsAt + k + 1] = items[k + 1]
      mem[itemsAt + k + 2] = items[k + 2]
      mem[itemsAt + k + 3] = items[k + 3]
    }
    return new Plan(mem, at, nt, itemsAt, itemsAt + ni)
  }
}
