// Waits that end early: sleep() on an AbortSignal (node:timers/promises underneath), within() on a deadline.
// The waits between retries are the policies' (retry.ts).

import { setTimeout as wait } from 'node:timers/promises'

/**
 * Resolves after `ms`, or at once (to false) when `signal` aborts; true when the full time passed.
 * `unref`: the wait alone does not keep the process alive (for background checks).
 */
export async function sleep(ms: number, signal?: AbortSignal, { unref = false } = {}): Promise<boolean> {
  if (signal?.aborted) return false
  try {
    await wait(ms, undefined, { signal, ref: !unref })
    return true
  } catch (err) {
    if (signal?.aborted) return false
    throw err
  }
}

/** True when `promise` settles within `ms`; false on timeout. The timer never outlives the race. */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const deadline = new AbortController()
  const timeout = wait(ms, false, { signal: deadline.signal }).catch(() => false)
  try {
    return await Promise.race([promise.then(() => true), timeout])
  } finally {
    deadline.abort()
  }
}
