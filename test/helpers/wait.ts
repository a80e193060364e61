// Polling waits for the tests, on vitest's vi.waitUntil and vi.waitFor: waitUntil for a synchronous
// predicate over state the test can see, waitFor for an asynchronous probe (an HTTP endpoint, a log line)
// whose value the caller wants back. Both keep the suites' defaults (8 s polled every 10 ms; 20 s polled every
// 250 ms) and name what was awaited when they time out, which vitest's bare "Timed out in waitUntil!" does not.
import { vi } from 'vitest'

/** Resolves once `predicate()` holds; polls, so it works for any state. Rejects after `timeoutMs`. */
export async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  await vi.waitUntil(predicate, { timeout: timeoutMs, interval: 10, message: `timed out waiting for ${what}` })
}

/** Polls `probe` until it returns something other than undefined/false; rejects after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000, everyMs = 250): Promise<T> {
  const ready = async (): Promise<T> => {
    const value = await probe()
    if (value === undefined || value === false) throw new Error('not yet')
    return value
  }
  // vi.waitFor retries while the callback throws and, at the timeout, rejects with its last error prefixed.
  return vi.waitFor(ready, { timeout: timeoutMs, interval: everyMs, message: `timed out waiting for ${what}` })
}
