import type { BatchPlan } from './core/batch-plan.js'
import type { MessagePatch, ReactionRow } from './core/rows.js'
import { and, type Write, where } from './sql-writer.js'

/**
 * The writes of edits, deletes for everyone, reactions and hides (ADR 0211, 0212) for rows stored
 * before the batch (batch-plan.ts folded those of the batch into its own rows). Each touches rows
 * no other write of the batch does. `s` is the quoted schema.
 */
export const messageActionWrites = (s: string, p: BatchPlan): Write[] => {
  const parts: Write[] = []
  const patches = [...p.messagePatches.values()]
  const edits = patches.filter((x): x is Extract<MessagePatch, { kind: 'edit' }> => x.kind === 'edit')
  const deletes = patches.filter((x): x is Extract<MessagePatch, { kind: 'delete' }> => x.kind === 'delete')
  // A tombstone is final: an edit or delete that reaches it changes nothing.
  if (edits.length > 0)
    parts.push({
      sql: (g) => `UPDATE ${s}.messages m SET text = v.t, edited_at = v.a
       FROM unnest($1::text[], $2::int8[], $3::text[], $4::int8[]) AS v(c, q, t, a)
       WHERE m.conversation_id = v.c AND m.seq = v.q AND m.deleted_at IS NULL${and(g)}`,
      params: [
        edits.map((x) => x.conversationId),
        edits.map((x) => x.seq),
        edits.map((x) => x.text),
        edits.map((x) => x.at),
      ],
    })
  if (deletes.length > 0)
    parts.push({
      sql: (g) => `UPDATE ${s}.messages m SET text = NULL, media = NULL, media_id = NULL, reply_to = NULL,
         mentions = NULL,
         deleted_at = v.a, deleted_by = v.b
       FROM unnest($1::text[], $2::int8[], $3::text[], $4::int8[]) AS v(c, q, b, a)
       WHERE m.conversation_id = v.c AND m.seq = v.q AND m.deleted_at IS NULL${and(g)}`,
      params: [
        deletes.map((x) => x.conversationId),
        deletes.map((x) => x.seq),
        deletes.map((x) => x.by),
        deletes.map((x) => x.at),
      ],
    })
  const reactions: ReactionRow[] = []
  for (const byUser of p.reactions.values()) reactions.push(...byUser.values())
  const set = reactions.filter((x) => x.emoji !== null)
  if (set.length > 0)
    parts.push({
      // A reaction that raced a delete of an earlier batch's message stays out of the views.
      sql: (g) => `INSERT INTO ${s}.reactions AS r (conversation_id, seq, user_id, emoji, at)
       SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::int8[]) AS v(c, q, u, e, a)
       WHERE NOT EXISTS (SELECT 1 FROM ${s}.messages m
         WHERE m.conversation_id = v.c AND m.seq = v.q AND m.deleted_at IS NOT NULL)${and(g)}
       ON CONFLICT (conversation_id, seq, user_id) DO UPDATE SET emoji = excluded.emoji, at = excluded.at`,
      params: [
        set.map((x) => x.conversationId),
        set.map((x) => x.seq),
        set.map((x) => x.userId),
        set.map((x) => x.emoji),
        set.map((x) => x.at),
      ],
    })
  const removed = reactions.filter((x) => x.emoji === null)
  if (removed.length > 0)
    parts.push({
      sql: (g) => `DELETE FROM ${s}.reactions r USING unnest($1::text[], $2::int8[], $3::text[]) AS v(c, q, u)
       WHERE r.conversation_id = v.c AND r.seq = v.q AND r.user_id = v.u${and(g)}`,
      params: [removed.map((x) => x.conversationId), removed.map((x) => x.seq), removed.map((x) => x.userId)],
    })
  if (p.clearedMessages.size > 0) {
    const cleared = [...p.clearedMessages]
    for (const table of ['reactions', 'mentions'])
      parts.push({
        sql: (g) => `DELETE FROM ${s}.${table} r USING unnest($1::text[], $2::int8[]) AS v(c, q)
         WHERE r.conversation_id = v.c AND r.seq = v.q${and(g)}`,
        params: [cleared.map(([, c]) => c), cleared.map(([q]) => q)],
      })
  }
  // Mentions of the batch's own messages (a message deleted in the batch has none left).
  const mentions: [string, string, number][] = []
  for (const m of p.messages.values())
    for (const u of m.mentions ?? []) mentions.push([m.conversationId, u, m.seq])
  if (mentions.length > 0)
    parts.push({
      sql: (g) => `INSERT INTO ${s}.mentions (conversation_id, user_id, seq)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int8[])${where(g)} ON CONFLICT DO NOTHING`,
      params: [mentions.map((x) => x[0]), mentions.map((x) => x[1]), mentions.map((x) => x[2])],
    })
  if (p.hides.size > 0) {
    const rows: [string, string, number][] = []
    for (const [seq, byUser] of p.hides) for (const [u, c] of byUser) rows.push([c, u, seq])
    parts.push({
      sql: (g) => `INSERT INTO ${s}.hidden_messages (conversation_id, user_id, seq)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int8[])${where(g)} ON CONFLICT DO NOTHING`,
      params: [rows.map((x) => x[0]), rows.map((x) => x[1]), rows.map((x) => x[2])],
    })
  }
  return parts
}
