// Admission to the processor, alone: the three bounds (objects fetched or parsed, objects not yet settled,
// bytes not yet confirmed), the order in which waiting objects start, and idleness.

import { describe, expect, it } from 'vitest'
import { MAX_UNCONFIRMED_BYTES, Slots, UNCONFIRMED_PER_SLOT } from '../../src/pipeline/slots.ts'

/** Acquires one slot and reports whether it was granted by the time pending callbacks have run. */
function tryAcquire(slots: Slots): { granted: () => boolean; done: Promise<void> } {
  let granted = false
  const done = slots.acquire().then(() => {
    granted = true
  })
  return { granted: () => granted, done }
}

/** Lets every promise callback queued so far run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('Slots', () => {
  it('admits maxObjectsInFlight objects at once and the next one when a fetch finishes', async () => {
    const slots = new Slots(3)
    const first = Array.from({ length: 3 }, () => tryAcquire(slots))
    const next = tryAcquire(slots)
    await settle()
    expect(first.map((a) => a.granted())).toEqual([true, true, true])
    expect(next.granted()).toBe(false)
    expect(slots.inFlight).toBe(3)
    slots.release()
    await next.done
    expect(slots.inFlight).toBe(4)
  })

  it('bounds the objects whose output waits for the sink to maxObjectsInFlight x (1 + UNCONFIRMED_PER_SLOT)', async () => {
    const max = 2
    const bound = max * (1 + UNCONFIRMED_PER_SLOT)
    const slots = new Slots(max)
    // Every object fetched and parsed, none confirmed: the fetch slots are free, the settled bound is not.
    for (let i = 0; i < bound; i++) {
      await slots.acquire()
      slots.release()
    }
    expect(slots.inFlight).toBe(bound)
    const next = tryAcquire(slots)
    await settle()
    expect(next.granted()).toBe(false)
    slots.settle()
    await next.done
    expect(slots.inFlight).toBe(bound)
  })

  it('starts nothing while the unconfirmed bytes reach the bound, and starts again once the sink confirms', async () => {
    const slots = new Slots(4, 1000)
    await slots.acquire()
    slots.hold(600)
    slots.hold(400)
    expect(slots.unconfirmedBytes).toBe(1000)
    const next = tryAcquire(slots)
    await settle()
    expect(next.granted()).toBe(false)
    slots.confirmed(1)
    await next.done
    expect(slots.unconfirmedBytes).toBe(999)
  })

  it('takes MAX_UNCONFIRMED_BYTES when no byte bound is given', async () => {
    const slots = new Slots(1)
    slots.hold(MAX_UNCONFIRMED_BYTES - 1)
    await slots.acquire()
    slots.release()
    slots.hold(1)
    const next = tryAcquire(slots)
    await settle()
    expect(next.granted()).toBe(false)
    slots.confirmed(1)
    await next.done
  })

  it('starts waiting objects in the order they arrived', async () => {
    const slots = new Slots(1)
    await slots.acquire()
    const order: string[] = []
    const waiting = ['a', 'b', 'c'].map((name) => slots.acquire().then(() => order.push(name)))
    slots.release()
    await settle()
    // One arriving after 'a' started queues behind 'b' and 'c'.
    const late = slots.acquire().then(() => order.push('late'))
    for (let i = 0; i < 3; i++) {
      slots.release()
      await settle()
    }
    await Promise.all([...waiting, late])
    expect(order).toEqual(['a', 'b', 'c', 'late'])
  })

  it('is idle at once with nothing in flight, and once the last object settles', async () => {
    const slots = new Slots(2)
    let idle = false
    await slots.whenIdle()
    await slots.acquire()
    await slots.acquire()
    const whenIdle = slots.whenIdle().then(() => {
      idle = true
    })
    slots.release()
    slots.release()
    slots.settle()
    await settle()
    expect(idle).toBe(false)
    slots.settle()
    await whenIdle
    expect(slots.inFlight).toBe(0)
  })
})
