import { describe, expect, it } from 'vitest'
import { Ring } from '../../src/pipeline/ring.ts'

describe('Ring', () => {
  it('rejects capacities that are not powers of two', () => {
    for (const bad of [0, 3, 6, -4, 1.5]) expect(() => new Ring(bad)).toThrow(RangeError)
    expect(new Ring(1).capacity).toBe(1)
    expect(new Ring(64).capacity).toBe(64)
  })

  it('is FIFO across wrap-around, and push returns false when full', () => {
    const ring = new Ring<number>(4)
    let next = 0
    let expected = 0
    for (let round = 0; round < 10; round++) {
      while (ring.push(next)) next++
      expect(ring.size).toBe(4)
      expect(ring.free).toBe(0)
      expect(ring.push(999)).toBe(false)
      for (let i = 0; i < 3; i++) expect(ring.shift()).toBe(expected++)
    }
    expect(ring.size).toBe(1)
    expect(ring.shift()).toBe(expected)
    expect(ring.shift()).toBeUndefined()
  })

  it('reserves room so receivers never ask for more than fits', () => {
    const ring = new Ring<string>(8)
    expect(ring.reserve(10)).toBe(8) // a receiver asks for min(10, room)
    expect(ring.reserve(10)).toBe(0) // a second receiver gets nothing while the first is out
    expect(ring.free).toBe(0)
    expect(ring.push('a')).toBe(true) // uses a reserved slot
    expect(ring.push('b')).toBe(true)
    ring.release(6) // only two messages came back
    expect(ring.size).toBe(2)
    expect(ring.reserved).toBe(0)
    expect(ring.free).toBe(6)
    expect(ring.reserve(10)).toBe(6)
  })

  it('wakes waiters for space and for items', async () => {
    const ring = new Ring<number>(2)
    ring.push(1)
    ring.push(2)
    let spaced = false
    const space = ring.waitForSpace().then(() => (spaced = true))
    await Promise.resolve()
    expect(spaced).toBe(false)
    ring.shift()
    await space
    expect(spaced).toBe(true)

    const empty = new Ring<number>(2)
    let got = false
    const item = empty.waitForItem().then(() => (got = true))
    await Promise.resolve()
    expect(got).toBe(false)
    empty.push(7)
    await item
    expect(got).toBe(true)
  })

  it('lets an abort signal end a wait', async () => {
    const ring = new Ring<number>(1)
    const ac = new AbortController()
    const waiting = ring.waitForItem(ac.signal)
    ac.abort()
    await expect(waiting).resolves.toBeUndefined()
    expect(ring.size).toBe(0)
  })
})
