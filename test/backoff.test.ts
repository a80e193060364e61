import { describe, expect, it } from 'vitest'
import { backoffDelay, sleep, within } from '../src/backoff.ts'

describe('backoff', () => {
  it('grows exponentially, stays within [ceiling/2, ceiling) and under the cap', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(5000, 100 * 2 ** attempt)
      for (let i = 0; i < 200; i++) {
        const d = backoffDelay(attempt, { baseMs: 100, maxMs: 5000 })
        expect(d).toBeGreaterThanOrEqual(Math.floor(ceiling / 2))
        expect(d).toBeLessThan(ceiling)
      }
    }
  })

  it('jitters, so that collectors do not retry in lockstep', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(6, { baseMs: 100, maxMs: 30_000 })))
    expect(delays.size).toBeGreaterThan(10)
  })

  it('sleep ends early on abort; within() reports timeouts and clears its timer', async () => {
    const ac = new AbortController()
    const started = Date.now()
    const slept = sleep(10_000, ac.signal)
    ac.abort()
    expect(await slept).toBe(false)
    expect(Date.now() - started).toBeLessThan(1000)
    expect(await within(new Promise((r) => setTimeout(r, 10)), 1000)).toBe(true)
    expect(await within(new Promise(() => {}), 20)).toBe(false)
  })
})
