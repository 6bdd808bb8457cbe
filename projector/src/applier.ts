import type pg from 'pg'
import { type Applied, applyBisecting } from './bisect.js'
import { runCombined } from './combined-writes.js'
import type { Continuity } from './core/continuity.js'
import type { OutboxRoute } from './core/outbox-rows.js'
import type { ConvState } from './core/project.js'
import { type BatchResult, conversationsOf, type LogEntry, projectBatch } from './core/project-batch.js'
import type { Queryable } from './db.js'
import { offsetSql, openShardSql, readOffset, writeOffset } from './offsets.js'
import { outboxWrite } from './outbox.js'
import { deadLetterWrites, planWrites, runWrites, type Write } from './sql-writer.js'
import type { StateCache } from './state-cache.js'
import { loadStates } from './state-loader.js'
import type { StatementCombiner } from './statement-combiner.js'

export type { Applied } from './bisect.js'

export interface ApplyOptions {
  /** What vouches for a jump in sequence between the offset and the entries (core/continuity.ts). */
  continuity: Continuity
  now?: () => number
  /** The shard's states across batches (state-cache.ts); validated in every transaction. */
  cache?: StateCache
  /** The target is being filled without its secondary indexes (bulk-fill.ts). */
  bulk?: boolean
  /** Write the effects of admitted events to the outbox (the live projector only, ADR 0150). */
  effects?: OutboxRoute
  /** The fast path's statements are shared with the process's other shards (ADR 0226). */
  combiner?: StatementCombiner
}

/**
 * Applies a batch of one shard's log to a views schema, each attempt atomically with the move of
 * the shard's offset; a batch the database refuses for one event's data is split until that event
 * is found and dead-lettered (bisect.ts). Whatever the number of writers:
 * - events at or below the offset are skipped: a batch delivered again changes nothing;
 * - an event that does not follow the offset is not applied, nor anything after it (`hole`): the
 *   views are always a gapless prefix of the log (ADR 0100).
 *
 * Two paths, the same result (ADR 0102):
 * - fast, when the writer's StateCache knows where the shard stands and holds every state the
 *   batch needs: ONE statement, no transaction block, whose guard moves the offset only if the row
 *   is still at that offset and version and whose writes happen only if it did; the statement
 *   may carry other shards' batches too (combined-writes.ts, ADR 0226);
 * - careful, otherwise or when the guard finds the shard moved: a transaction that takes the shard
 *   lock and reads the offset (one round trip), reads the states not cached, writes everything as
 *   one statement, and moves the offset with COMMIT (one round trip).
 * Every write of the batch is in `writesOf` (views, dead letters, the effect outbox): both paths
 * carry them.
 */
export const applyBatch = (
  pool: pg.Pool,
  schema: string,
  shard: number,
  entries: readonly LogEntry[],
  o: ApplyOptions,
): Promise<Applied> =>
  applyBisecting(entries, async (part, refused) => {
    if (refused.size === 0) {
      // Any failure here is met again, and classified, by the careful path.
      const fast = await applyFast(pool, schema, shard, part, o).catch(() => undefined)
      if (fast) return fast
    }
    return applyCareful(pool, schema, shard, part, refused, o)
  })

/** The fast path; undefined when it does not apply or the shard was not where this writer left it. */
const applyFast = async (
  pool: pg.Pool,
  schema: string,
  shard: number,
  entries: readonly LogEntry[],
  o: ApplyOptions,
): Promise<Applied | undefined> => {
  const cache = o.cache
  const at = cache?.position()
  if (!cache || !at) return undefined
  const states = new Map<string, ConvState>()
  for (const id of conversationsOf(entries.filter((e) => e.seq > at.offset))) {
    const s = cache.get(id)
    if (!s) return undefined
    states.set(id, s)
  }
  const r = projectBatch(states, entries, {
    offset: at.offset,
    continuity: o.continuity,
    ...(o.effects ? { effects: o.effects } : {}),
    source: 'projector',
    now: (o.now ?? Date.now)(),
  })
  if (r.lastSeq > at.offset) {
    const part = {
      shard,
      from: at,
      lastSeq: r.lastSeq,
      lastAt: r.lastAt,
      writes: writesOf(schema, r, o.bulk === true),
    }
    const version = o.combiner
      ? await o.combiner.submit(part)
      : (await runCombined(pool, schema, [part]))?.get(shard)
    if (version === undefined) return undefined
    cache.committed(states, version, r.lastSeq)
  }
  const { plan: _, ...applied } = r
  return applied
}

