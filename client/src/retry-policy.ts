import { ERRORS } from '@chatapp/contracts'
import { type BackoffOptions, backoffDelay } from './backoff.js'
import type { ClientErrorCode } from './errors.js'
import type { RequestKind } from './request-table.js'

/**
 * Which refused requests the client writes again instead of failing them to the app, and when.
 * Pure: no clock, no timers (ADR 0120).
 */

/** The delay before writing a refused request again, when the server named none. */
export const DEFAULT_RETRY_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 5000 }

/**
 * Codes that prove the server did nothing with the frame: the rate limiter refuses a frame before
 * reading it. Only these may repeat a request that is not idempotent (`group.create`). Not
 * UNAVAILABLE: it may follow an append whose acknowledgement was lost, so the group may exist.
 */
const NOT_APPLIED: ReadonlySet<ClientErrorCode> = new Set(['RATE_LIMITED'])

/** Retryable by the contracts' catalogue, the one source of that flag; client-only codes never are. */
const retryableOnWire = (code: ClientErrorCode): boolean =>
  Object.hasOwn(ERRORS, code) && ERRORS[code as keyof typeof ERRORS].retryable

/**
 * Whether a request refused with `code` is written again later. Sends and idempotent commands:
 * on any retryable code. A command that is not idempotent: only when the code proves it was not
 * applied. Pings (a round trip measured across retries means nothing) and resyncs (the session
 * drops the socket instead) never.
 */
export const retriesOn = (p: { kind: RequestKind; resend: boolean }, code: ClientErrorCode): boolean => {
  if (!retryableOnWire(code)) return false
  switch (p.kind) {
    case 'send':
      return true
    case 'command':
      return p.resend || NOT_APPLIED.has(code)
    case 'ping':
    case 'sync':
      return false
    default:
      return p.kind satisfies never
  }
}

/**
 * How long to wait before attempt `failures + 1`, after `failures` (≥ 1) failed in a row. The
 * server's `retryAfterMs` when it gave one (it knows: a rate limiter's refill, a leader election),
 * plus up to one base step of jitter so clients told the same wait do not return in lockstep;
 * otherwise exponential backoff with full jitter (100 ms doubling to 5 s by default).
 */
export const retryDelay = (
  failures: number,
  retryAfterMs: number | undefined,
  o: BackoffOptions,
  random: () => number = Math.random,
): number =>
  retryAfterMs !== undefined
    ? retryAfterMs + Math.floor(random() * o.baseMs)
    : backoffDelay(Math.max(0, failures - 1), o, random)
