import type { Mute } from '@chatapp/contracts'
import type { Sql } from './push-targets.js'

/**
 * Per-member mutes (ADR 0192): user-specific state, not conversation history, so a row of the
 * gateway's schema rather than an event in the conversation's log (the other members must not
 * learn of it, and it ends by itself at `until`). An expired row is ignored by every read and
 * replaced by the next mute.
 */
export const conversationMutes = (db: Sql, schema: string) => {
  const t = `"${schema}".conversation_mutes`
  return {
    async set(userId: string, conversationId: string, until: number | null): Promise<Mute> {
      await db.query(
        `INSERT INTO ${t} (user_id, conversation_id, until) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, conversation_id) DO UPDATE SET until = EXCLUDED.until`,
        [userId, conversationId, until],
      )
      return { conversationId, until }
    },
    async clear(userId: string, conversationId: string): Promise<void> {
      await db.query(`DELETE FROM ${t} WHERE user_id = $1 AND conversation_id = $2`, [userId, conversationId])
    },
    /** The user's mutes in force at `now`. */
    async of(userId: string, now: number): Promise<Mute[]> {
      const r = await db.query<{ conversation_id: string; until: string | null }>(
        `SELECT conversation_id, until FROM ${t} WHERE user_id = $1 AND (until IS NULL OR until > $2)
         ORDER BY conversation_id`,
        [userId, now],
      )
      return r.rows.map((x) => ({
        conversationId: x.conversation_id,
        until: x.until === null ? null : Number(x.until),
      }))
    },
    /** Which of `userIds` have `conversationId` muted at `now` (the push worker, per burst). */
    async mutedAmong(conversationId: string, userIds: readonly string[], now: number): Promise<Set<string>> {
      if (userIds.length === 0) return new Set()
      const r = await db.query<{ user_id: string }>(
        `SELECT user_id FROM ${t} WHERE conversation_id = $1 AND user_id = ANY($2::text[]) AND (until IS NULL OR until > $3)`,
        [conversationId, userIds, now],
      )
      return new Set(r.rows.map((x) => x.user_id))
    },
    /** Mutes that ended before `before` (housekeeping). */
    async purgeEnded(before: number): Promise<number> {
      const r = await db.query(`DELETE FROM ${t} WHERE until < $1 RETURNING user_id`, [before])
      return r.rows.length
    },
  }
}

export type ConversationMutes = ReturnType<typeof conversationMutes>
