// dedup_window: CloudTrail may deliver an event more than once (in two log files). Each parse thread keeps
// the eventIDs of the last N records it wrote, each with the object it came from; a record whose eventID
// is there from *another* object is dropped and counted (cloudtrail_records_deduplicated_total). The same
// object parsed again (its message retried, or resumed after a checkpoint) is not a duplicate of itself:
// its records are written again as before.
//
// One window per parse thread, not one for the process: the threads share no memory, and the main thread
// sees only formatted bytes. So a duplicate is caught only when both copies are parsed by the same thread
// (always with one parse thread; with P threads, two objects land on the same one about 1 time in P).
// It also trusts the first copy: if its object is never written (its message goes to the dead-letter
// queue), the copy dropped from the other object is lost with it.
//
// Memory: a Map from the eventID (36 one-byte characters) to the object's name, shared by its records:
// measured 85 bytes per entry on Node 22 and 24 (heapUsed after gc(), 1,000,000 entries, 1,000 per
// object): a window of 100,000 costs about 8.5 MB per parse thread, 1,000,000 about 85 MB.

const latin1 = new TextDecoder('latin1')
const EVENT_ID = new TextEncoder().encode('"eventID"')

export class DedupWindow {
  private readonly seen = new Map<string, string>()

  constructor(private readonly capacity: number) {}

  /**
   * True when `eventId` was seen last in another object than `object` (drop the record); otherwise it is
   * remembered as `object`'s, the oldest entry going when the window is full.
   */
  duplicate(eventId: string, object: string): boolean {
    const owner = this.seen.get(eventId)
    if (owner !== undefined && owner !== object) return true
    if (owner === undefined) {
      if (this.seen.size >= this.capacity) this.seen.delete(this.seen.keys().next().value!)
      this.seen.set(eventId, object)
    }
    return false
  }

  get size(): number {
    return this.seen.size
  }
}

/** One window per thread and size (a thread's objects share it). */
const windows = new Map<number, DedupWindow>()
export function windowFor(capacity: number): DedupWindow {
  let w = windows.get(capacity)
  if (!w) windows.set(capacity, (w = new DedupWindow(capacity)))
  return w
}

/**
 * The record's eventID: the string value of its first `"eventID"` key, or null. A byte scan, no parse: the
 * key appears once in a CloudTrail record (sharedEventID is another key). Escapes are kept as they are.
 */
export function eventIdOf(buf: Uint8Array, start: number, end: number): string | null {
  let at = start
  for (;;) {
    at = indexOf(buf, at, end)
    if (at < 0) return null
    let i = at + EVENT_ID.length
    while (i < end && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++
    if (buf[i] !== 0x3a) {
      at = i
      continue
    }
    i++
    while (i < end && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++
    if (buf[i] !== 0x22) return null
    const from = ++i
    while (i < end && buf[i] !== 0x22) i += buf[i] === 0x5c ? 2 : 1
    return i < end ? latin1.decode(buf.subarray(from, i)) : null
  }
}

function indexOf(buf: Uint8Array, from: number, end: number): number {
  const first = EVENT_ID[0]
  for (let i = buf.indexOf(first, from); i >= 0 && i + EVENT_ID.length <= end; i = buf.indexOf(first, i + 1)) {
    let k = 1
    while (k < EVENT_ID.length && buf[i + k] === EVENT_ID[k]) k++
    if (k === EVENT_ID.length) return i
  }
  return -1
}
