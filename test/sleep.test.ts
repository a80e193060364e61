import { describe, expect, it } from 'vitest'
import { sleep, within } from '../src/sleep.ts'

describe('sleep and within', () => {
  it('sleep resolves true after its time, and false at once when the signal aborts (or had)', async () => {
    const started = Date.now()
    expect(await sleep(30)).toBe(true)
    expect(Date.now() - started).toBeGreaterThanOrEqual(25)

    const ac = new AbortController()
    const slept = sleep(10_000, ac.signal)
    ac.abort()
    const aborted = Date.now()
    expect(await slept).toBe(false)
    expect(Date.now() - aborted).toBeLessThan(1000)
    expect(await sleep(10_000, ac.signal)).toBe(false)
  })

  it('within() reports timeouts, and passes a rejection on', async () => {
    expect(await within(new Promise((r) => setTimeout(r, 10)), 1000)).toBe(true)
    expect(await within(new Promise(() => {}), 20)).toBe(false)
    await expect(within(Promise.reject(new Error('boom')), 1000)).rejects.toThrow('boom')
  })
})
