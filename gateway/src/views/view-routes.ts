import {
  HistoryQuery,
  type HistoryResponse,
  type InboxResponse,
  type MessageStatusResponse,
} from '@chatapp/contracts'
import { memberNow } from '../conversation/member-now.js'
import type { MembershipPort } from '../ports.js'
import { defineRoute, type HttpRoute, reply } from '../transport/http/route.js'
import type { ViewReads } from './view-reads.js'

export interface ViewRoutesContext {
  reads: ViewReads
  membership: Pick<MembershipPort, 'isMember'>
}

const SEQ = /^[0-9]{1,15}$/

/**
 * The HTTP reads served from the views. Access is decided by the log (MembershipPort), not by the
 * lagging view: a member just added can read at once, one just removed cannot. A conversation
 * that does not exist and one the caller is not in are the same 404 NOT_A_MEMBER.
 *
 * A member reads from the event that added them on, as sync and live delivery show it: history
 * hides what came before, and the status of a message sent before they joined is 404 NOT_FOUND
 * (as is the status of any sequence below that point, message or not). Until the views know the
 * membership (projection lag right after being added) both answer with nothing: an empty page,
 * an empty member list.
 */
export const viewRoutes = (ctx: ViewRoutesContext): HttpRoute[] => {
  const allowed = memberNow(ctx.membership)
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/conversations',
      auth: true,
      body: 'none',
      handle: async (c) => {
        const body: InboxResponse = { conversations: await ctx.reads.inbox(c.principal.userId) }
        return reply.json(body)
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/conversations/:conversationId/messages',
      auth: true,
      body: 'none',
      query: HistoryQuery,
      handle: async (c) => {
        const id = c.params.conversationId
        if (!(await allowed(id, c.principal.userId))) return reply.error('NOT_A_MEMBER')
        // A member reads from the event that added them on. Until the views know the membership
        // (projection lag right after being added), there is nothing they may read here yet;
        // the WebSocket sync delivers it from the log meanwhile.
        const joined = await ctx.reads.joinedAt(id!, c.principal.userId)
        const page =
          joined === undefined
            ? { messages: [], hasMore: false }
            : await ctx.reads.history(id!, c.query, joined - 1, c.principal.userId)
        const body: HistoryResponse = { conversationId: id!, ...page }
        return reply.json(body)
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/conversations/:conversationId/messages/:seq/status',
      auth: true,
      body: 'none',
      handle: async (c) => {
        const id = c.params.conversationId
        const seqRaw = c.params.seq ?? ''
        if (!SEQ.test(seqRaw) || Number(seqRaw) < 1)
          return reply.error('INVALID_REQUEST', { details: ['/seq: expected a positive integer'] })
        if (!(await allowed(id, c.principal.userId))) return reply.error('NOT_A_MEMBER')
        const seq = Number(seqRaw)
        const joined = await ctx.reads.joinedAt(id!, c.principal.userId)
        if (joined !== undefined && seq < joined)
          return reply.error('NOT_FOUND', { message: 'no message you can see has this sequence' })
        const body: MessageStatusResponse = {
          conversationId: id!,
          seq,
          members: joined === undefined ? [] : await ctx.reads.status(id!, seq),
        }
        return reply.json(body)
      },
    }),
  ]
}
