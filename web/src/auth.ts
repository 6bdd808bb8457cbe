import { newClientMsgId, type TokenSession, tokenSession } from '@chatapp/client'
import type { TokenPair, WebSession } from '@chatapp/contracts'
import { webAuth } from './api.js'

/**
 * Where the page keeps its credentials (docs/web.md, ADR 0220):
 * - the access token in memory only (this object): gone with the tab, never in storage an
 *   injected script could read later;
 * - the refresh token in an HttpOnly, Secure, SameSite=Strict cookie scoped to /v1/auth/web,
 *   set by the gateway: no script of the page can read it, and no other site can make the
 *   browser send it. A reload refreshes through the cookie instead of asking for the password;
 * - the device id in localStorage: not a secret, and keeping it lets the account's login
 *   throttle recognise this browser as a device it knows.
 */
const DEVICE_KEY = 'chatapp.deviceId'

export const deviceId = (): string => {
  let id = localStorage.getItem(DEVICE_KEY)
  if (id === null || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    id = `web-${newClientMsgId()}`
    localStorage.setItem(DEVICE_KEY, id)
  }
  return id
}

/** The client library's token keeper, fed by the cookie endpoints (the page never holds a refresh token). */
const asPair = (s: WebSession): TokenPair => ({ ...s, refreshToken: '' })

export class Session {
  readonly tokens: TokenSession
  constructor(readonly initial: WebSession) {
    this.tokens = tokenSession({ refresh: async () => asPair(await webAuth.refresh()) }, asPair(initial))
  }
  get userId(): string {
    return this.initial.userId
  }
  get deviceId(): string {
    return this.initial.deviceId
  }
  /** A valid access token; refreshed (once for all callers) when close to expiry or `force`. */
  accessToken(force = false): Promise<string> {
    return this.tokens.tokenProvider({ forceRefresh: force })
  }
}

/** A session from the cookie left by an earlier login in this browser, if it is still good. */
export const restoreSession = async (): Promise<Session | undefined> => {
  try {
    return new Session(await webAuth.refresh())
  } catch {
    return undefined
  }
}

export const logIn = async (username: string, password: string): Promise<Session> =>
  new Session(await webAuth.login(username, password, deviceId()))
