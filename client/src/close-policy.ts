import { CLOSE_CODES } from '@chatapp/contracts'

/** What to do after the socket closed. */
export type CloseAction =
  /** Reconnect after a backoff delay. */
  | 'reconnect'
  /** Ask the token provider for a fresh token and reconnect at once. */
  | 'refresh'
  /** Stop: the session is over (the app must log in again or it closed on purpose). */
  | 'stop'

const byCode = new Map<number, { reconnect: boolean }>(Object.values(CLOSE_CODES).map((c) => [c.code, c]))

/**
 * Decides from the close code. Codes the protocol does not list (1006 abnormal closure, proxies'
 * codes) are network trouble: reconnect. 4401 gets one token refresh; a second 4401 right after a
 * refresh means the provider cannot produce a valid token, so the client stops rather than loop.
 */
export const closeAction = (code: number, refreshedAlready: boolean): CloseAction => {
  if (code === CLOSE_CODES.UNAUTHENTICATED.code) return refreshedAlready ? 'stop' : 'refresh'
  const known = byCode.get(code)
  if (known === undefined) return 'reconnect'
  return known.reconnect ? 'reconnect' : 'stop'
}
