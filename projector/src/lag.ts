import type { Names } from '@chatapp/contracts'
import type { JetStreamManager } from '@nats-io/jetstream'
import type { Queryable } from './db.js'
import { storedAt } from './log-reader.js'
import { readOffset } from './offsets.js'
import { pendingAfter } from './stream-pending.js'

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

/**
 * Per shard: the stream's end, what the views applied (the stored offset), how many stream
 * events lie after it and how old the first of them is. Pending is counted in the stream, not
 * from the consumer (ADR 0100): the consumer is only a cache of the offset.
 */
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
    const appliedSeq = await readOffset(db, n.dbSchemas.views, shard).catch(() => 0)
    const { lastSeq, pending } = await pendingAfter(jsm, stream, appliedSeq)
    const ci = await jsm.consumers.info(stream, consumer).catch(() => undefined)
    // The oldest event not in the views is the one right after the applied offset.
    const oldest = pending > 0 ? await storedAt(jsm, stream, appliedSeq + 1) : undefined
    rows.push({
      consumer,
      stream,
      lastSeq,
      appliedSeq,
      pending,
      oldestAgeSeconds: oldest ? Math.max(0, (now - oldest.getTime()) / 1000) : 0,
      exists: ci !== undefined,
    })
  }
  return rows
}
