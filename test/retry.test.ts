import { describe, expect, it } from 'vitest'
import { retryDelayMs, S3_OBJECT, sdkRetryable, sinkPolicy, SQS, STS_ASSUME_ROLE, withRetry, type RetryPolicy } from '../src/retry.ts'

const fast: RetryPolicy = { attempts: 4, firstMs: 5, maxMs: 1000 }

/** An operation that fails `failures` times, then answers 'ok'; counts its calls. */
function flaky(failures: number, error: () => unknown = () => new Error('down')) {
  const calls: number[] = []
  return {
    calls,
    fn: async (attempt: number) => {
      calls.push(attempt)
      if (calls.length <= failures) throw error()
      return 'ok'
    },
  }
}

describe('withRetry', () => {
  it('tries again until it succeeds, within the attempts, reporting each retry with its wait', async () => {
    const op = flaky(3)
    const retries: [number, number][] = []
    expect(await withRetry(fast, op.fn, { onRetry: (_err, attempt, delayMs) => retries.push([attempt, delayMs]) })).toBe('ok')
    expect(op.calls).toEqual([1, 2, 3, 4])
    expect(retries.map(([a]) => a)).toEqual([1, 2, 3])
    // Waits drawn from [firstMs · 2^(n-1), 2 · firstMs · 2^(n-1)).
    retries.forEach(([attempt, delayMs]) => {
      expect(delayMs).toBeGreaterThanOrEqual(5 * 2 ** (attempt - 1))
      expect(delayMs).toBeLessThanOrEqual(10 * 2 ** (attempt - 1))
    })
  })

  it('gives up after its attempts with the last failure, and does not report the last one as a retry', async () => {
    let n = 0
    const op = flaky(10, () => new Error(`down ${++n}`))
    let reported = 0
    await expect(withRetry(fast, op.fn, { onRetry: () => reported++ })).rejects.toThrow('down 4')
    expect(op.calls).toHaveLength(fast.attempts)
    expect(reported).toBe(fast.attempts - 1)
  })

  it('does not retry what the policy says is permanent', async () => {
    const op = flaky(10, () => Object.assign(new Error('gone'), { code: 'NoSuchKey' }))
    await expect(withRetry(fast, op.fn, { retryable: (err) => (err as { code?: string }).code !== 'NoSuchKey' })).rejects.toThrow('gone')
    expect(op.calls).toHaveLength(1)
  })

  it('an abort ends the wait at once and rejects with its reason', async () => {
    const ac = new AbortController()
    const op = flaky(10)
    const run = withRetry({ attempts: Infinity, firstMs: 10_000, maxMs: 30_000 }, op.fn, { signal: ac.signal })
    await new Promise((r) => setTimeout(r, 20))
    const started = Date.now()
    ac.abort(new Error('shutdown'))
    await expect(run).rejects.toThrow('shutdown')
    expect(Date.now() - started).toBeLessThan(1000)
    expect(op.calls).toHaveLength(1)
  })

  it('waits what the dependency asked for instead of the backoff, and ends that wait on abort too', async () => {
    const asked = Object.assign(new Error('busy'), { retryAfterMs: 120 })
    const op = flaky(1, () => asked)
    const started = Date.now()
    const delays: number[] = []
    const options = { askedWaitMs: (err: unknown) => (err as { retryAfterMs?: number }).retryAfterMs, onRetry: (_e: unknown, _a: number, d: number) => delays.push(d) }
    expect(await withRetry({ attempts: 2, firstMs: 5, maxMs: 10 }, op.fn, options)).toBe('ok')
    expect(Date.now() - started).toBeGreaterThanOrEqual(110)
    expect(delays).toEqual([120])

    const ac = new AbortController()
    const long = flaky(10, () => Object.assign(new Error('busy'), { retryAfterMs: 60_000 }))
    const run = withRetry(sinkPolicy(30_000), long.fn, { ...options, signal: ac.signal })
    await new Promise((r) => setTimeout(r, 20))
    ac.abort(new Error('destroyed'))
    await expect(run).rejects.toThrow('destroyed')
    expect(long.calls).toHaveLength(1)
  })
})

describe('the policies', () => {
  it('bound every operation but the ones that must go on (receives, sink writes)', () => {
    expect(S3_OBJECT.attempts).toBe(4)
    expect(SQS.delete.attempts).toBe(5)
    expect(SQS.startup.attempts).toBe(5)
    expect(SQS.call.attempts).toBe(3)
    expect(SQS.receive.attempts).toBe(Infinity)
    expect(sinkPolicy(30_000)).toMatchObject({ attempts: Infinity, maxMs: 30_000 })
    // AssumeRole is tried again for as long as the source lives, at most a minute apart (credentials.ts).
    expect(STS_ASSUME_ROLE).toMatchObject({ attempts: Infinity, firstMs: 1000, maxMs: 60_000 })
  })

  it('retryDelayMs draws as withRetry does: doubling, jittered, capped', () => {
    const policy = sinkPolicy(5000)
    for (let failures = 1; failures < 12; failures++) {
      const floor = 50 * 2 ** (failures - 1)
      for (let i = 0; i < 100; i++) {
        const d = retryDelayMs(policy, failures)
        expect(d).toBeGreaterThanOrEqual(Math.min(floor, 5000))
        expect(d).toBeLessThanOrEqual(Math.min(2 * floor, 5000))
      }
    }
    const spread = new Set(Array.from({ length: 50 }, () => retryDelayMs(policy, 6)))
    expect(spread.size).toBeGreaterThan(10)
  })

  it("sdkRetryable takes what the SDK's standard strategy retried", () => {
    const meta = (status: number) => ({ $metadata: { httpStatusCode: status } })
    expect(sdkRetryable(Object.assign(new Error('x'), { name: 'ThrottlingException' }, meta(400)))).toBe(true)
    expect(sdkRetryable(Object.assign(new Error('x'), { name: 'InternalError' }, meta(500)))).toBe(true)
    expect(sdkRetryable(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true)
    expect(sdkRetryable(Object.assign(new Error('skew'), { name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403, clockSkewCorrected: true } }))).toBe(true)
    expect(sdkRetryable(Object.assign(new Error('x'), { name: 'QueueDoesNotExist' }, meta(400)))).toBe(false)
    expect(sdkRetryable(Object.assign(new Error('x'), { name: 'AbortError' }))).toBe(false)
    expect(sdkRetryable('not an error')).toBe(false)
  })
})

describe('withRetry and TypeErrors', () => {
  it('leaves a TypeError to the policy (p-retry alone would give up at once), and rejects with it unchanged', async () => {
    const bug = new TypeError('not a function')
    const op = flaky(2, () => bug)
    const seen: unknown[] = []
    expect(await withRetry(fast, op.fn, { onRetry: (err) => seen.push(err) })).toBe('ok')
    expect(op.calls).toHaveLength(3)
    expect(seen).toEqual([bug, bug])

    const always = flaky(10, () => bug)
    await expect(withRetry(fast, always.fn, { retryable: (err) => !(err instanceof TypeError) })).rejects.toBe(bug)
    expect(always.calls).toHaveLength(1)
  })
})
