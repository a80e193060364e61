// The members of a JSON object as their source text: each key decoded, each value the exact characters
// the record holds (keys, order, escapes and number spellings of everything inside it as CloudTrail wrote
// them). The ocsf format copies the members it does not map this way instead of re-serialising what
// JSON.parse built: JSON.parse turns 1e400 into Infinity (written null) and 1.0 into 1, and on Node 24 can
// read an escaped key as another key seen before (nodejs/node#63785, see fortisiem/reference.ts) — in
// requestParameters, whose keys anyone calling an API chooses.
//
// `text` must be one valid JSON object with no whitespace outside strings (JSON.parse and dropSpace()
// first): nothing here validates. A loop over the characters, no recursion: depth costs nothing.

export interface Member {
  key: string
  /** The value's source text. */
  value: string
}

/** Index after the string whose opening quote is at `i`. */
function stringEnd(text: string, i: number): number {
  // The next quote not escaped: one preceded by an even number of backslashes. indexOf runs natively over
  // the long strings (user agents, policies), 9.3 -> 5.6 µs per corpus record (bench/ocsf.bench.ts).
  for (;;) {
    i = text.indexOf('"', i + 1)
    let b = i - 1
    while (text.charCodeAt(b) === 0x5c) b--
    if ((i - 1 - b) % 2 === 0) return i + 1
  }
}

/** Index after the value starting at `i`. */
function valueEnd(text: string, i: number): number {
  const c = text.charCodeAt(i)
  if (c === 0x22) return stringEnd(text, i)
  if (c !== 0x7b && c !== 0x5b) {
    // A number, true, false or null: up to the next ',', '}' or ']'.
    while (i < text.length) {
      const d = text.charCodeAt(i)
      if (d === 0x2c || d === 0x7d || d === 0x5d) break
      i++
    }
    return i
  }
  let depth = 0
  for (; ; i++) {
    const d = text.charCodeAt(i)
    if (d === 0x22) i = stringEnd(text, i) - 1
    else if (d === 0x7b || d === 0x5b) depth++
    else if ((d === 0x7d || d === 0x5d) && --depth === 0) return i + 1
  }
}

/**
 * The members of the object `text`, in order, the last of duplicate keys kept at the place of the first
 * (as JSON.parse builds the object).
 */
export function objectMembers(text: string): Member[] {
  const members: Member[] = []
  const at = new Map<string, number>()
  let i = 1 // after '{'
  if (text.charCodeAt(i) === 0x7d) return members
  for (;;) {
    const keyEnd = stringEnd(text, i)
    const raw = text.slice(i + 1, keyEnd - 1)
    const key = raw.includes('\\') ? (JSON.parse(text.slice(i, keyEnd)) as string) : raw
    const start = keyEnd + 1 // after ':'
    const end = valueEnd(text, start)
    const member = { key, value: text.slice(start, end) }
    const seen = at.get(key)
    if (seen === undefined) {
      at.set(key, members.length)
      members.push(member)
    } else {
      members[seen] = member
    }
    if (text.charCodeAt(end) === 0x7d) return members
    i = end + 1 // after ','
  }
}
