// Exponential backoff with "equal jitter" (the AWS Architecture Blog's "Exponential Backoff and Jitter"):
// attempt n waits a random time in [c/2, c), c = min(max, base * 2^n). Half of it is fixed, so retries
// really do slow down; the other half is random, so many collectors on one queue do not retry in lockstep.

export interface BackoffOptions {
  baseMs?: number
  maxMs?: number
}

export function backoffDelay(attempt: number, { baseMs = 100, maxMs = 30_000 }: BackoffOptions = {}): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30))
  return Math.floor(ceiling / 2 + (Math.random() * ceiling) / 2)
}

/**
 * Resolves after `ms`, or at once (to false) when `signal` aborts; true when the full time passed.
 * `unref`: the wait alone does not keep the process alive (for background checks).
 */
export function sleep(ms: number, signal?: AbortSignal, { unref = false } = {}): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    if (unref) timer.unref()
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** True when `promise` settles within `ms`; false on timeout. The timer never outlives the race. */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([promise.then(() => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}
