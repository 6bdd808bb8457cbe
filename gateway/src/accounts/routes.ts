import { LogoutRequest, RefreshRequest, RegisterRequest, UserSettings } from '@chatapp/contracts'
import { defineRoute, type HttpRoute, reply } from '../transport/http/route.js'
import type { AccountService } from './account-service.js'
import { LOGIN_BODY, refusalReply } from './login-route.js'

/**
 * The accounts endpoints of HTTP_ENDPOINTS. Password and token endpoints are rate limited per
 * client address: `auth` (argon2 work, password guessing) and `refresh`.
 */
export const accountRoutes = (accounts: AccountService): HttpRoute[] => [
  defineRoute({
    method: 'POST',
    path: '/v1/auth/register',
    auth: false,
    body: 'json',
    schema: RegisterRequest,
    maxBodyBytes: 4096,
    rateLimit: 'auth',
    handle: async (ctx) => reply.json(await accounts.register(ctx.body), 201),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/auth/login',
    ...LOGIN_BODY,
    handle: async (ctx) => {
      try {
        return reply.json(await accounts.login(ctx.body))
      } catch (e) {
        return refusalReply(e)
      }
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/auth/refresh',
    auth: false,
    body: 'json',
    schema: RefreshRequest,
    maxBodyBytes: 2048,
    rateLimit: 'refresh',
    handle: async (ctx) => reply.json(await accounts.refresh(ctx.body.refreshToken)),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/auth/logout',
    auth: false,
    body: 'json',
    schema: LogoutRequest,
    maxBodyBytes: 2048,
    rateLimit: 'refresh',
    handle: async (ctx) => {
      await accounts.logout(ctx.body.refreshToken, ctx.body.allDevices ?? false)
      return reply.empty(204)
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/users/by-username/:username',
    auth: true,
    body: 'none',
    rateLimit: 'lookup',
    handle: async (ctx) => {
      const user = await accounts.findByUsername((ctx.params.username ?? '').toLowerCase())
      return user ? reply.json(user) : reply.error('USER_NOT_FOUND')
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/users/me/settings',
    auth: true,
    body: 'none',
    handle: async (ctx) => reply.json(await accounts.settings(ctx.principal.userId)),
  }),
  defineRoute({
    method: 'PUT',
    path: '/v1/users/me/settings',
    auth: true,
    body: 'json',
    schema: UserSettings,
    maxBodyBytes: 1024,
    handle: async (ctx) => reply.json(await accounts.updateSettings(ctx.principal.userId, ctx.body)),
  }),
]
