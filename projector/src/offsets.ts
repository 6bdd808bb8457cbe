import { fnv1a32 } from '@chatapp/contracts'
import { ident, type Queryable } from './db.js'

/**
 * The shard offsets of a views schema: per shard, the last stream sequence the views applied,
 * moved only in the transaction that applies the events (so views and offset never disagree),
 * under a transaction-scoped advisory lock per (schema, shard) that serialises every writer of
 * the shard and lets `rebuild` pause the live projector for the instant of its switch-over.
 */

/** The advisory lock key of a views schema's shards (first key; the shard is the second). */
export const shardLockKey = (schema: string): number => fnv1a32(`${schema}:shards`) | 0

export const readOffset = async (db: Queryable, schema: string, shard: number): Promise<number> => {
  const r = await db.query<{ last_seq: number }>(
    `SELECT last_seq FROM ${ident(schema)}.projector_offsets WHERE shard = $1`,
    [shard],
  )
  return r.rows[0]?.last_seq ?? 0
}

/** An offset, a sequence or a time as stored (int8): a safe non-negative integer, or a throw. */
export const int = (v: number): number => {
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`offset value ${v} is not a safe integer`)
  return v
}

/**
 * BEGIN, the shard's lock and the offset read as one simple query (one round trip: the values
 * inlined are integers we computed). Its last result row is the offset and the version of its
 * row (`xmin`: the transaction that last wrote it), which tells a StateCache whether anyone else
 * wrote the shard since.
 */
export const openShardSql = (schema: string, shard: number): string =>
  `BEGIN; SELECT pg_advisory_xact_lock(${shardLockKey(schema)}, ${int(shard)});
   SELECT last_seq, xmin::text AS version FROM ${ident(schema)}.projector_offsets WHERE shard = ${shard}`

/** The offset upsert with its integers inlined, so it shares one round trip with COMMIT; returns the row's new version. */
export const offsetSql = (schema: string, shard: number, lastSeq: number, lastAt: number): string =>
  `INSERT INTO ${ident(schema)}.projector_offsets (shard, last_seq, last_at, updated_at)
    VALUES (${int(shard)}, ${int(lastSeq)}, ${int(lastAt)}, now())
    ON CONFLICT (shard) DO UPDATE SET last_seq = GREATEST(projector_offsets.last_seq, excluded.last_seq),
      last_at = excluded.last_at, updated_at = now()
    RETURNING xmin::text AS version`

export const writeOffset = async (
  db: Queryable,
  schema: string,
  shard: number,
  lastSeq: number,
  lastAt: number,
): Promise<void> => {
  await db.query(offsetSql(schema, shard, lastSeq, lastAt))
}
