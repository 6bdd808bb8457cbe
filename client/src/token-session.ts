import type { TokenPair } from '@chatapp/contracts'
import type { TokenRequest } from './types.js'

export interface TokenSessionOptions {
  /** Refresh this long before the access token expires, so a reconnect never offers a dead one. Default 30 s. */
  skewMs?: number
  /** Called with every new pair (refresh tokens are single use: persist the latest). */
  onRotate?: (pair: TokenPair) => void
  now?: () => number
}

export interface TokenSession {
  /** Pass as ChatClientOptions.tokenProvider. */
  tokenProvider: (req: TokenRequest) => Promise<string>
  /** The latest pair (for HTTP calls and for logout). */
  current(): TokenPair
}

/**
 * Keeps a token pair fresh for a ChatClient: refreshes when the server refused the token, or
 * ahead of its expiry. Concurrent callers share one refresh, since a refresh token works once
 * and a second use would revoke the session. A refresh the server refuses (INVALID_REFRESH_TOKEN,
 * not retryable) rejects, which ends the client's session instead of looping.
 */
export const tokenSession = (
  api: { refresh(refreshToken: string): Promise<TokenPair> },
  initial: TokenPair,
  opts: TokenSessionOptions = {},
): TokenSession => {
  let pair = initial
  let inFlight: Promise<TokenPair> | undefined
  const skewMs = opts.skewMs ?? 30_000
  const now = opts.now ?? Date.now
  const refresh = (): Promise<TokenPair> => {
    inFlight ??= api.refresh(pair.refreshToken).then(
      (next) => {
        pair = next
        inFlight = undefined
        opts.onRotate?.(next)
        return next
      },
      (err: unknown) => {
        inFlight = undefined
        throw err
      },
    )
    return inFlight
  }
  return {
    tokenProvider: async ({ forceRefresh }) => {
      if (forceRefresh || pair.accessExpiresAt - skewMs <= now()) return (await refresh()).accessToken
      return pair.accessToken
    },
    current: () => pair,
  }
}
