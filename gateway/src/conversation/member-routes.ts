import { ConversationId, type MembersResponse, type UserProfile } from '@chatapp/contracts'
import { joinedBefore } from '@chatapp/domain'
import { defineRoute, type HttpRoute, reply } from '../transport/http/route.js'
import type { StateStore } from './state-store.js'

export interface MemberRoutesDeps {
  /** The conversation's folded log (both lanes are refreshed: members, then their watermarks). */
  store: Pick<StateStore, 'refresh'>
  profiles(userIds: readonly string[]): Promise<UserProfile[]>
}

const CONVERSATION_ID = new RegExp(ConversationId.pattern!)

/**
 * `GET /v1/conversations/:id/members`: who is in a conversation, from its log (never a lagging
 * view), with names to show, roles for group admin actions and each member's receipt watermarks
 * (the per-member ticks of a group); for an admin, the pending join requests they may answer
 * (ADR 0217). Members only; an unknown conversation and one the caller is not in are the same 404
 * NOT_A_MEMBER.
 */
export const memberRoutes = (d: MemberRoutesDeps): HttpRoute[] => [
  defineRoute({
    method: 'GET',
    path: '/v1/conversations/:conversationId/members',
    auth: true,
    body: 'none',
    handle: async (c) => {
      const id = c.params.conversationId ?? ''
      if (!CONVERSATION_ID.test(id)) return reply.error('NOT_A_MEMBER')
      const s = await d.store.refresh(id)
      const me = s.exists ? s.members.get(c.principal.userId) : undefined
      if (!me) return reply.error('NOT_A_MEMBER')
      const members = [...s.members.entries()].sort((a, b) => joinedBefore(a[1], b[1]))
      const invited = [...s.invited.keys()]
      const requests = me.role === 'admin' ? [...s.requests].sort((a, b) => a[1].seq - b[1].seq) : []
      const profiles = new Map(
        (await d.profiles([...members.map(([u]) => u), ...invited, ...requests.map(([u]) => u)])).map((p) => [
          p.userId,
          p,
        ]),
      )
      const body: MembersResponse = {
        conversationId: id,
        kind: s.kind,
        title: s.title,
        members: members.flatMap(([userId, m]) => {
          const p = profiles.get(userId)
          return p
            ? [{ ...p, role: m.role, deliveredUpTo: Math.max(m.delivered, m.read), readUpTo: m.read }]
            : []
        }),
        invited: invited.flatMap((u) => profiles.get(u) ?? []),
        ...(me.role === 'admin' && s.kind === 'group'
          ? {
              joinRequests: requests.flatMap(([u, r]) => {
                const p = profiles.get(u)
                return p ? [{ ...p, link: r.link, seq: r.seq, at: r.at }] : []
              }),
            }
          : {}),
      }
      return reply.json(body)
    },
  }),
]
