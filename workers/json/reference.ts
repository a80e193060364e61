// The json format: each record exactly as CloudTrail wrote it (same keys, values, order and escapes), on
// one line. Only whitespace outside strings is dropped; CloudTrail writes none, so most records are
// copied byte for byte.

/** Throws SyntaxError when `text` is not valid JSON. */
export function minifyRecord(text: string): string {
  JSON.parse(text)
  return dropSpace(text)
}

/** `text` (valid JSON) without the whitespace outside its strings. */
export function dropSpace(text: string): string {
  let out = ''
  let from = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      out += text.slice(from, i)
      from = i + 1
    }
  }
  return from === 0 ? text : out + text.slice(from)
}
