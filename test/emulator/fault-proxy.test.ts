// The fault lists of the harness: a share of requests gets one of the transient faults, drawn from the
// random source given; GetQueueAttributes is never faulted; an SQS answer is reset rather than cut.

import { describe, expect, it } from 'vitest'
import { faultShare, transientFaults, type ProxiedRequest } from '../../src/emulator/fault-proxy.ts'

const request = (service: 'sqs' | 's3', action: string): ProxiedRequest => ({ service, action, path: '/', headers: {} })

/** A seeded LCG, as the reliability suite uses. */
function lcg(seed: number): () => number {
  let state = seed
  return () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
}

describe('fault lists', () => {
  it('lists the transient faults, a cut body only when asked', () => {
    expect(transientFaults().map((f) => f.kind)).toEqual(['error', 'error', 'reset', 'delay', 'cut'])
    expect(transientFaults({ delayMs: 2000, cutAfter: false })).toEqual([
      { kind: 'error', status: 500, code: 'InternalError' },
      { kind: 'error', status: 503, code: 'SlowDown' },
      { kind: 'reset' },
      { kind: 'delay', ms: 2000 },
    ])
  })

  it('faults about the share asked, the same ones for the same seed, never GetQueueAttributes, and resets SQS instead of cutting', () => {
    const draw = (seed: number) => {
      const rule = faultShare(0.25, transientFaults(), lcg(seed))
      return Array.from({ length: 4000 }, (_, i) => rule(i % 2 ? request('s3', 'GET') : request('sqs', 'ReceiveMessage')).kind)
    }
    const kinds = draw(12345)
    expect(draw(12345)).toEqual(kinds)
    const faulted = kinds.filter((k) => k !== 'pass').length
    expect(faulted / kinds.length).toBeGreaterThan(0.2)
    expect(faulted / kinds.length).toBeLessThan(0.3)
    expect(kinds.filter((k, i) => i % 2 === 0 && k === 'cut')).toEqual([])
    expect(kinds.some((k, i) => i % 2 === 1 && k === 'cut')).toBe(true)
    const always = faultShare(1, transientFaults(), lcg(1))
    for (let i = 0; i < 50; i++) expect(always(request('sqs', 'GetQueueAttributes')).kind).toBe('pass')
  })
})
