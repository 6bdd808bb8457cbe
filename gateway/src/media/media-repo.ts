import { VIEW_TABLES } from '@chatapp/contracts'
import type { MikroORM } from '@mikro-orm/postgresql'
import { type MediaRow, MediaSchema } from './entities.js'

/** Where a media was shared: a conversation, and the latest message there that carries it. */
export interface Share {
  conversationId: string
  seq: number
}

/**
 * The media records (the gateway's schema), and where each media was shared: a fact of the
 * projector's views (`media.shared_seq`, the latest message of a conversation that carries it),
 * derived from the log like every view (ADR 0150), so no request path records it. Every method
 * forks its own entity manager (no request-spanning identity map). The views lag the log by the
 * projection delay (the projector publishes a media's job only after the views hold its share, so
 * by `media.ready` members can download). Before a projector first ran they do not exist: nothing
 * is shared yet, and that is the answer.
 */
export interface MediaRepo {
  insert(row: MediaRow): Promise<void>
  find(id: string): Promise<MediaRow | undefined>
  /** Conversations the media was shared in, by sequence, at most `limit`. */
  sharedIn(mediaId: string, limit: number): Promise<Share[]>
  /** Whether any message carries the media yet (an unattached upload expires). */
  isShared(mediaId: string): Promise<boolean>
  /**
   * Whether the media was withdrawn: a message that carried it was deleted for everyone and no
   * other message carries it (ADR 0212). Nobody may download or attach it any more, its uploader
   * included; the upload sweeper deletes its objects.
   */
  isWithdrawn(mediaId: string): Promise<boolean>
}

/** The views' media table holding a media's shares, for SQL of this module and its neighbours. */
export const sharesTable = (viewsSchema: string): string => `"${viewsSchema}".${VIEW_TABLES.media}`

/** The views do not exist yet: no projector ever ran on this namespace, so nothing is shared. */
export const viewsMissing = (err: unknown): boolean =>
  ['42P01', '3F000'].includes((err as { code?: string })?.code ?? '')

export const mediaRepo = (orm: MikroORM, viewsSchema: string): MediaRepo => {
  const shares = sharesTable(viewsSchema)
  const read = async <T>(sql: string, params: unknown[]): Promise<T[]> => {
    try {
      return await orm.em.fork().getConnection().execute<T[]>(sql, params)
    } catch (err) {
      if (viewsMissing(err)) return []
      throw err
    }
  }
  return {
    async insert(row) {
      await orm.em.fork().insert(MediaSchema, row)
    },
    async find(id) {
      const row = await orm.em.fork().findOne(MediaSchema, { id })
      return row ?? undefined
    },
    async isShared(mediaId) {
      const rows = await read<{ one: number }>(
        `SELECT 1 AS one FROM ${shares} WHERE media_id = ? AND shared_seq IS NOT NULL LIMIT 1`,
        [mediaId],
      )
      return rows.length > 0
    },
    async isWithdrawn(mediaId) {
      const [r] = await read<{ withdrawn: boolean | null; shared: boolean | null }>(
        `SELECT bool_or(state = 'deleted') AS withdrawn, bool_or(shared_seq IS NOT NULL) AS shared
         FROM ${shares} WHERE media_id = ?`,
        [mediaId],
      )
      return r?.withdrawn === true && r.shared !== true
    },
    async sharedIn(mediaId, limit) {
      const rows = await read<{ conversation_id: string; shared_seq: string | number }>(
        `SELECT conversation_id, shared_seq FROM ${shares} WHERE media_id = ? AND shared_seq IS NOT NULL
         ORDER BY shared_seq, conversation_id LIMIT ?`,
        [mediaId, limit],
      )
      return rows.map((r) => ({ conversationId: r.conversation_id, seq: Number(r.shared_seq) }))
    },
  }
}
