import type { Names } from '@chatapp/contracts'
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type pg from 'pg'
import type { ArchiveSource } from './archived-log-reader.js'
import { ident, inTransaction } from './db.js'
import { openOrm } from './orm.js'
import { compareViews, type RowDifference } from './view-compare.js'
import { buildInto, fillViews, holdAndCatchUp, liveOffsets } from './views-builder.js'

export interface VerifyOptions {
  js: JetStreamClient
  jsm: JetStreamManager
  pool: pg.Pool
  databaseUrl: string
  names: Names
  batch: number
  conversationId?: string
  onProgress?: (events: number) => void
  /** History older than the streams (ADR 0201). */
  archive?: ArchiveSource
}

export interface VerifyResult {
  events: number
  offsets: number[]
  differences: RowDifference[]
}

/**
 * Recomputes the views from the log into a scratch schema, up to exactly the offsets the live
 * views stand at (the live projector pauses for the comparison only), and reports every row that
 * differs. The scratch schema is dropped afterwards.
 */
export const verify = async (o: VerifyOptions): Promise<VerifyResult> => {
  const live = o.names.dbSchemas.views
  const target = `${live}_verify_${Date.now().toString(36)}`
  const orm = await openOrm(o.databaseUrl, target, 1)
  await orm.close()
  try {
    const base = buildInto(o, target)
    const events = await fillViews({
      ...base,
      untilSeqs: await liveOffsets(o.pool, o),
      onProgress: (p) => o.onProgress?.(p.events),
    })
    return await inTransaction(o.pool, async (db) => {
      const offsets = await holdAndCatchUp(db, base)
      const differences = await compareViews(db, live, target, o.conversationId)
      return { events, offsets, differences }
    })
  } finally {
    await o.pool.query(`DROP SCHEMA IF EXISTS ${ident(target)} CASCADE`)
  }
}
