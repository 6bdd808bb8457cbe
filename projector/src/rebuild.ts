import { type Names, VIEW_TABLES, type ViewName } from '@chatapp/contracts'
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type pg from 'pg'
import type { ArchiveSource } from './archived-log-reader.js'
import { ident, inTransaction } from './db.js'
import { openOrm } from './orm.js'
import { carryOutbox } from './outbox.js'
import { VIEW_KEYS } from './view-compare.js'
import { buildInto, buildViews, fillViews, holdAndCatchUp, liveOffsets } from './views-builder.js'

export interface RebuildOptions {
  js: JetStreamClient
  jsm: JetStreamManager
  pool: pg.Pool
  databaseUrl: string
  names: Names
  batch: number
  /** Rebuild one view only; the others stay as they are. */
  view?: ViewName
  /** History older than the streams (ADR 0201). */
  archive?: ArchiveSource
  now?: () => number
  onProgress?: (p: { phase: 'build' | 'catch-up'; events: number; total: number }) => void
}

export interface RebuildResult {
  schema: string
  events: number
  seconds: number
  offsets: number[]
}

const streamTotal = async (o: RebuildOptions): Promise<number> => {
  let total = 0
  for (let s = 0; s < o.names.shards; s++)
    total += (await o.jsm.streams.info(o.names.convStream(s))).state.last_seq
  return total
}

/**
 * Blue/green rebuild. The views are refilled from sequence 1 of every shard into a fresh schema
 * (`<ns>_views_rb_<time>`) while the live views keep serving and the live projector keeps
 * applying. When the copy has caught up, one transaction takes the live projector's shard locks,
 * applies the last few events the live side got meanwhile, and switches: the whole schema by
 * rename (instant), or with `view` one table's rows. Readers never see a half-built view.
 */
export const rebuild = async (o: RebuildOptions): Promise<RebuildResult> => {
  const started = (o.now ?? Date.now)()
  const live = o.names.dbSchemas.views
  const stamp = started.toString(36)
  const target = `${live}_rb_${stamp}`
  const orm = await openOrm(o.databaseUrl, target, 1)
  await orm.close()
  const total = await streamTotal(o)
  const base = buildInto(o, target)
  let events = await fillViews({
    ...base,
    onProgress: (p) => o.onProgress?.({ phase: 'build', events: p.events, total }),
  })
  // Catch up without locks to whatever the live projector has reached, so the locked step is short.
  events += await buildViews({
    ...base,
    untilSeqs: await liveOffsets(o.pool, o),
    onProgress: (p) => o.onProgress?.({ phase: 'catch-up', events: events + p.events, total }),
  })
  const offsets = await inTransaction(o.pool, async (db) => {
    const offsets = await holdAndCatchUp(db, base)
    if (o.view) {
      const t = VIEW_TABLES[o.view]
      // One table: replace its rows in this transaction (readers keep the old rows until commit).
      await db.query(`DELETE FROM ${ident(live)}.${t}`)
      await db.query(
        `INSERT INTO ${ident(live)}.${t} SELECT * FROM ${ident(target)}.${t} ORDER BY ${VIEW_KEYS[o.view].join(', ')}`,
      )
      // A new version of every offset row: a live projector's state cache (state-cache.ts) was
      // built from the rows just replaced, and must read them again.
      await db.query(`UPDATE ${ident(live)}.projector_offsets SET updated_at = now()`)
    } else {
      // Effects committed by the live projector and not yet published go with the schema.
      await carryOutbox(db, live, target)
      await db.query(`ALTER SCHEMA ${ident(live)} RENAME TO ${ident(`${live}_old_${stamp}`)}`)
      await db.query(`ALTER SCHEMA ${ident(target)} RENAME TO ${ident(live)}`)
    }
    return offsets
  })
  // The previous copy (whole rebuild) or the scratch copy (one view) is no longer read by anyone.
  await o.pool.query(`DROP SCHEMA IF EXISTS ${ident(o.view ? target : `${live}_old_${stamp}`)} CASCADE`)
  return { schema: live, events, seconds: ((o.now ?? Date.now)() - started) / 1000, offsets }
}
