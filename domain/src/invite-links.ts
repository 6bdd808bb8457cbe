import type { ChatEvent, ErrorCode, EventData } from '@chatapp/contracts'
import type { ConversationState, MemberState } from './state.js'

/** An active invite link as the fold keeps it (ADR 0216). */
export interface InviteLink {
  /** SHA-256 of its secret (base64url): a token is checked against it, never stored. */
  hash: string
  by: string
  seq: number
  /** Joins through it are requests an admin answers (ADR 0217). */
  approval?: true
}

export type LinkCommand =
  | { type: 'group.link.create'; actor: string; linkId: string; hash: string; approval?: boolean }
  | { type: 'group.link.revoke'; actor: string; linkId: string }
  | { type: 'group.link.join'; actor: string; linkId: string; hash: string }

type Decision = { ok: true; events: ChatEvent[] } | { ok: false; code: ErrorCode; message?: string }
type Make = <
  T extends
    | 'conversation.link_created'
    | 'conversation.link_revoked'
    | 'member.joined'
    | 'member.join_requested',
>(
  type: T,
  data: EventData<T>,
) => ChatEvent

/**
 * Whether a token (its link id and the hash of its secret) opens this group: a live link whose
 * hash matches. Anything else — no group, a direct conversation, a revoked link, a wrong secret —
 * is the same INVALID_LINK, so a token never tells what exists.
 */
export const linkOpens = (s: ConversationState, linkId: string, hash: string): boolean =>
  s.exists && s.kind === 'group' && s.links.get(linkId)?.hash === hash

/**
 * Invite links: admins create (at most `maxLinks` live at once) and revoke them; anyone with a
 * live link's token joins, or asks to when the link needs approval (at most `maxRequests` pending
 * per group; a second request and one after a denial are refused). `me` is undefined for a
 * joiner who is not a member.
 */
export const decideLink = (
  s: ConversationState,
  me: MemberState | undefined,
  c: LinkCommand,
  limits: { maxLinks: number; maxGroupMembers: number; maxRequests: number },
  make: Make,
): Decision => {
  if (c.type === 'group.link.join') {
    if (!linkOpens(s, c.linkId, c.hash)) return { ok: false, code: 'INVALID_LINK' }
    if (me) return { ok: true, events: [] }
    if (s.links.get(c.linkId)!.approval) {
      if (s.requests.has(c.actor)) return { ok: false, code: 'JOIN_REQUESTED' }
      if (s.denied.has(c.actor)) return { ok: false, code: 'JOIN_DENIED' }
      // Pending requests are bounded like invitations: a group's state stays bounded.
      if (s.requests.size >= limits.maxRequests) return { ok: false, code: 'TOO_MANY_JOIN_REQUESTS' }
      return { ok: true, events: [make('member.join_requested', { userId: c.actor, link: c.linkId })] }
    }
    if (s.members.size >= limits.maxGroupMembers) return { ok: false, code: 'GROUP_FULL' }
    return { ok: true, events: [make('member.joined', { userId: c.actor, link: c.linkId })] }
  }
  if (!me) return { ok: false, code: 'NOT_A_MEMBER' }
  if (s.kind !== 'group') return { ok: false, code: 'NOT_A_GROUP' }
  if (me.role !== 'admin') return { ok: false, code: 'NOT_ADMIN' }
  if (c.type === 'group.link.revoke') {
    if (!s.links.has(c.linkId)) return { ok: false, code: 'INVALID_LINK' }
    return { ok: true, events: [make('conversation.link_revoked', { linkId: c.linkId })] }
  }
  if (s.links.size >= limits.maxLinks) return { ok: false, code: 'TOO_MANY_LINKS' }
  if (s.links.has(c.linkId)) return { ok: false, code: 'INTERNAL', message: 'link id collision' }
  return {
    ok: true,
    events: [
      make('conversation.link_created', {
        linkId: c.linkId,
        hash: c.hash,
        ...(c.approval ? { approval: true as const } : {}),
      }),
    ],
  }
}
