import { isChatError, LoginRequest } from '@chatapp/contracts'
import { type Headers, type HttpReply, reply } from '../transport/http/route.js'

/** What both logins (`/v1/auth/login` and the web app's) accept: a password check, rate limited per address. */
export const LOGIN_BODY = {
  auth: false,
  body: 'json',
  schema: LoginRequest,
  maxBodyBytes: 4096,
  rateLimit: 'auth',
} as const

/**
 * An expected refusal as a reply that keeps its wait (`retryAfterMs`, `Retry-After`): the
 * transport answers a thrown ChatError with its code and message only. Anything else is rethrown.
 */
export const refusalReply = (e: unknown, headers?: Headers): HttpReply => {
  if (!isChatError(e)) throw e
  return reply.error(e.code, {
    message: e.message,
    ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}),
    ...(headers ? { headers } : {}),
  })
}
