import type { ErrorCode } from '@chatapp/contracts'

/**
 * A failure that no retry can fix (corrupt, unsupported, too many pixels, too long, too slow):
 * the job ends at once as `media.failed` with this code. Anything else thrown while processing is
 * treated as transient (S3 or NATS down) and retried with a delay, up to MEDIA_MAX_ATTEMPTS.
 */
export class PermanentFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'PermanentFailure'
  }
}

export const isPermanent = (e: unknown): e is PermanentFailure => e instanceof PermanentFailure

/** What to do with a job after an attempt, decided from the outcome and the attempt number. */
export type Settlement =
  | { action: 'ack'; outcome: 'ready' }
  | { action: 'fail'; code: ErrorCode; reason: string }
  | { action: 'retry'; delayMs: number }

/** Backoff for transient failures: 2 s, 4 s, 8 s … capped at a minute. */
export const retryDelayMs = (attempt: number): number => Math.min(60_000, 1000 * 2 ** Math.max(1, attempt))

export const settle = (error: unknown, attempt: number, maxAttempts: number): Settlement => {
  if (error === undefined) return { action: 'ack', outcome: 'ready' }
  if (isPermanent(error)) return { action: 'fail', code: error.code, reason: error.message.slice(0, 500) }
  if (attempt >= maxAttempts)
    return {
      action: 'fail',
      code: 'MEDIA_PROCESSING_FAILED',
      reason: `gave up after ${attempt} attempts: ${String((error as Error)?.message ?? error)}`.slice(
        0,
        500,
      ),
    }
  return { action: 'retry', delayMs: retryDelayMs(attempt) }
}
