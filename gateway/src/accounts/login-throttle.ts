/**
 * How failed logins slow further attempts on one username (issue 10 item 5, ADR 0140). Pure: the
 * record and the time are passed in; `account-limits.ts` keeps records in PostgreSQL so every
 * gateway sees the same count.
 *
 * A count is per username and *lane*: one lane for every device the account has never logged in
 * from (unknown usernames only have this one), and one per device it has. Guessing from anywhere
 * slows the shared lane; the owner's own devices keep their own lanes, so an attacker who does
 * not hold one of their device ids cannot lock them out however long they keep at it.
 */
export interface LoginThrottlePolicy {
  /** Failures in a row that cost nothing; the next attempt after the last of them waits. */
  freeFailures: number
  /** The longest wait, however many failures. */
  maxDelayMs: number
  /** A count whose last failure is this old starts again from zero. */
  forgetAfterMs: number
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottlePolicy = {
  freeFailures: 5,
  maxDelayMs: 15 * 60_000,
  forgetAfterMs: 24 * 3_600_000,
}

/** The wait after the `freeFailures`-th failure; each further one doubles it. */
export const FIRST_DELAY_MS = 1000

/** A lane's failures in a row, when the last one happened, and when the next attempt may come. */
export interface FailureRecord {
  failures: number
  lastAt: number
  nextAt: number
}

/** The wait after `failures` failures in a row. */
export const delayAfter = (failures: number, p: LoginThrottlePolicy): number =>
  failures < p.freeFailures ? 0 : Math.min(p.maxDelayMs, FIRST_DELAY_MS * 2 ** (failures - p.freeFailures))

export type Attempt = { ok: true; record: FailureRecord } | { ok: false; retryAfterMs: number }

/**
 * An attempt at `now`: refused, unchanged, while the lane waits (the password is not even
 * checked, so a guess then learns nothing); otherwise allowed and counted as a failure before the
 * password is checked — a success then deletes the record. Counting first makes each allowed
 * attempt take the lane's turn atomically: parallel guesses cannot all slip through one opening.
 */
export const attemptLogin = (r: FailureRecord | undefined, p: LoginThrottlePolicy, now: number): Attempt => {
  const current = r && now - r.lastAt <= p.forgetAfterMs ? r : undefined
  if (current && now < current.nextAt) return { ok: false, retryAfterMs: current.nextAt - now }
  const failures = (current?.failures ?? 0) + 1
  return { ok: true, record: { failures, lastAt: now, nextAt: now + delayAfter(failures, p) } }
}
