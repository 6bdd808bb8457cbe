import { MuteRequest, type MuteSignal, PushTargetRequest } from '@chatapp/contracts'
import { isConversationId, memberNow } from '../conversation/member-now.js'
import type { MembershipPort } from '../ports.js'
import { defineRoute, type HttpRoute, reply } from '../transport/http/route.js'
import type { ConversationMutes } from './mutes.js'
import type { PushTargets } from './push-targets.js'
import type { TargetPolicy } from './target-policy.js'

export interface PushRoutesDeps {
  targets: PushTargets
  mutes: ConversationMutes
  vapidPublicKey: string
  policy: TargetPolicy
  maxTargetsPerUser: number
  membership: Pick<MembershipPort, 'isMember'>
  /** Tells the user's other devices (every gateway) that a mute changed; best effort. */
  muteChanged(signal: MuteSignal): void
  now?: () => number
}

/**
 * Push targets of the caller's device and per-member mutes (ADR 0190–0192). Registering,
 * listing and deleting are the caller's own targets only; a mute needs membership now (the log's
 * fold, like every conversation read), so a non-member cannot probe which conversations exist.
 */
export const pushRoutes = (d: PushRoutesDeps): HttpRoute[] => {
  const now = d.now ?? Date.now
  const member = memberNow(d.membership)
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/push/vapid-public-key',
      auth: true,
      body: 'none',
      handle: async () => reply.json({ publicKey: d.vapidPublicKey }),
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/push/targets',
      auth: true,
      body: 'json',
      schema: PushTargetRequest,
      maxBodyBytes: 4096,
      rateLimit: 'lookup',
      rateLimitBy: 'user',
      handle: async (ctx) =>
        reply.json(
          await d.targets.register(ctx.principal, ctx.body, {
            policy: d.policy,
            maxPerUser: d.maxTargetsPerUser,
            now: now(),
          }),
          201,
        ),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/push/targets',
      auth: true,
      body: 'none',
      handle: async (ctx) => reply.json({ targets: await d.targets.list(ctx.principal.userId) }),
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/push/targets/:targetId',
      auth: true,
      body: 'none',
      handle: async (ctx) => {
        await d.targets.remove(ctx.principal.userId, ctx.params.targetId ?? '')
        return reply.empty(204)
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/v1/conversations/:conversationId/mute',
      auth: true,
      body: 'json',
      schema: MuteRequest,
      maxBodyBytes: 256,
      handle: async (ctx) => {
        const id = ctx.params.conversationId
        const userId = ctx.principal.userId
        if (!(await member(id, userId))) return reply.error('NOT_A_MEMBER')
        const mute = await d.mutes.set(userId, id!, ctx.body.until)
        d.muteChanged({
          userId,
          conversationId: id!,
          muted: mute.until === null || mute.until > now(),
          until: mute.until,
        })
        return reply.json(mute)
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/conversations/:conversationId/mute',
      auth: true,
      body: 'none',
      handle: async (ctx) => {
        const id = ctx.params.conversationId
        const userId = ctx.principal.userId
        // A former member may still unmute (and so forget) a conversation they left.
        if (!isConversationId(id)) return reply.error('NOT_A_MEMBER')
        await d.mutes.clear(userId, id)
        d.muteChanged({ userId, conversationId: id, muted: false, until: null })
        return reply.empty(204)
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/users/me/mutes',
      auth: true,
      body: 'none',
      handle: async (ctx) => reply.json({ mutes: await d.mutes.of(ctx.principal.userId, now()) }),
    }),
  ]
}
