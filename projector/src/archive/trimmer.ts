import { AckPolicy, type JetStreamManager } from '@nats-io/jetstream'
import type pg from 'pg'
import { readOffset } from '../offsets.js'
import type { ArchiveDb } from './archive-heads.js'
import { keepForSize, trimPoint } from './trim-point.js'

export interface HotWindow {
  /** Keep at least this long in the stream (0: no age limit). */
  maxAgeMs: number
  /** Keep at most this many bytes in the stream (0: no size limit). */
  maxBytes: number
}

export interface TrimContext {
  jsm: JetStreamManager
  pool: pg.Pool
  db: ArchiveDb
  viewsSchema: string
  stream: string
  /** `<ns>.conv.<shard>.>`: every subject of the stream. */
  subjects: string
  shard: number
  hot: HotWindow
  now: () => number
}

/** The stored time of the first message at or after `seq` (undefined past the end). */
const timeAtOrAfter = async (
  c: TrimContext,
  seq: number,
): Promise<{ seq: number; at: number } | undefined> => {
  // STREAM.MSG.GET with next_by_subj (taken by the server since 2.9; nats.js does not type it).
  const q = { seq, next_by_subj: c.subjects } as unknown as { seq: number }
  const m = await c.jsm.streams.getMessage(c.stream, q).catch(() => null)
  return m ? { seq: m.seq, at: m.time.getTime() } : undefined
}

/** The first sequence in [lo, hi] stored after `cutoff` (hi + 1 when none): a binary search by gets. */
const firstYoungerThan = async (c: TrimContext, lo: number, hi: number, cutoff: number): Promise<number> => {
  let a = lo
  let b = hi + 1
  while (a < b) {
    const mid = Math.floor((a + b) / 2)
    const m = await timeAtOrAfter(c, mid)
    if (!m || m.seq > hi) b = mid
    else if (m.at > cutoff) b = mid
    else a = m.seq + 1
  }
  return a
}

/**
 * The first sequence each consumer of the stream still needs: past its ack floor when it acks;
 * when it does not (an ordered reader), past what it was delivered. A consumer that acked nothing
 * yet needs everything from where it started.
 */
const consumerFloors = async (c: TrimContext): Promise<number[]> => {
  const out: number[] = []
  for await (const ci of c.jsm.consumers.list(c.stream)) {
    if (ci.config.ack_policy === AckPolicy.None) out.push(ci.delivered.stream_seq + 1)
    else if (ci.ack_floor.stream_seq > 0) out.push(ci.ack_floor.stream_seq + 1)
    else out.push(ci.config.opt_start_seq ?? 1)
  }
  return out
}

/**
 * One trimming step of a shard stream: works out how far it may go (trim-point.ts) and purges
 * up to there. Returns the sequences purged (0 when none).
 */
export const trimOnce = async (c: TrimContext, archivedTo: number): Promise<number> => {
  if (c.hot.maxAgeMs <= 0 && c.hot.maxBytes <= 0) return 0
  const si = await c.jsm.streams.info(c.stream)
  const first = si.state.first_seq
  const projected = await readOffset(c.pool, c.viewsSchema, c.shard)
  // The projector commits asynchronously: make what it reported durable before relying on it.
  await c.db.flush()
  const floors = await consumerFloors(c)
  const cap = Math.min(archivedTo, projected, ...floors.map((f) => f - 1))
  if (cap < first) return 0
  const keep = trimPoint({
    first,
    archivedTo,
    projected,
    consumerFloors: floors,
    ...(c.hot.maxAgeMs > 0
      ? { keepByAge: await firstYoungerThan(c, first, cap, c.now() - c.hot.maxAgeMs) }
      : {}),
    ...(c.hot.maxBytes > 0
      ? { keepBySize: keepForSize(first, si.state.messages, si.state.bytes, c.hot.maxBytes) }
      : {}),
  })
  if (keep === undefined) return 0
  const r = await c.jsm.streams.purge(c.stream, { seq: keep })
  return r.purged
}
