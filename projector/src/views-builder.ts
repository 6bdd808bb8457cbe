import type { Names } from '@chatapp/contracts'
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type pg from 'pg'
import { applyBatch, applyIn } from './applier.js'
import { type ArchiveSource, readArchivedLog } from './archived-log-reader.js'
import { dropSecondaryIndexes, restoreSecondaryIndexes } from './bulk-fill.js'
import type { Queryable } from './db.js'
import { readOffset, shardLockKey } from './offsets.js'
import { StateCache } from './state-cache.js'

export interface BuildOptions {
  js: JetStreamClient
  jsm: JetStreamManager
  pool: pg.Pool
  names: Names
  /** The schema being filled (already migrated). */
  target: string
  batch: number
  /** Only this conversation's events (verify of one conversation). */
  conversationId?: string
  /** Per shard, the last sequence to apply; default: each stream's last sequence now. */
  untilSeqs?: number[]
  onProgress?: (p: { shard: number; seq: number; events: number }) => void
  /** The target's secondary indexes are dropped for the fill (see fillViews). */
  bulk?: boolean
  /** Where history older than the streams is read (ADR 0201); without it, the streams only. */
  archive?: ArchiveSource
}

/** The options of a build into `target` from a command's options (rebuild, verify). */
export const buildInto = (
  o: Pick<BuildOptions, 'js' | 'jsm' | 'pool' | 'names' | 'batch' | 'conversationId' | 'archive'>,
  target: string,
): Omit<BuildOptions, 'untilSeqs' | 'onProgress' | 'bulk'> => ({
  js: o.js,
  jsm: o.jsm,
  pool: o.pool,
  names: o.names,
  target,
  batch: o.batch,
  ...(o.conversationId ? { conversationId: o.conversationId } : {}),
  ...(o.archive ? { archive: o.archive } : {}),
})

const shardsOf = (o: { names: Names; conversationId?: string }): number[] =>
  o.conversationId !== undefined
    ? [o.names.shardOf(o.conversationId)]
    : Array.from({ length: o.names.shards }, (_, i) => i)

/**
 * Fills `target` from the log, shard by shard, from wherever its own offsets stand (so it can
 * be called again to catch up). Returns the number of events read.
 */
export const buildViews = async (o: BuildOptions): Promise<number> => {
  let events = 0
  const one = async (shard: number) => {
    // The scratch schema has this one writer per shard: its states stay valid across batches.
    const cache = new StateCache(200_000)
    const from = (await readOffset(o.pool, o.target, shard)) + 1
    const until = o.untilSeqs?.[shard]
    if (until !== undefined && until < from) return
    const log = readArchivedLog(o.js, o.jsm, o.archive, {
      stream: o.names.convStream(shard),
      ...(o.conversationId ? { subject: o.names.convAllSubject(o.conversationId) } : {}),
      fromSeq: from,
      ...(until !== undefined ? { untilSeq: until } : {}),
      batch: o.batch,
    })
    for await (const entries of readAhead(log)) {
      // An ordered consumer reads the range: it vouches for every jump (a filter, deleted messages).
      await applyBatch(o.pool, o.target, shard, entries, {
        continuity: READER,
        cache,
        ...(o.bulk ? { bulk: true } : {}),
      })
      events += entries.length
      o.onProgress?.({ shard, seq: entries[entries.length - 1]!.seq, events })
    }
  }
  // Shards are independent logs: a few at once keep NATS reads and PostgreSQL writes overlapping.
  const queue = shardsOf(o)
  const worker = async () => {
    for (let s = queue.shift(); s !== undefined; s = queue.shift()) await one(s)
  }
  await Promise.all(Array.from({ length: Math.min(BUILD_CONCURRENCY, queue.length) }, worker))
  return events
}

/**
 * Fills a freshly migrated `target` from sequence 1: without its secondary indexes, built once at
 * the end (bulk-fill.ts). Returns the number of events read.
 */
export const fillViews = async (o: Omit<BuildOptions, 'bulk'>): Promise<number> => {
  const saved = await dropSecondaryIndexes(o.pool, o.target)
  const events = await buildViews({ ...o, bulk: true })
  await restoreSecondaryIndexes(o.pool, o.target, saved)
  return events
}

/** Asks for the next batch while the caller applies this one, so reading and writing overlap. */
async function* readAhead<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  let next = source.next()
  try {
    for (;;) {
      const r = await next
      if (r.done) return
      next = source.next()
      // Awaited at the next turn; until then a failure must not count as unhandled.
      next.catch(() => {})
      yield r.value
    }
  } finally {
    // The caller stopped early (a failed apply): let the read in flight end, then end the source.
    await next.catch(() => {})
    await source.return(undefined)
  }
}

const BUILD_CONCURRENCY = 4
const READER = { kind: 'reader' } as const

/** The live views' offset of every shard (0 where nothing was applied yet). */
export const liveOffsets = async (db: Queryable, o: { names: Names }): Promise<number[]> => {
  const out: number[] = []
  for (let s = 0; s < o.names.shards; s++) out.push(await readOffset(db, o.names.dbSchemas.views, s))
  return out
}

/**
 * Inside the caller's transaction: takes the live projector's shard locks (it pauses for the
 * rest of the transaction), then applies to `target` whatever the live views have applied and
 * `target` has not, so both stand at exactly the same offsets while the transaction lasts.
 */
export const holdAndCatchUp = async (
  db: pg.PoolClient,
  o: Omit<BuildOptions, 'untilSeqs' | 'onProgress'>,
) => {
  const live = o.names.dbSchemas.views
  for (let s = 0; s < o.names.shards; s++)
    await db.query('SELECT pg_advisory_xact_lock($1, $2)', [shardLockKey(live), s])
  const offsets = await liveOffsets(db, o)
  for (const shard of shardsOf(o)) {
    const from = (await readOffset(db, o.target, shard)) + 1
    if (offsets[shard]! < from) continue
    for await (const entries of readArchivedLog(o.js, o.jsm, o.archive, {
      stream: o.names.convStream(shard),
      ...(o.conversationId ? { subject: o.names.convAllSubject(o.conversationId) } : {}),
      fromSeq: from,
      untilSeq: offsets[shard]!,
      batch: o.batch,
    }))
      await applyIn(db, o.target, shard, entries, { continuity: READER })
  }
  return offsets
}
