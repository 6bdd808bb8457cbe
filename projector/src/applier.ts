import { fnv1a32 } from '@chatapp/contracts'
import type pg from 'pg'
import type { ConvState } from './core/project.js'
import { type BatchResult, conversationsOf, type LogEntry, projectBatch } from './core/project-batch.js'
import { ident, type Queryable } from './db.js'
import { loadStates, offsetSql, readOffset, writeDeadLetters, writeOffset, writePlan } from './sql-writer.js'

/**
 * Applies a batch of one shard's log to a views schema in ONE transaction that also moves the
 * shard's offset. Events at or below the stored offset are skipped, so a batch delivered again
 * (the process died between commit and ack, or a replay) changes nothing. The transaction holds
 * an advisory lock per (schema, shard), so two writers of one shard serialise, and `rebuild` can
 * stop the live projector for the instant of its switch-over.
 */
export const applyBatch = async (
  pool: pg.Pool,
  schema: string,
  shard: number,
  entries: readonly LogEntry[],
  now: () => number = Date.now,
  cache?: StateCache,
): Promise<BatchResult> => {
  const touched = new Map<string, ConvState>()
  const db = await pool.connect()
  let r: BatchResult
  try {
    // Round trips dominate a small batch's cost, so BEGIN, the lock and the offset read share
    // one (a simple multi-statement query; the values inlined are integers we computed), and the
    // offset upsert shares one with COMMIT.
    const opened = (await db.query(
      `BEGIN; SELECT pg_advisory_xact_lock(${shardLockKey(schema)}, ${shard | 0});
       SELECT last_seq FROM ${ident(schema)}.projector_offsets WHERE shard = ${shard | 0}`,
    )) as unknown as pg.QueryResult<{ last_seq: number }>[]
    const offset = Number(opened[2]?.rows[0]?.last_seq ?? 0)
    r = await applyFrom(db, schema, entries, offset, now, cache, touched)
    await db.query(r.lastSeq > offset ? `${offsetSql(schema, shard, r.lastSeq, r.lastAt)}; COMMIT` : 'COMMIT')
  } catch (e) {
    await db.query('ROLLBACK').catch(() => {})
    throw e
  } finally {
    db.release()
  }
  // Only what was committed enters the cache.
  if (cache) {
    if (cache.size + touched.size > MAX_CACHED) cache.clear()
    for (const [id, s] of touched) cache.set(id, s)
  }
  return r
}

/**
 * Conversation states kept across batches by a writer that is the only one of its schema (a
 * rebuild or verify copy), saving the per-batch state query. The live projector does not use
 * one: reading the state in the transaction keeps several writers correct.
 */
export type StateCache = Map<string, ConvState>
const MAX_CACHED = 200_000

/** Applies a batch inside a transaction the caller owns (and whose locks it holds), offset included. */
export const applyIn = async (
  db: Queryable,
  schema: string,
  shard: number,
  entries: readonly LogEntry[],
  now: () => number = Date.now,
): Promise<BatchResult> => {
  const offset = await readOffset(db, schema, shard)
  const r = await applyFrom(db, schema, entries, offset, now)
  if (r.lastSeq > offset) await writeOffset(db, schema, shard, r.lastSeq, r.lastAt)
  return r
}

/** Loads states, projects and writes the views and dead letters; the offset is the caller's. */
const applyFrom = async (
  db: Queryable,
  schema: string,
  entries: readonly LogEntry[],
  offset: number,
  now: () => number,
  cache?: StateCache,
  touched?: Map<string, ConvState>,
): Promise<BatchResult> => {
  const fresh = entries.filter((e) => e.seq > offset)
  const ids = conversationsOf(fresh)
  const states = await loadStates(db, schema, cache ? ids.filter((id) => !cache.has(id)) : ids)
  if (cache) for (const id of ids) if (cache.has(id)) states.set(id, cache.get(id)!)
  const r = projectBatch(states, entries, offset, 'projector', now())
  if (touched) for (const id of ids) if (states.has(id)) touched.set(id, states.get(id)!)
  await writePlan(db, schema, r.plan)
  await writeDeadLetters(db, schema, r.deadLetters)
  return r
}

/** The advisory lock key of a views schema's shards (first key; the shard is the second). */
export const shardLockKey = (schema: string): number => fnv1a32(`${schema}:shards`) | 0
