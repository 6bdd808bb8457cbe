import type { Role } from '@chatapp/contracts'
import { type ConvState, convState, type PendingRequestRow } from './core/project.js'
import type { InvitationRow, MemberRow } from './core/rows.js'
import { ident, type Queryable } from './db.js'

/** A standings row as the query below aggregates it (`link`: join requests only). */
type StandingTuple = [
  userId: string,
  state: string,
  by: string,
  seq: number,
  at: number,
  link?: string | null,
]

/**
 * A standings table's rows (invitations, join requests) as the pending ones by user and the set of
 * users in the final state (`declined`, `denied`).
 */
const standings = <R>(
  rows: StandingTuple[] | null,
  final: string,
  pending: (x: { userId: string; by: string; seq: number; at: number; link: string | null }) => R,
): [Map<string, R>, Set<string>] => {
  const open = new Map<string, R>()
  const closed = new Set<string>()
  for (const [userId, state, by, seq, at, link] of rows ?? []) {
    if (state === final) closed.add(userId)
    else open.set(userId, pending({ userId, by, seq: Number(seq), at: Number(at), link: link ?? null }))
  }
  return [open, closed]
}

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
       (SELECT json_agg(json_build_array(j.user_id, j.state, j.by_user, j.seq, j.at, j.link_id))
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
    const id = c.conversation_id as string
    const [invited, declined] = standings(
      c.invitations,
      'declined',
      ({ userId, by, seq, at }): InvitationRow => ({
        conversationId: id,
        userId,
        state: 'invited',
        by,
        seq,
        at,
      }),
    )
    const [requests, denied] = standings(
      c.requests,
      'denied',
      (x): PendingRequestRow => ({
        conversationId: id,
        ...x,
        state: 'pending',
        link: x.link ?? '',
      }),
    )
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
