import { describe, expect, it } from 'vitest'
import { Ledger } from '../../src/sinks/ledger.ts'
import { recorder } from '../helpers/sink-harness.ts'

const bytes = (n: number) => new Uint8Array(n)

/** A ledger with a high-water mark of 100 bytes that counts its drains. */
function ledger() {
  const counts = { drains: 0 }
  return { ledger: new Ledger(100, () => counts.drains++), counts }
}

/** Whether a promise has resolved; read it after `await tick()`. */
function track(promise: Promise<void>): { resolved: boolean } {
  const state = { resolved: false }
  void promise.then(() => (state.resolved = true))
  return state
}
const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('Ledger', () => {
  it('confirms each write once, oldest first, and only as many as settle() is told', () => {
    const { ledger: l } = ledger()
    const { results, confirmFor } = recorder()
    for (let i = 0; i < 4; i++) l.add({ chunk: bytes(10), confirm: confirmFor(i) })
    l.settle(1, null)
    expect(results).toEqual([{ i: 0, err: null }])
    l.settle(2, null)
    expect(results.map((r) => r.i)).toEqual([0, 1, 2])
    expect(l.entries).toHaveLength(1)
    l.settle(5, null) // more than are pending: settles what there is
    expect(results).toEqual([0, 1, 2, 3].map((i) => ({ i, err: null })))
    expect(l.entries).toHaveLength(0)
  })

  it('keeps the entries a sink adds, in write order, and drops each as it is settled', () => {
    const l = new Ledger<{ chunk: Uint8Array; confirm: () => void; tag: string }>(100, () => {})
    const a = { chunk: bytes(1), confirm: () => {}, tag: 'a' }
    const b = { chunk: bytes(1), confirm: () => {}, tag: 'b' }
    l.add(a)
    l.add(b)
    expect(l.entries).toEqual([a, b])
    l.settle(1, null)
    expect(l.entries[0]).toBe(b)
  })

  it('returns false from the write that reaches the mark, and emits drain once when below it again', () => {
    const { ledger: l, counts } = ledger()
    expect(l.add({ chunk: bytes(60), confirm: () => {} })).toBe(true)
    expect(l.add({ chunk: bytes(40), confirm: () => {} })).toBe(false) // at the mark: 100 of 100
    expect(l.add({ chunk: bytes(30), confirm: () => {} })).toBe(false) // the caller may overshoot
    l.settle(1, null) // 70 left: below the mark
    expect(counts.drains).toBe(1)
    expect(l.add({ chunk: bytes(10), confirm: () => {} })).toBe(true) // 80
    l.settle(3, null)
    expect(counts.drains).toBe(1) // nobody was told to wait, so no second drain
  })

  it('does not emit drain while the bytes stay at or above the mark', () => {
    const { ledger: l, counts } = ledger()
    for (let i = 0; i < 3; i++) l.add({ chunk: bytes(50), confirm: () => {} })
    l.settle(1, null) // 100 left: still at the mark
    expect(counts.drains).toBe(0)
    expect(l.add({ chunk: bytes(1), confirm: () => {} })).toBe(false)
    l.settle(1, null)
    expect(counts.drains).toBe(1)
  })

  it('emits drain after the confirms of a settle, not between them', () => {
    const events: string[] = []
    const l = new Ledger(100, () => events.push('drain'))
    for (let i = 0; i < 3; i++) l.add({ chunk: bytes(50), confirm: () => events.push(`confirm ${i}`) })
    l.settle(3, null)
    expect(events).toEqual(['confirm 0', 'confirm 1', 'confirm 2', 'drain'])
  })

  it('resolves a flush at once when nothing is pending', async () => {
    const { ledger: l } = ledger()
    expect(l.flushing).toBe(false)
    await l.flush()
    l.add({ chunk: bytes(1), confirm: () => {} })
    l.settle(1, null)
    await l.flush()
    expect(l.flushing).toBe(false)
  })

  it('resolves each flush once the writes made before it are settled, not those made after', async () => {
    const { ledger: l } = ledger()
    l.add({ chunk: bytes(1), confirm: () => {} })
    l.add({ chunk: bytes(1), confirm: () => {} })
    const first = track(l.flush())
    expect(l.flushing).toBe(true)
    l.add({ chunk: bytes(1), confirm: () => {} })
    const second = track(l.flush())
    l.settle(1, null)
    await tick()
    expect(first.resolved).toBe(false)
    l.settle(1, null)
    await tick()
    expect([first.resolved, second.resolved]).toEqual([true, false])
    expect(l.flushing).toBe(true)
    l.settle(1, null)
    await tick()
    expect(second.resolved).toBe(true)
    expect(l.flushing).toBe(false)
  })

  it('counts failed writes as settled for flush', async () => {
    const { ledger: l } = ledger()
    const { results, confirmFor } = recorder()
    l.add({ chunk: bytes(1), confirm: confirmFor(0) })
    l.add({ chunk: bytes(1), confirm: confirmFor(1) })
    const flushed = track(l.flush())
    const gone = new Error('gone')
    l.settle(1, gone)
    await tick()
    expect(flushed.resolved).toBe(false) // one write still pending
    l.settle(1, gone)
    await tick()
    expect(flushed.resolved).toBe(true)
    expect(l.flushing).toBe(false)
    expect(results).toEqual([0, 1].map((i) => ({ i, err: gone })))
  })

  it('failAll fails every pending write with the error, in order, once, and wakes drain and flush', async () => {
    const { ledger: l, counts } = ledger()
    const { results, confirmFor } = recorder()
    for (let i = 0; i < 3; i++) l.add({ chunk: bytes(40), confirm: confirmFor(i) })
    const flushed = l.flush()
    const err = Object.assign(new Error('destroyed'), { code: 'ERR_SINK_CLOSED' })
    l.failAll(err)
    await flushed
    expect(results).toEqual([0, 1, 2].map((i) => ({ i, err })))
    expect(counts.drains).toBe(1)
    l.failAll(err) // nothing left: a second destroy confirms nothing again
    expect(results).toHaveLength(3)
    expect(l.entries).toHaveLength(0)
  })

  it('lets a confirm write again: the new write queues behind the ones being settled', () => {
    const { ledger: l } = ledger()
    const order: string[] = []
    l.add({
      chunk: bytes(1),
      confirm: () => {
        order.push('a')
        l.add({ chunk: bytes(1), confirm: () => order.push('c') })
      },
    })
    l.add({ chunk: bytes(1), confirm: () => order.push('b') })
    l.settle(2, null)
    expect(order).toEqual(['a', 'b'])
    l.settle(1, null)
    expect(order).toEqual(['a', 'b', 'c'])
  })

  it('lets a confirm fail everything (a destroy from a callback): the rest fail, none twice', () => {
    const { ledger: l } = ledger()
    const { results, confirmFor } = recorder()
    const closed = new Error('closed')
    l.add({
      chunk: bytes(1),
      confirm: (err) => {
        confirmFor(0)(err)
        l.failAll(closed)
      },
    })
    for (let i = 1; i < 3; i++) l.add({ chunk: bytes(1), confirm: confirmFor(i) })
    l.settle(3, null)
    expect(results).toEqual([
      { i: 0, err: null },
      { i: 1, err: closed },
      { i: 2, err: closed },
    ])
  })
})
