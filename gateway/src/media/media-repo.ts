import type { MikroORM } from '@mikro-orm/postgresql'
import { type MediaRow, MediaSchema } from './entities.js'

/**
 * The media tables. Every method forks its own entity manager (no request-spanning identity
 * map). Guarantees: `recordShare` is idempotent and keeps the first sequence; `markEnqueued`
 * is only called after the job is in JetStream, so a share with `enqueuedAt = null` is one
 * whose job may still be missing (and is published again on the next call).
 */
export interface MediaRepo {
  insert(row: MediaRow): Promise<void>
  find(id: string): Promise<MediaRow | undefined>
  /** Records the share; returns whether its job still has to be published. */
  recordShare(mediaId: string, conversationId: string, seq: number): Promise<{ needsJob: boolean }>
  markEnqueued(mediaId: string, conversationId: string, at: number): Promise<void>
  /** Conversations the media was shared in, oldest first, at most `limit`. */
  sharedIn(mediaId: string, limit: number): Promise<string[]>
  /** Whether any message carries the media yet (an unattached upload expires). */
  isShared(mediaId: string): Promise<boolean>
}

export const mediaRepo = (orm: MikroORM, schema: string): MediaRepo => {
  const shares = `"${schema}".media_shares`
  const conn = () => orm.em.fork().getConnection()
  return {
    async insert(row) {
      await orm.em.fork().insert(MediaSchema, row)
    },
    async find(id) {
      const row = await orm.em.fork().findOne(MediaSchema, { id })
      return row ?? undefined
    },
    async recordShare(mediaId, conversationId, seq) {
      await conn().execute(
        `INSERT INTO ${shares} (media_id, conversation_id, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
        [mediaId, conversationId, seq],
      )
      const rows = await conn().execute<{ enqueued_at: string | null }[]>(
        `SELECT enqueued_at FROM ${shares} WHERE media_id = ? AND conversation_id = ?`,
        [mediaId, conversationId],
      )
      return { needsJob: rows[0]?.enqueued_at == null }
    },
    async markEnqueued(mediaId, conversationId, at) {
      await conn().execute(
        `UPDATE ${shares} SET enqueued_at = ? WHERE media_id = ? AND conversation_id = ? AND enqueued_at IS NULL`,
        [at, mediaId, conversationId],
      )
    },
    async isShared(mediaId) {
      const rows = await conn().execute<{ one: number }[]>(
        `SELECT 1 AS one FROM ${shares} WHERE media_id = ? LIMIT 1`,
        [mediaId],
      )
      return rows.length > 0
    },
    async sharedIn(mediaId, limit) {
      const rows = await conn().execute<{ conversation_id: string }[]>(
        `SELECT conversation_id FROM ${shares} WHERE media_id = ? ORDER BY seq, conversation_id LIMIT ?`,
        [mediaId, limit],
      )
      return rows.map((r) => r.conversation_id)
    },
  }
}
