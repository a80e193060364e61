import { describe, expect, it } from 'vitest'
import { fixed, formatTable, int, mib, times } from '../../bench/lib/table.ts'

describe('formatTable', () => {
  it('writes an aligned Markdown table, numbers right-aligned', () => {
    const table = formatTable(
      ['subject', 'records/s', 'ratio'],
      [
        ['floor', '100,000', '1.00×'],
        ['parse --threads 2', '180,500', '1.81×'],
      ],
    )
    expect(table.split('\n')).toEqual([
      '| subject           | records/s | ratio |',
      '| ----------------- | --------: | ----: |',
      '| floor             |   100,000 | 1.00× |',
      '| parse --threads 2 |   180,500 | 1.81× |',
    ])
  })

  it('shows missing values as a dash, escapes pipes and newlines', () => {
    const table = formatTable(['a', 'b'], [[null, 'x|y\nz'], [NaN, undefined]])
    expect(table).toContain('|   – | x\\|y z |')
    expect(table.split('\n')[1]).toBe('| --: | ------ |')
  })

  it('left-aligns a column as soon as one cell is not a number', () => {
    const table = formatTable(['v'], [['12'], ['sustained']])
    expect(table.split('\n')[1]).toBe('| --------- |')
  })

  it('keeps the table aligned with multi-byte characters', () => {
    const lines = formatTable(['µs/record', 'x'], [['1.5', 'é']]).split('\n')
    const widths = lines.map((l) => [...l].length)
    expect(new Set(widths).size).toBe(1)
  })

  it('rejects rows of the wrong length', () => {
    expect(() => formatTable(['a', 'b'], [['1']])).toThrow(/row 0 has 1 cells, expected 2/)
  })

  it('formats numbers', () => {
    expect(int(1234567.6)).toBe('1,234,568')
    expect(int(NaN)).toBe('–')
    expect(fixed(1.005, 1)).toBe('1.0')
    expect(fixed(Infinity)).toBe('–')
    expect(times(1.834)).toBe('1.83×')
    expect(mib(3 * 2 ** 20)).toBe('3')
  })
})
