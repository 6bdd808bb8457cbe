import { fnv1a32 } from '@chatapp/contracts'
import { ident, type Queryable } from './db.js'
import type { Write } from './sql-writer.js'

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

const int = (v: number): number => {
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

/**
 * The fast path's guard (applier.ts): moves the offset from `from` to `lastSeq` only if the row
 * is still at `from` and at `version`, i.e. nobody wrote the shard since this writer did. An
 * UPDATE re-checks its condition on the newest row version after waiting for a concurrent writer
 * (READ COMMITTED), so this is a compare-and-set; the shard lock is taken too, so a rebuild's
 * switch-over still pauses it. Returns the new version, or no row. Parameters, not inlined
 * values: the statement's text stays the same from batch to batch (runWrites prepares it once).
 */
export const casOffset = (
  schema: string,
  shard: number,
  from: { offset: number; version: string },
  lastSeq: number,
  lastAt: number,
): Write => ({
  sql: () => `UPDATE ${ident(schema)}.projector_offsets SET last_seq = $1::int8, last_at = $2::int8, updated_at = now()
    WHERE shard = $3::int4 AND last_seq = $4::int8 AND xmin = $5::text::xid
      AND pg_advisory_xact_lock($6::int4, $3::int4) IS NOT NULL
    RETURNING xmin::text AS version`,
  params: [int(lastSeq), int(lastAt), int(shard), int(from.offset), from.version, shardLockKey(schema)],
})
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