/** The careful path: one transaction under the shard lock, reading the offset and states. */
const applyCareful = async (
  pool: pg.Pool,
  schema: string,
  shard: number,
  entries: readonly LogEntry[],
  refused: ReadonlyMap<number, string>,
  o: ApplyOptions,
): Promise<Applied> => {
  const db = await pool.connect()
  let broken = false
  try {
    const opened = (await db.query(openShardSql(schema, shard))) as unknown as pg.QueryResult<{
      last_seq: number
      version: string
    }>[]
    const row = opened[opened.length - 1]?.rows[0]
    const offset = Number(row?.last_seq ?? 0)
    o.cache?.validate(row?.version, offset)
    const touched = new Map<string, ConvState>()
    const r = await applyFrom(db, schema, entries, { ...o, offset, refused }, touched)
    let version = row?.version
    if (r.lastSeq > offset) {
      const done = (await db.query(
        `${offsetSql(schema, shard, r.lastSeq, r.lastAt)}; COMMIT`,
      )) as unknown as pg.QueryResult<{ version: string }>[]
      version = done[0]?.rows[0]?.version
    } else await db.query('COMMIT')
    o.cache?.committed(touched, version, Math.max(offset, r.lastSeq))
    return r
  } catch (e) {
    await db.query('ROLLBACK').catch(() => {
      broken = true
    })
    throw e
  } finally {
    // A connection that cannot even roll back is not given to the next batch.
    db.release(broken)
  }
}

/**
 * Applies a batch inside a transaction the caller owns (and whose locks it holds), offset
 * included; each attempt is a savepoint, so a refused event is dead-lettered here too.
 */
export const applyIn = (
  db: Queryable,
  schema: string,
  shard: number,
  entries: readonly LogEntry[],
  o: ApplyOptions,
): Promise<Applied> =>
  applyBisecting(entries, async (part, refused) => {
    await db.query('SAVEPOINT apply_batch')
    try {
      const offset = await readOffset(db, schema, shard)
      const r = await applyFrom(db, schema, part, { ...o, offset, refused })
      if (r.lastSeq > offset) await writeOffset(db, schema, shard, r.lastSeq, r.lastAt)
      await db.query('RELEASE SAVEPOINT apply_batch')
      return r
    } catch (e) {
      await db.query('ROLLBACK TO SAVEPOINT apply_batch')
      throw e
    }
  })

/**
 * Loads the states, projects, and sends every write of the batch; the offset is the caller's.
 * `touched` receives the states the batch ends with (for the cache, once committed).
 */
const applyFrom = async (
  db: Queryable,
  schema: string,
  entries: readonly LogEntry[],
  o: ApplyOptions & { offset: number; refused: ReadonlyMap<number, string> },
  touched?: Map<string, ConvState>,
): Promise<Applied> => {
  const ids = conversationsOf(entries.filter((e) => e.seq > o.offset))
  const cached = o.cache
  const states = await loadStates(db, schema, cached ? ids.filter((id) => !cached.get(id)) : ids)
  if (cached)
    for (const id of ids) {
      const s = cached.get(id)
      if (s) states.set(id, s)
    }
  const r = projectBatch(states, entries, {
    offset: o.offset,
    continuity: o.continuity,
    refused: o.refused,
    ...(o.effects ? { effects: o.effects } : {}),
    source: 'projector',
    now: (o.now ?? Date.now)(),
  })
  if (touched) for (const id of ids) if (states.has(id)) touched.set(id, states.get(id)!)
  await runWrites(db, writesOf(schema, r, o.bulk === true))
  const { plan: _, ...applied } = r
  return applied
}

/** Every write of a batch's transaction besides the offset, sent as one statement. */
const writesOf = (schema: string, r: BatchResult, bulk: boolean): Write[] => [
  ...planWrites(schema, r.plan, { bulk }),
  ...deadLetterWrites(schema, r.deadLetters),
  ...(r.effects.length > 0 ? [outboxWrite(schema, r.effects)] : []),
]
