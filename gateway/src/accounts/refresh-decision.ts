/**
 * What to do with a presented refresh token. Pure: the rows and the time are passed in.
 *
 * - `rotate`: current, unexpired, its session live → issue a new pair, mark this one rotated.
 * - `reuse`: it was already rotated. Either the client retried or someone else holds a copy;
 *   the two cannot be told apart, so the whole family (session) is revoked and both parties
 *   must log in again (OAuth 2.0 Security BCP §4.14.2).
 * - `refuse`: unknown, expired or its session revoked → INVALID_REFRESH_TOKEN, nothing changes.
 */
export interface PresentedToken {
  expiresAt: number
  rotatedAt: number | null
}

export interface TokenSession {
  revokedAt: number | null
}

export type RefreshDecision =
  | { action: 'rotate' }
  | { action: 'reuse' }
  | { action: 'refuse'; why: 'unknown' | 'expired' | 'revoked' }

export const decideRefresh = (
  token: PresentedToken | undefined,
  session: TokenSession | undefined,
  now: number,
): RefreshDecision => {
  if (!token || !session) return { action: 'refuse', why: 'unknown' }
  if (session.revokedAt !== null) return { action: 'refuse', why: 'revoked' }
  if (token.rotatedAt !== null) return { action: 'reuse' }
  if (token.expiresAt <= now) return { action: 'refuse', why: 'expired' }
  return { action: 'rotate' }
}
