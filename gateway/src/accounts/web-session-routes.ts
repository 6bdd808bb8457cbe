import { isChatError, type TokenPair, type WebSession } from '@chatapp/contracts'
import { sameOrigin } from '../session/same-origin.js'
import { defineRoute, type Headers, type HttpReply, type HttpRoute, reply } from '../transport/http/route.js'
import type { AccountService } from './account-service.js'
import { LOGIN_BODY, refusalReply } from './login-route.js'

/**
 * The token endpoints for the web app (ADR 0220). A page keeps its access token in memory and
 * never sees its refresh token: it lives in a cookie the gateway sets, which is
 * - `HttpOnly`: no script of the page (an injected one included) can read it;
 * - `SameSite=Strict` and checked Origin: no other site can make a browser use it;
 * - `Path=/v1/auth/web`: sent with these three requests only, never with API calls;
 * - `Secure`: HTTPS only (browsers treat http://localhost and 127.0.0.1 as secure for this);
 *   `WEB_COOKIE_SECURE=false` drops it for a plain-HTTP deployment on another host (a LAN
 *   demo), where browsers would refuse a Secure cookie and every reload would need the password.
 * Rotation, reuse detection and revocation are the account service's, as for any client.
 */
export const REFRESH_COOKIE = 'chatapp_rt'
export const COOKIE_PATH = '/v1/auth/web'

export interface WebSessionOptions {
  /** The `Secure` attribute (default true). */
  secureCookie?: boolean
  now?: () => number
}

const cookieText = (value: string, maxAgeS: number, secure: boolean): string =>
  `${REFRESH_COOKIE}=${value}; Path=${COOKIE_PATH}; Max-Age=${maxAgeS}; HttpOnly;${secure ? ' Secure;' : ''} SameSite=Strict`

/** The refresh token of the request's cookie header, if any. */
export const refreshCookie = (header: string | undefined): string | undefined => {
  for (const part of (header ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=')
    if (name === REFRESH_COOKIE) {
      const v = rest.join('=')
      return v === '' ? undefined : v
    }
  }
  return undefined
}

/** A request from another site's page (or without the page's Origin) never uses the cookie. */
const foreign = (headers: Headers): HttpReply | undefined => {
  const origin = headers.origin
  if (origin !== undefined && !sameOrigin(origin, headers.host ?? ''))
    return reply.error('ORIGIN_NOT_ALLOWED', {
      message: 'web session endpoints answer their own origin only',
    })
  return undefined
}

const answer = (pair: TokenPair, now: number, secure: boolean): HttpReply => {
  const body: WebSession = {
    userId: pair.userId,
    deviceId: pair.deviceId,
    accessToken: pair.accessToken,
    accessExpiresAt: pair.accessExpiresAt,
    refreshExpiresAt: pair.refreshExpiresAt,
  }
  const maxAge = Math.max(0, Math.floor((pair.refreshExpiresAt - now) / 1000))
  return reply.json(body, 200, { 'set-cookie': cookieText(pair.refreshToken, maxAge, secure) })
}

/**
 * The refresh and logout endpoints: no body, the cookie's token (if any), same origin only.
 * `handle` gets the token and answers.
 */
const cookieRoute = (path: string, handle: (token: string | undefined) => Promise<HttpReply>): HttpRoute =>
  defineRoute({
    method: 'POST',
    path,
    auth: false,
    body: 'none',
    rateLimit: 'refresh',
    handle: async (ctx) => foreign(ctx.headers) ?? handle(refreshCookie(ctx.headers.cookie)),
  })

export const webSessionRoutes = (accounts: AccountService, o: WebSessionOptions = {}): HttpRoute[] => {
  const secure = o.secureCookie ?? true
  const now = o.now ?? Date.now
  const clearCookie = (): Headers => ({ 'set-cookie': cookieText('', 0, secure) })
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/auth/web/login',
      ...LOGIN_BODY,
      handle: async (ctx) => {
        const bad = foreign(ctx.headers)
        if (bad) return bad
        try {
          return answer(await accounts.login(ctx.body), now(), secure)
        } catch (e) {
          return refusalReply(e)
        }
      },
    }),
    cookieRoute('/v1/auth/web/refresh', async (token) => {
      if (token === undefined)
        return reply.error('INVALID_REFRESH_TOKEN', { message: 'no session cookie: log in' })
      try {
        return answer(await accounts.refresh(token), now(), secure)
      } catch (e) {
        // A dead token is cleared; a pause (UNAVAILABLE) keeps the cookie for the next try.
        return refusalReply(
          e,
          isChatError(e) && e.code === 'INVALID_REFRESH_TOKEN' ? clearCookie() : undefined,
        )
      }
    }),
    cookieRoute('/v1/auth/web/logout', async (token) => {
      if (token !== undefined) {
        try {
          await accounts.logout(token, false)
        } catch (e) {
          // Already logged out (or rotated away): the cookie goes all the same.
          if (!isChatError(e) || e.code !== 'INVALID_REFRESH_TOKEN') throw e
        }
      }
      return reply.empty(204, clearCookie())
    }),
  ]
}
