import { ident, type Queryable } from './db.js'
import { int, shardLockKey } from './offsets.js'
import { runWrites, type Write } from './sql-writer.js'

/**
 * One shard's batch on the fast path (applier.ts): the move of its offset, as a compare-and-set
 * from where this writer left it, and the batch's writes.
 */
export interface ShardPart {
  shard: number
  from: { offset: number; version: string }
  lastSeq: number
  lastAt: number
  writes: readonly Write[]
}

/** The condition each write of a guarded statement carries (runWrites puts the guard first, as w0). */
const GUARDED = 'EXISTS (SELECT 1 FROM w0)'

/**
 * Merges the writes of several shards: writes with the same statement text (the same table and
 * kind of write) become one, their parameter arrays concatenated. Sound because every write is
 * a multi-row statement over arrays (sql-writer.ts) and two shards never write the same row
 * (every row is keyed by a conversation, an event or a shard, each of one shard), so a merged
 * upsert never meets its own row twice. Texts are sorted: one set of tables, one statement text.
 */
export const mergeWrites = (parts: readonly ShardPart[], condition: string): Write[] => {
  const byText = new Map<string, unknown[][]>()
  for (const p of parts)
    for (const w of p.writes) {
      const text = w.sql(condition)
      const columns = w.params.map((a) => {
        if (!Array.isArray(a)) throw new Error(`a write with a scalar parameter cannot be merged: ${text}`)
        return a as unknown[]
      })
      const into = byText.get(text)
      if (!into)
        byText.set(
          text,
          columns.map((a) => [...a]),
        )
      else
        columns.forEach((a, i) => {
          into[i]!.push(...a)
        })
    }
  return [...byText.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([text, params]) => ({ sql: () => text, params }))
}

/**
 * The guard of a combined statement: each part's offset moves to its batch's end only if the row
 * is still at the offset and version its writer left it at, i.e. nobody wrote the shard since. An
 * UPDATE re-checks its condition on the newest row version after waiting for a concurrent writer
 * (READ COMMITTED), so this is a compare-and-set; each shard's lock is taken too, so a rebuild's
 * switch-over still pauses it. Parameters, not inlined values: the text stays the same from batch
 * to batch (runWrites prepares it once). Returns a row per shard it moved, with the new version.
 */
const guardOf = (schema: string, parts: readonly ShardPart[]): Write => ({
  // The shard locks are taken in shard order, before any row is compared: every other taker of
  // several (a rebuild's switch-over, verify) takes them in that order too, so none can hold one
  // this statement waits for while waiting for one it holds. PostgreSQL evaluates a volatile
  // function of a sorted query's output after the sort (make_sort_input_target).
  sql: () => `UPDATE ${ident(schema)}.projector_offsets o SET last_seq = v.next, last_at = v.at, updated_at = now()
    FROM (SELECT u.*, pg_advisory_xact_lock($6::int4, u.shard) AS locked
            FROM unnest($1::int4[], $2::int8[], $3::int8[], $4::int8[], $5::text[]) AS u(shard, next, at, prev, version)
           ORDER BY u.shard OFFSET 0) AS v
    WHERE o.shard = v.shard AND o.last_seq = v.prev AND o.xmin = v.version::xid
    RETURNING o.shard, o.xmin::text AS version`,
  params: [
    parts.map((p) => int(p.shard)),
    parts.map((p) => int(p.lastSeq)),
    parts.map((p) => int(p.lastAt)),
    parts.map((p) => int(p.from.offset)),
    parts.map((p) => p.from.version),
    shardLockKey(schema),
  ],
})

/**
 * Every part's guard must hold, or nothing is written: when none holds the writes are skipped
 * (their condition), and when some hold but not all, this fails the statement, so the offsets
 * that did move roll back with it. (PostgreSQL evaluates it once, before the first row.)
 */
const allOrNothing = `(SELECT CASE WHEN count(*) IN (0, cardinality($1::int4[])) THEN true
    ELSE ('combined batch: ' || (cardinality($1::int4[]) - count(*)) || ' shard(s) moved since read')::int = 0
  END FROM w0)`

/**
 * Applies several shards' fast-path batches as ONE statement (ADR 0226): one round trip, one
 * commit and one plan for all of them, instead of one of each per shard. Atomic like any
 * statement: every part is written with its offset, or none is. Returns the new offset version
 * of each shard, or undefined when no guard held (the shards moved: their writers take the careful
 * path). Throws when only some held; the caller's careful path then applies each part alone.
 */
export const runCombined = async (
  db: Queryable,
  schema: string,
  parts: readonly ShardPart[],
): Promise<Map<number, string> | undefined> => {
  const shards = new Set(parts.map((p) => p.shard))
  if (shards.size !== parts.length) throw new Error('a combined statement holds each shard once')
  const rows = await runWrites(db, mergeWrites(parts, GUARDED), guardOf(schema, parts), allOrNothing)
  if (rows.length === 0) return undefined
  return new Map(rows.map((r) => [Number(r.shard), String(r.version)]))
}
