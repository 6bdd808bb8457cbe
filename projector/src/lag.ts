import type { Names } from '@chatapp/contracts'
import type { JetStreamManager } from '@nats-io/jetstream'
import type { Queryable } from './db.js'
import { storedAt } from './log-reader.js'
import { readOffset } from './sql-writer.js'

export interface LagRow {
  consumer: string
  stream: string
  lastSeq: number
  appliedSeq: number
  pending: number
  /** Seconds since the oldest event not yet applied was appended; 0 when caught up. */
  oldestAgeSeconds: number
  exists: boolean
}

/** Per shard consumer: the stream's end, what the views applied, what is pending and how old it is. */
export const lag = async (
  jsm: JetStreamManager,
  db: Queryable,
  n: Names,
  now = Date.now(),
): Promise<LagRow[]> => {
  const rows: LagRow[] = []
  for (let shard = 0; shard < n.shards; shard++) {
    const stream = n.convStream(shard)
    const consumer = n.projectorConsumer(shard)
    const si = await jsm.streams.info(stream)
    const appliedSeq = await readOffset(db, n.dbSchemas.views, shard).catch(() => 0)
    const ci = await jsm.consumers.info(stream, consumer).catch(() => undefined)
    const pending = ci ? ci.num_pending + ci.num_ack_pending : si.state.last_seq - appliedSeq
    // The oldest event not in the views is the one right after the applied offset.
    const oldest = pending > 0 ? await storedAt(jsm, stream, appliedSeq + 1) : undefined
    rows.push({
      consumer,
      stream,
      lastSeq: si.state.last_seq,
      appliedSeq,
      pending,
      oldestAgeSeconds: oldest ? Math.max(0, (now - oldest.getTime()) / 1000) : 0,
      exists: ci !== undefined,
    })
  }
  return rows
}
