/** Reconnect delays: exponential with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"). */
export interface BackoffOptions {
  /** Ceiling of the first delay, ms. */
  baseMs: number
  /** Largest ceiling, ms. */
  maxMs: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 30_000 }

/** The ceiling for a 0-based attempt: base·2^attempt, capped. */
export const backoffCeiling = (attempt: number, o: BackoffOptions): number =>
  Math.min(o.maxMs, o.baseMs * 2 ** Math.min(attempt, 30))

/**
 * Full jitter: uniform in [0, ceiling). Spreading reconnects over the whole window is what keeps
 * thousands of clients of a restarted gateway from reconnecting in lockstep.
 * `random` is passed in so the schedule is testable.
 */
export const backoffDelay = (
  attempt: number,
  o: BackoffOptions,
  random: () => number = Math.random,
): number => Math.floor(random() * backoffCeiling(attempt, o))
