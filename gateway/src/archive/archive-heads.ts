import { ARCHIVE_HEADS_TABLE } from '@chatapp/contracts'
import type { ArchiveHeads } from '@chatapp/kit'
import type pg from 'pg'

/**
 * The archiver's heads table (contracts' ARCHIVE_HEADS_TABLE), read: the last archived sequence
 * of a conversation subject, 0 when none. The log asks only for a subject the stream no longer
 * holds anything of (ADR 0201).
 */
export const pgArchiveHeads = (db: Pick<pg.Pool, 'query'>, schema: string): ArchiveHeads => {
  if (!/^[a-z][a-z0-9_]*$/.test(schema)) throw new Error(`unsafe schema name ${schema}`)
  const sql = `SELECT last_seq FROM "${schema}"."${ARCHIVE_HEADS_TABLE}" WHERE conversation_id = $1 AND lane = $2`
  return {
    async last(conversationId, lane) {
      const r = await db.query<{ last_seq: string }>(sql, [conversationId, lane])
      return Number(r.rows[0]?.last_seq ?? 0)
    },
  }
}
