import { defineRoute, type HttpRoute, reply } from '../transport/http/route.js'
import type { PendingInvitations } from './pending-invitations.js'

/** `GET /v1/invitations`: the caller's pending invitations to groups. */
export const invitationRoutes = (invitations: PendingInvitations): HttpRoute[] => [
  defineRoute({
    method: 'GET',
    path: '/v1/invitations',
    auth: true,
    body: 'none',
    rateLimit: 'lookup',
    handle: async (ctx) => reply.json({ invitations: await invitations.of(ctx.principal.userId) }),
  }),
]
