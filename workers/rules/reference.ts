// The rules over a parsed record: straightforward on purpose. The collector uses it for the records the
// scanner leaves to it (scan.ts: a key on a rule's path twice in one object, or with escapes; a record the
// scanner cannot read); the tests hold the scanner to it.
//
// A record's fields are its paths and values as the fortisiem format writes them (strings decoded, numbers
// as written, true/false/null, {} and [] for empty containers). A drop or keep rule matches when one of the
// fields at its path matches one of its alternatives. A redact rule PATH replaces the value at PATH, or at
// any path that starts with PATH/ (a key with a / in it), by "[REDACTED]"; PATH/* those under PATH only;
// the outermost such value, whole, and the first rule in order that names it counts it.

import { type JsonValue, RawNumber } from '../fortisiem/reference.ts'
import { type MatchRule, NOT_KEPT, REDACTED, type RuleSet, matchesValue } from './compile.ts'

const encoder = new TextEncoder()

export interface ReferenceVerdict {
  /** The drop rule (its label, or NOT_KEPT) that drops the record; null: it is written. */
  dropped: string | null
  /** The redact rules (their index) that replaced at least one value, in order. */
  redacted: number[]
  /** The record with its values redacted (the record itself when none was). */
  record: JsonValue
}

/** Every field of the record: [path, value as the format writes it]. */
export function fields(record: JsonValue): [string, string][] {
  const out: [string, string][] = []
  const walk = (v: JsonValue, path: string) => {
    if (v === null || typeof v === 'boolean') out.push([path, String(v)])
    else if (typeof v === 'string') out.push([path, v])
    else if (v instanceof RawNumber) out.push([path, v.text])
    else if (Array.isArray(v)) {
      if (v.length === 0) out.push([path, '[]'])
      v.forEach((x, k) => walk(x, path === '' ? String(k) : `${path}/${k}`))
    } else {
      const keys = Object.keys(v)
      if (keys.length === 0) out.push([path, '{}'])
      for (const k of keys) walk(v[k], path === '' ? k : `${path}/${k}`)
    }
  }
  walk(record, '')
  return out
}

export function evaluate(rules: RuleSet, record: JsonValue): ReferenceVerdict {
  const all = fields(record)
  const matches = (rule: MatchRule) => {
    const path = rules.paths[rule.target]
    return all.some(([p, v]) => {
      if (p !== path) return false
      const bytes = encoder.encode(v)
      return matchesValue(rule, bytes, 0, bytes.length)
    })
  }
  let dropped: string | null = null
  for (const rule of rules.drop) {
    if (matches(rule)) {
      dropped = rule.label
      break
    }
  }
  if (dropped === null && rules.keep.length > 0 && !rules.keep.some(matches)) dropped = NOT_KEPT
  const hit = new Set<number>()
  const redactOf = (path: string): number => {
    for (let k = 0; k < rules.redact.length; k++) {
      const t = rules.targets[rules.redact[k].target]
      const p = rules.paths[rules.redact[k].target]
      if (path.startsWith(`${p}/`) || (!t.under && path === p)) return k
    }
    return -1
  }
  const redact = (v: JsonValue, path: string): JsonValue => {
    if (v === null || typeof v !== 'object' || v instanceof RawNumber) return v
    if (Array.isArray(v)) {
      return v.map((x, k) => {
        const p = path === '' ? String(k) : `${path}/${k}`
        const r = redactOf(p)
        if (r >= 0) hit.add(r)
        return r >= 0 ? REDACTED : redact(x, p)
      })
    }
    const out: { [key: string]: JsonValue } = {}
    for (const k of Object.keys(v)) {
      const p = path === '' ? k : `${path}/${k}`
      const r = redactOf(p)
      if (r >= 0) hit.add(r)
      // defineProperty: a key may be __proto__.
      Object.defineProperty(out, k, { value: r >= 0 ? REDACTED : redact(v[k], p), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  const redacted = rules.redact.length > 0 ? redact(record, '') : record
  return { dropped, redacted: [...hit].sort((a, b) => a - b), record: hit.size > 0 ? redacted : record }
}

/** JSON text of a record (numbers as written). */
export function toJson(v: JsonValue): string {
  if (v === null || typeof v === 'boolean') return String(v)
  if (typeof v === 'string') return JSON.stringify(v)
  if (v instanceof RawNumber) return v.text
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`
  return `{${Object.keys(v)
    .map((k) => `${JSON.stringify(k)}:${toJson(v[k])}`)
    .join(',')}}`
}
