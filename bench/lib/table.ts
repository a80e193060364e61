// Result tables as Markdown: readable in a terminal as they are, and pasted into the README unchanged.
// Cells that are numbers (after formatting: "12,345", "1.8×", "-3 %") are right-aligned. Pure; tested in
// test/bench/table.test.ts.

export type Cell = string | number | null | undefined

const NUMERIC = /^[+-]?[\d,]*\.?\d+(?:e[+-]?\d+)?\s*(?:×|%|[a-zA-Zµ/]{1,6})?$/

function text(cell: Cell): string {
  if (cell === null || cell === undefined || (typeof cell === 'number' && Number.isNaN(cell))) return '–'
  return String(cell).replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

/** A Markdown table; every row must have one cell per header. */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  for (const [i, row] of rows.entries()) {
    if (row.length !== headers.length) throw new RangeError(`row ${i} has ${row.length} cells, expected ${headers.length}`)
  }
  const cells = rows.map((row) => row.map(text))
  const right = headers.map((_, c) => cells.length > 0 && cells.every((row) => row[c] === '–' || NUMERIC.test(row[c])))
  const width = headers.map((h, c) => Math.max(3, [...h].length, ...cells.map((row) => [...row[c]].length)))
  const pad = (s: string, c: number) => (right[c] ? s.padStart(width[c] + s.length - [...s].length) : s.padEnd(width[c] + s.length - [...s].length))
  const line = (row: readonly string[]) => `| ${row.map(pad).join(' | ')} |`
  const rule = `|${width.map((w, c) => (right[c] ? ` ${'-'.repeat(w - 1)}: ` : ` ${'-'.repeat(w)} `)).join('|')}|`
  return [line(headers.map(text)), rule, ...cells.map(line)].join('\n')
}

/** 123456.7 -> "123,457". */
export function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–'
}

/** A number with `digits` decimals ("–" when not finite). */
export function fixed(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '–'
}

/** A ratio as "1.83×". */
export function times(n: number, digits = 2): string {
  return Number.isFinite(n) ? `${n.toFixed(digits)}×` : '–'
}

/** Bytes as MiB, no decimals. */
export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${Math.round(bytes / 2 ** 20)}` : '–'
}
