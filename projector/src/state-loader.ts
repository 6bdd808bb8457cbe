import type { Role } from '@chatapp/contracts'
import { type ConvState, convState, type PendingRequestRow } from './core/project.js'
import type { InvitationRow, MemberRow } from './core/rows.js'
import { ident, type Queryable } from './db.js'

/**
 * The projection state of the given conversations, as the views hold it: one round trip (the
 * active members and the invitation standings come along as JSON arrays per conversation).
 */
export const loadStates = async (
  db: Queryable,
  schema: string,
  ids: readonly string[],
): Promise<Map<string, ConvState>> => {
  const out = new Map<string, ConvState>()
  if (ids.length === 0) return out
  const s = ident(schema)
  const convs = await db.query(
    `SELECT c.conversation_id, c.kind, c.title, c.created_seq, c.created_at, c.last_seq, c.last_at,
       c.last_msg_seq, c.last_n, c.member_count, c.description, c.avatar, c.edit_info, c.send_messages, c.links,
       (SELECT json_agg(json_build_array(m.user_id, m.role, m.joined_seq, m.join_ord))
        FROM ${s}.members m WHERE m.conversation_id = c.conversation_id AND m.active) AS members,
       (SELECT json_agg(json_build_array(i.user_id, i.state, i.by_user, i.seq, i.at))
        FROM ${s}.invitations i WHERE i.conversation_id = c.conversation_id) AS invitations,
       (SELECT json_agg(json_build_array(j.user_id, j.state, j.link_id, j.by_user, j.seq, j.at))
        FROM ${s}.join_requests j WHERE j.conversation_id = c.conversation_id) AS requests
     FROM ${s}.conversations c WHERE c.conversation_id = ANY($1::text[])`,
    [ids],
  )
  for (const c of convs.rows) {
    const members = new Map<string, MemberRow>()
    for (const [userId, role, joinedSeq, joinOrd] of (c.members ?? []) as [string, Role, number, number][])
      members.set(userId, {
        conversationId: c.conversation_id,
        userId,
        role,
        active: true,
        joinedSeq: Number(joinedSeq),
        joinOrd: Number(joinOrd),
        leftSeq: null,
      })
    const invited = new Map<string, InvitationRow>()
    const declined = new Set<string>()
    for (const [userId, state, by, seq, at] of (c.invitations ?? []) as [
      string,
      string,
      string,
      number,
      number,
    ][]) {
      if (state === 'declined') declined.add(userId)
      else
        invited.set(userId, {
          conversationId: c.conversation_id,
          userId,
          state: 'invited',
          by,
          seq: Number(seq),
          at: Number(at),
        })
    }
    const requests = new Map<string, PendingRequestRow>()
    const denied = new Set<string>()
    for (const [userId, state, link, by, seq, at] of (c.requests ?? []) as [
      string,
      string,
      string | null,
      string,
      number,
      number,
    ][]) {
      if (state === 'denied') denied.add(userId)
      else
        requests.set(userId, {
          conversationId: c.conversation_id,
          userId,
          state: 'pending',
          link: link ?? '',
          by,
          seq: Number(seq),
          at: Number(at),
        })
    }
    out.set(
      c.conversation_id,
      convState(
        {
          conversationId: c.conversation_id,
          kind: c.kind,
          title: c.title,
          createdSeq: c.created_seq,
          createdAt: c.created_at,
          lastSeq: c.last_seq,
          lastAt: c.last_at,
          lastMsgSeq: c.last_msg_seq,
          lastN: c.last_n,
          memberCount: c.member_count,
          description: c.description,
          avatar: c.avatar,
          editInfo: c.edit_info,
          sendMessages: c.send_messages,
          links: c.links ?? {},
        },
        members,
        { invited, declined, requests, denied },
      ),
    )
  }
  return out
}
