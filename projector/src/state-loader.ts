import type { Role } from '@chatapp/contracts'
import type { ConvState } from './core/project.js'
import type { MemberRow } from './core/rows.js'
import { ident, type Queryable } from './db.js'

/**
 * The projection state of the given conversations, as the views hold it: one round trip (the
 * active members come along as a JSON array per conversation).
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
       c.last_msg_seq, c.last_n, c.member_count,
       (SELECT json_agg(json_build_array(m.user_id, m.role, m.joined_seq, m.join_ord))
        FROM ${s}.members m WHERE m.conversation_id = c.conversation_id AND m.active) AS members
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
    out.set(c.conversation_id, {
      row: {
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
      },
      members,
    })
  }
  return out
}
