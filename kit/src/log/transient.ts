import { ChatError } from '@chatapp/contracts'
import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream'
import { ConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/nats-core'

/**
 * Whether a NATS or JetStream failure can go away by itself: a timeout, no responders (the
 * stream has no leader while one is elected, 5–8 s after a node dies), a lost connection that
 * the client is re-establishing, or a JetStream 5xx ("temporarily unavailable"). Such failures
 * are retried within a bound and then reported as UNAVAILABLE, never as INTERNAL.
 */
export const isTransient = (e: unknown): boolean => {
  if (e instanceof TimeoutError || e instanceof NoRespondersError || e instanceof ConnectionError) return true
  if (e instanceof RequestError) return true
  if (e instanceof JetStreamApiError) return e.status >= 500 || e.status === 408
  // Status errors of pulls and direct gets (408 request timeout, 409 leadership change, 503).
  if (e instanceof JetStreamError) return /timeout|no responders|leadership|unavailable/i.test(e.message)
  // A server still starting (or one that lost its JetStream meta leader) says it is not enabled.
  return e instanceof Error && /jetstream (is )?not enabled|temporarily unavailable/i.test(e.message)
}

export interface RetryOptions {
  /** Give up (UNAVAILABLE) once this much time has passed since the first attempt. */
  deadlineMs: number
  /** First pause; it doubles up to `maxPauseMs`, with jitter. */
  firstPauseMs?: number
  maxPauseMs?: number
  /** Told of each transient failure before the pause (metrics, logs). */
  onRetry?: (err: unknown, attempt: number) => void
  now?: () => number
}

/** What a caller should wait before trying again after `unavailable` (the client's backoff hint). */
export const RETRY_AFTER_MS = 1_000

/** The error a bounded retry ends with: retryable, with a hint, keeping the last cause. */
export const unavailable = (what: string, cause: unknown): ChatError =>
  new ChatError('UNAVAILABLE', `${what} is unavailable; retry`, { cause, retryAfterMs: RETRY_AFTER_MS })

/**
 * Runs `f` until it succeeds, fails with a non-transient error (rethrown as is), or the deadline
 * passes (UNAVAILABLE). `f` must be safe to repeat: an append repeats with the same Msg-Id and
 * expectation, a read is a read.
 */
export const withRetry = async <T>(
  what: string,
  f: (attempt: number) => Promise<T>,
  o: RetryOptions,
): Promise<T> => {
  const now = o.now ?? Date.now
  const started = now()
  let pause = o.firstPauseMs ?? 50
  const maxPause = o.maxPauseMs ?? 1_000
  for (let attempt = 0; ; attempt++) {
    try {
      return await f(attempt)
    } catch (e) {
      if (!isTransient(e)) throw e
      o.onRetry?.(e, attempt)
      const left = o.deadlineMs - (now() - started)
      if (left <= 0) throw unavailable(what, e)
      await new Promise((r) => setTimeout(r, Math.min(left, pause * (0.5 + Math.random() / 2))))
      pause = Math.min(maxPause, pause * 2)
    }
  }
}
