// drop, keep and redact rules (README "Drop, keep and redact"): parsed and compiled once, at start (config.ts
// checks every source's), and again once per parse thread per rule set (object-parser.ts keeps them by
// their text). An error names the setting and the rule by its place and text.
//
//   drop / keep:  PATH=PATTERN   PATTERN: alternatives separated by |, each a glob where * is any run of
//                                characters; \* \| \\ stand for themselves
//   redact:       PATH or PATH/* (everything under PATH, PATH's own keys kept)
//
// PATH is a field's path as the fortisiem format writes it, without its escapes: keys from the record's top
// down, array elements by index, joined with `/`.

import { ConfigError } from '../../src/errors.ts'
import { Glob } from './glob.ts'

/** The rules of one source as the configuration gives them: what travels with each parse task. */
export interface RuleSpec {
  drop: readonly string[]
  keep: readonly string[]
  redact: readonly string[]
}

/** What a redacted value becomes, in both formats (a JSON string in json). */
export const REDACTED = '[REDACTED]'

/** cloudtrail_records_dropped_total{rule} of a record that no keep rule matched. */
export const NOT_KEPT = 'keep'

export function hasRules(spec: RuleSpec | undefined): spec is RuleSpec {
  return spec !== undefined && spec.drop.length + spec.keep.length + spec.redact.length > 0
}

/** A path the scanner looks for; a path with both kinds of rule is two targets. */
export interface Target {
  path: Uint8Array
  /** match: its values are captured for drop and keep rules; redact: its value is replaced. */
  redact: boolean
  /** redact PATH/*: the values under PATH, not PATH's own. */
  under: boolean
}

export interface MatchRule {
  /** The rule as written: its metric label. */
  label: string
  target: number
  /** The alternatives with a star. */
  alternatives: Glob[]
  /**
   * The alternatives without one, by length and first byte: a rule listing 80 event names (the benchmark's
   * drop rule, bench/rules.bench.ts) compares a value with the few of its length and first letter, not with 80.
   */
  exact: Map<number, Uint8Array[]>
}

/** Whether buf[s, e) matches one of the rule's alternatives. */
export function matchesValue(rule: MatchRule, buf: Uint8Array, s: number, e: number): boolean {
  if (rule.exact.size > 0) {
    const candidates = rule.exact.get((e - s) * 256 + (e > s ? buf[s] : 0))
    if (candidates !== undefined) {
      for (const c of candidates) {
        let k = 0
        while (k < c.length && buf[s + k] === c[k]) k++
        if (k === c.length) return true
      }
    }
  }
  for (const glob of rule.alternatives) if (glob.matches(buf, s, e)) return true
  return false
}

export interface RedactRule {
  label: string
  target: number
}

export class RuleSet {
  readonly targets: Target[] = []
  readonly drop: MatchRule[] = []
  readonly keep: MatchRule[] = []
  readonly redact: RedactRule[] = []
  /** Per target: the drop rules (their index) and keep rules (index + drop.length) that read it. */
  readonly readers: number[][] = []
  /** The targets' paths as text, for the reference (reference.ts). */
  readonly paths: string[] = []

  target(path: string, redact: boolean, under: boolean): number {
    const found = this.targets.findIndex((t, k) => this.paths[k] === path && t.redact === redact && t.under === under)
    if (found >= 0) return found
    this.targets.push({ path: new TextEncoder().encode(path), redact, under })
    this.paths.push(path)
    this.readers.push([])
    return this.targets.length - 1
  }
}

/** Targets and path lengths the scanner can tell apart in one 32-bit state (scan.ts). */
export const MAX_TARGETS = 1 << 10
export const MAX_PATH_BYTES = (1 << 20) - 2

/** Compiles a source's rules; throws ConfigError naming the setting (`drop`, `keep`, `redact`) and the rule. */
export function compileRules(spec: RuleSpec): RuleSet {
  const set = new RuleSet()
  for (const kind of ['drop', 'keep'] as const) {
    spec[kind].forEach((text, index) => {
      const bad = (detail: string): never => {
        throw new ConfigError(kind, `rule ${index + 1} (${JSON.stringify(text)}): ${detail}`)
      }
      const eq = text.indexOf('=')
      if (eq < 0) bad('expected PATH=PATTERN, such as eventName=Describe*|List*')
      const path = text.slice(0, eq).trim()
      checkPath(path, bad)
      if (path.includes('*')) bad('a path has no wildcards: * goes in the pattern, after =')
      const alternatives: Glob[] = []
      const exact = new Map<number, Uint8Array[]>()
      for (const pieces of parsePattern(text.slice(eq + 1), bad)) {
        if (pieces.length > 1) {
          alternatives.push(new Glob(pieces))
          continue
        }
        const bytes = new TextEncoder().encode(pieces[0])
        const key = bytes.length * 256 + (bytes.length > 0 ? bytes[0] : 0)
        exact.set(key, [...(exact.get(key) ?? []), bytes])
      }
      const target = set.target(path, false, false)
      const rules = set[kind]
      set.readers[target].push(kind === 'drop' ? rules.length : -1 - rules.length)
      rules.push({ label: text, target, alternatives, exact })
    })
  }
  // Keep rules read as index + drop.length once every drop rule is in.
  for (const readers of set.readers) for (let k = 0; k < readers.length; k++) if (readers[k] < 0) readers[k] = set.drop.length - 1 - readers[k]
  spec.redact.forEach((text, index) => {
    const bad = (detail: string): never => {
      throw new ConfigError('redact', `rule ${index + 1} (${JSON.stringify(text)}): ${detail}`)
    }
    const trimmed = text.trim()
    const under = trimmed.endsWith('/*')
    const path = under ? trimmed.slice(0, -2) : trimmed
    checkPath(path, bad)
    if (path.includes('*')) bad('the one wildcard of a redact path is a trailing /* (everything under the path)')
    set.redact.push({ label: text, target: set.target(path, true, under) })
  })
  if (set.targets.length > MAX_TARGETS) throw new ConfigError('drop', `more than ${MAX_TARGETS} different paths in drop, keep and redact rules`)
  return set
}

function checkPath(path: string, bad: (detail: string) => never): void {
  if (path === '') bad('the path is empty')
  if (path.startsWith('/') || path.endsWith('/')) bad('a path neither starts nor ends with /')
  if (new TextEncoder().encode(path).length > MAX_PATH_BYTES) bad('the path is too long')
}

/** The alternatives of a pattern, each as the literal pieces around its stars. */
function parsePattern(pattern: string, bad: (detail: string) => never): string[][] {
  const alternatives: string[][] = []
  let pieces: string[] = []
  let piece = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '\\') {
      const next = pattern[i + 1]
      if (next !== '\\' && next !== '*' && next !== '|') bad(`a backslash escapes only \\, * and | (at character ${i + 1} of the pattern)`)
      piece += next
      i++
    } else if (c === '*') {
      pieces.push(piece)
      piece = ''
    } else if (c === '|') {
      pieces.push(piece)
      alternatives.push(pieces)
      pieces = []
      piece = ''
    } else {
      piece += c
    }
  }
  pieces.push(piece)
  alternatives.push(pieces)
  return alternatives
}
