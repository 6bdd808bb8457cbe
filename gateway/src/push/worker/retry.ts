/** How a push service's (or relay's) answer is taken (ADR 0191). */
export type Outcome =
  | { kind: 'accepted' }
  /** 404/410: the subscription is gone for good; the target dies. */
  | { kind: 'gone'; status: number }
  /** 429, 5xx, a timeout or a broken connection: worth retrying after `retryAfterMs` if given. */
  | { kind: 'retry'; reason: 'rate_limited' | 'server_error' | 'network' | 'timeout'; retryAfterMs?: number }
  /** Any other 4xx: our request is wrong for this target; retrying will not help. */
  | { kind: 'refused'; status: number }

/** Seconds or an HTTP date, as Retry-After may say; undefined when absent or unreadable. */
export const retryAfterMs = (header: string | null, now: number): number | undefined => {
  if (!header) return undefined
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000
  const t = Date.parse(header)
  return Number.isNaN(t) ? undefined : Math.max(0, t - now)
}

export const outcomeOf = (status: number, retryAfter?: number): Outcome => {
  if (status >= 200 && status < 300) return { kind: 'accepted' }
  if (status === 404 || status === 410) return { kind: 'gone', status }
  if (status === 429)
    return {
      kind: 'retry',
      reason: 'rate_limited',
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
    }
  if (status >= 500)
    return {
      kind: 'retry',
      reason: 'server_error',
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
    }
  return { kind: 'refused', status }
}

export interface RetryPolicy {
  maxAttempts: number
  baseMs: number
  maxMs: number
}

/**
 * The wait before attempt `attempt + 1`: exponential from `baseMs`, capped at `maxMs`, with equal
 * jitter (half fixed, half random) so that targets failing together do not retry together; a
 * Retry-After is honoured up to `maxMs`. `random` in [0, 1).
 */
export const backoffMs = (p: RetryPolicy, attempt: number, random: number, retryAfter?: number): number => {
  const exp = Math.min(p.maxMs, p.baseMs * 2 ** (attempt - 1))
  const jittered = exp / 2 + (exp / 2) * random
  return Math.min(p.maxMs, Math.max(jittered, retryAfter ?? 0))
}
