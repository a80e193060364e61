// The retry policies, one per dependency (SQS, S3, STS, the sink), and the only place that says how often an
// operation is tried and how long it waits in between. README "Failure handling", "Retries", has them as a table.
//
// Each attempt is one request: the SDK's own retries are off (clients.ts), so that nothing retries under a
// policy and the totals below are all there is (the collector used to stack its loops on the SDK's three
// attempts: up to 9 GETs per object, 15 DeleteMessageBatch calls per batch).
//
// The waits: the n-th wait (n from 1) is drawn from [firstMs · 2^(n-1), 2 · firstMs · 2^(n-1)), then capped
// at maxMs: half of it fixed, so that retries really slow down, half random, so that collectors hit by
// one outage spread out. At the cap every wait is maxMs (p-retry draws before it caps); collectors are
// no longer in step by then, each having drawn its way up.
//
// p-retry rather than cockatiel: p-retry's wait between attempts ends when the signal aborts (cockatiel
// 4's waits its timer out, so a shutdown would sit out a 30 s backoff), and its onFailedAttempt is
// awaited, which is where a destination's Retry-After is waited instead of the backoff. p-retry never
// retries a TypeError other than a network one; here the policy decides that too (withRetry hands it a
// TypeError wrapped), as the loops it replaces did: a sink keeps trying whatever fails.

import { setTimeout as wait } from 'node:timers/promises'
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry'
import pRetry from 'p-retry'

export interface RetryPolicy {
  /** Tries in all, the first included; Infinity: until it succeeds or the signal aborts. */
  readonly attempts: number
  /** The first wait is drawn from [firstMs, 2 · firstMs); each next one doubles. */
  readonly firstMs: number
  /** No wait is longer. */
  readonly maxMs: number
}

export const SQS = {
  /** A ReceiveMessage loop: every failure, for ever (the loop is the collector's life), 250 ms–30 s apart. */
  receive: { attempts: Infinity, firstMs: 250, maxMs: 30_000 },
  /** A DeleteMessageBatch and the entries SQS failed on its side: every failure, 5 calls over ~1.5–3 s; then the messages are delivered again. */
  delete: { attempts: 5, firstMs: 100, maxMs: 5000 },
  /** GetQueueAttributes at start: every failure but a missing queue or refused credentials, 5 calls over ~7.5–15 s; then the collector exits. */
  startup: { attempts: 5, firstMs: 500, maxMs: 8000 },
  /**
   * A call with nothing of its own to fall back on (a hand-back, a visibility change, a queue poll): what the
   * SDK retried (throttling, 5xx, the network, a clock it corrected), 3 calls, 50–100 then 100–200 ms apart.
   */
  call: { attempts: 3, firstMs: 50, maxMs: 20_000 },
} as const satisfies Record<string, RetryPolicy>

/**
 * One object: its GET (or the HEAD that tells a wrong bucket owner from a missing permission), for every
 * failure but a missing object or bucket and a refusal (fetcher.ts), 4 requests over ~0.7–1.4 s; then the
 * message goes back to SQS for its backoff (acker.ts).
 */
export const S3_OBJECT: RetryPolicy = { attempts: 4, firstMs: 100, maxMs: 20_000 }

/**
 * AssumeRole for a source's role (aws/credentials.ts): one call at a time, never retried within the call;
 * after a failure the next call waits 1–2 s, doubling up to 1 min, for as long as the source lives. While
 * the old credentials are valid they are served meanwhile; once they have expired, a caller between two
 * attempts gets the last failure at once (STS is not called for every GET).
 */
export const STS_ASSUME_ROLE: RetryPolicy = { attempts: Infinity, firstMs: 1000, maxMs: 60_000 }

/** A sink's write: every failure, until the destination takes it or the sink is destroyed, 50–100 ms up to `maxMs` apart. */
export function sinkPolicy(maxMs: number): RetryPolicy {
  return { attempts: Infinity, firstMs: 50, maxMs }
}

/** What the SDK's standard retry strategy retried: throttling, transient errors (the network, a corrected clock), 5xx. */
export function sdkRetryable(err: unknown): boolean {
  const e = err as Parameters<typeof isTransientError>[0]
  return typeof err === 'object' && err !== null && (isThrottlingError(e) || isTransientError(e) || isServerError(e))
}

export interface RetryOptions {
  /** Ends the wait (and the retries) at once; the promise then rejects with the signal's reason. */
  signal?: AbortSignal
  /** Whether a failure is worth another attempt; by default every one. */
  retryable?: (err: unknown) => boolean
  /** A failure that will be tried again (attempt counts from 1), with the wait before the next try: for the logs. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void
  /** A wait the dependency asked for (Retry-After), taken instead of the backoff, which then does not grow. */
  askedWaitMs?: (err: unknown) => number | undefined
  /** The waits alone do not keep the process alive (background checks). */
  unref?: boolean
}

/** Runs `fn` (given the attempt, from 1) under `policy`; rejects with the last failure once the policy gives up. */
export function withRetry<T>(policy: RetryPolicy, fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { signal, retryable: retryableAs = () => true, onRetry, askedWaitMs: askedAs, unref = false } = options
  const retryable = (err: unknown) => retryableAs(unwrap(err))
  const askedWaitMs = askedAs && ((err: unknown) => askedAs(unwrap(err)))
  const attempt = async (n: number) => {
    try {
      return await fn(n)
    } catch (err) {
      throw err instanceof TypeError ? new Wrapped(err) : err
    }
  }
  return pRetry(attempt, {
    retries: policy.attempts - 1,
    factor: 2,
    minTimeout: policy.firstMs,
    maxTimeout: policy.maxMs,
    randomize: true,
    signal,
    unref,
    shouldConsumeRetry: ({ error }) => askedWaitMs?.(error) === undefined,
    shouldRetry: ({ error }) => retryable(error),
    onFailedAttempt: async ({ error, attemptNumber, retriesLeft, retryDelay }) => {
      if (retriesLeft <= 0 || !retryable(error)) return
      const asked = askedWaitMs?.(error)
      onRetry?.(unwrap(error), attemptNumber, asked ?? retryDelay)
      // node:timers/promises rejects with an AbortError of its own: the signal's reason instead, as p-retry does.
      if (asked !== undefined) await wait(asked, undefined, { signal, ref: !unref }).catch((err: unknown) => (signal?.throwIfAborted(), Promise.reject(err)))
    },
  }).catch((err: unknown) => Promise.reject(unwrap(err)))
}

/** A TypeError thrown by an attempt, carried past p-retry's own rule for TypeErrors (see the top). */
class Wrapped extends Error {
  constructor(readonly inner: TypeError) {
    super(inner.message)
    this.name = 'Wrapped'
  }
}

function unwrap(err: unknown): unknown {
  return err instanceof Wrapped ? err.inner : err
}

/**
 * The wait before the next attempt after `failures` failures in a row (from 1), as withRetry draws it: for
 * a retry loop driven by events rather than by a call to repeat (the syslog sink's reconnects, the HTTP
 * sink's reachability probe).
 */
export function retryDelayMs(policy: RetryPolicy, failures: number): number {
  const drawn = Math.round((Math.random() + 1) * policy.firstMs * 2 ** Math.min(Math.max(failures - 1, 0), 30))
  return Math.min(drawn, policy.maxMs)
}
