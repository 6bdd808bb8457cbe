import type { ChatEvent, ErrorCode, EventData } from '@chatapp/contracts'
import type { MembershipView } from './membership.js'
import type { ConversationState, MemberState } from './state.js'

/** A pending request to join through a link that needs approval (ADR 0217). */
export interface JoinRequest {
  /** The invite link it came through: approving it joins with that link. */
  link: string
  seq: number
  at: number
}

/** Where a user stands with a group's join requests: asking, denied (final), or neither. */
export type RequestStanding =
  | { userId: string; standing: 'pending'; request: JoinRequest }
  | { userId: string; standing: 'denied' | 'none' }

/**
 * How an accepted event at `seq` changes users' join-request standing, given the view before it:
 * the one rule behind every fold that keeps requests (the gateway's state, the projector's
 * `join_requests` view), so both judge the next request event alike. Only changes are listed.
 * - a request is pending from `member.join_requested` until it is approved (`member.joined`),
 *   denied, withdrawn, or its link is revoked: revoking a link ends what it let people ask for,
 *   without an event per request (the revocation is the event; every reader applies this rule);
 * - a denial is final until the user becomes a member some other way (added, invited and
 *   accepted, a link without approval): membership lifts it, as it lifts a declined invitation.
 */
export const joinRequestStandings = (v: MembershipView, e: ChatEvent, seq: number): RequestStanding[] => {
  switch (e.type) {
    case 'member.join_requested':
      return [{ userId: e.data.userId, standing: 'pending', request: { link: e.data.link, seq, at: e.at } }]
    case 'member.join_denied':
      return [{ userId: e.data.userId, standing: 'denied' }]
    case 'member.join_cancelled':
      return [{ userId: e.data.userId, standing: 'none' }]
    case 'member.added':
    case 'member.joined': {
      const u = e.data.userId
      return v.requests.has(u) || v.denied.has(u) ? [{ userId: u, standing: 'none' }] : []
    }
    case 'conversation.link_revoked': {
      const out: RequestStanding[] = []
      for (const [userId, r] of v.requests)
        if (r.link === e.data.linkId) out.push({ userId, standing: 'none' })
      return out
    }
    default:
      return []
  }
}

export type JoinCommand =
  | { type: 'group.join.approve'; actor: string; userId: string }
  | { type: 'group.join.deny'; actor: string; userId: string }
  | { type: 'group.join.cancel'; actor: string }

type Decision = { ok: true; events: ChatEvent[] } | { ok: false; code: ErrorCode; message?: string }
type Make = <T extends 'member.joined' | 'member.join_denied' | 'member.join_cancelled'>(
  type: T,
  data: EventData<T>,
) => ChatEvent

/**
 * Answers to join requests: an admin approves (the user joins with the link they asked through) or
 * denies; the requester withdraws their own. `me` is the actor's membership, undefined for a
 * requester (never a member). Two admins answering at once: the second approval finds a member
 * and is `ok` without an event; the second denial finds a denial and is too.
 */
export const decideJoin = (
  s: ConversationState,
  me: MemberState | undefined,
  c: JoinCommand,
  limits: { maxGroupMembers: number },
  make: Make,
): Decision => {
  if (c.type === 'group.join.cancel') {
    // Anyone else, and a group that does not exist, get the same answer: nothing to withdraw.
    if (!s.requests.has(c.actor)) return { ok: false, code: 'NO_JOIN_REQUEST' }
    return { ok: true, events: [make('member.join_cancelled', { userId: c.actor })] }
  }
  if (!me) return { ok: false, code: 'NOT_A_MEMBER' }
  if (s.kind !== 'group') return { ok: false, code: 'NOT_A_GROUP' }
  if (me.role !== 'admin') return { ok: false, code: 'NOT_ADMIN' }
  const request = s.requests.get(c.userId)
  if (c.type === 'group.join.approve') {
    if (!request)
      return s.members.has(c.userId) ? { ok: true, events: [] } : { ok: false, code: 'NO_JOIN_REQUEST' }
    if (s.members.size >= limits.maxGroupMembers) return { ok: false, code: 'GROUP_FULL' }
    return { ok: true, events: [make('member.joined', { userId: c.userId, link: request.link })] }
  }
  if (!request)
    return s.denied.has(c.userId) ? { ok: true, events: [] } : { ok: false, code: 'NO_JOIN_REQUEST' }
  return { ok: true, events: [make('member.join_denied', { userId: c.userId })] }
}
