import {
  type Consumer,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream'
import type { MsgHdrs } from '@nats-io/nats-core'
import type { LogEntry } from './core/project-batch.js'

export interface ReadRange {
  stream: string
  /** One conversation's subjects (`<ns>.conv.<shard>.<id>.*`), or the whole stream. */
  subject?: string
  fromSeq?: number
  since?: Date
  /** Stop after this sequence (inclusive); default: the stream's last sequence when reading starts. */
  untilSeq?: number
  batch: number
}

/**
 * Reads a range of a shard stream in order, in batches, with an ordered consumer (ephemeral, no
 * acks, recreated by the client on a gap): what replay, rebuild and verify need. Ends at
 * `untilSeq`, or when nothing matching is left.
 */
export async function* readLog(
  js: JetStreamClient,
  jsm: JetStreamManager,
  r: ReadRange,
): AsyncGenerator<LogEntry[]> {
  const info = await jsm.streams.info(r.stream)
  const until = Math.min(r.untilSeq ?? info.state.last_seq, info.state.last_seq)
  const from = Math.max(r.fromSeq ?? 1, info.state.first_seq)
  if (info.state.messages === 0 || until < from) return
  if (r.subject) {
    // Nothing stored under the filter in the range: an ordered consumer would wait for a first
    // message until its fetch expires (1 s; the most of a one-conversation verify's time, which
    // the audit runs per sampled conversation). One get of the first match says so at once; null
    // is "none", a failure is thrown (never read as an empty range). Asked of the stream's leader
    // (STREAM.MSG.GET, not a direct get a lagging follower may answer: ADR 0081); nats.js types
    // that request without `next_by_subj`, which the server takes since 2.9.
    const query = { seq: from, next_by_subj: r.subject } as unknown as { seq: number }
    const first = await jsm.streams.getMessage(r.stream, query)
    if (!first || first.seq > until) return
  }
  const consumer = await js.consumers.get(r.stream, {
    ...(r.subject ? { filter_subjects: r.subject } : {}),
    ...(r.since
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: r.since.toISOString() }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from }),
  })
  // Fetches, not a long-lived consume: an empty fetch (after its 1 s expiry) is how a read whose
  // start lies past the last match (a `since` in the future) learns there is nothing to read.
  try {
    yield* fetchAll(consumer, r, until)
  } finally {
    // An ordered consumer outlives its last use by minutes unless deleted: a read leaves none.
    await consumer.delete().catch(() => {})
  }
}

async function* fetchAll(consumer: Consumer, r: ReadRange, until: number): AsyncGenerator<LogEntry[]> {
  for (;;) {
    const batch: LogEntry[] = []
    let done = false
    let got = 0
    for await (const m of await consumer.fetch({ max_messages: r.batch, expires: 1000 })) {
      got++
      if (m.seq > until) {
        done = true
        break
      }
      batch.push(toLogEntry(r.stream, m))
      if (m.seq >= until || m.info.pending === 0) {
        done = true
        break
      }
    }
    if (batch.length > 0) yield batch
    if (done || got === 0) return
  }
}

/** A delivered message as a LogEntry, with its stored time and headers (kept by the archive). */
export const toLogEntry = (stream: string, m: JsMsg): LogEntry => ({
  stream,
  seq: m.seq,
  subject: m.subject,
  data: m.data,
  at: Math.floor(m.info.timestampNanos / 1e6),
  headers: headerRecord(m.headers),
})

/** Stored headers as a record (first value of each), for the archive. */
const headerRecord = (h: MsgHdrs | undefined): Record<string, string> => {
  const out: Record<string, string> = {}
  if (h) for (const k of h.keys()) out[k] = h.get(k)
  return out
}

/** The time a stored message was appended (for `lag`'s "age of the oldest pending"). */
export const storedAt = async (
  jsm: JetStreamManager,
  stream: string,
  seq: number,
): Promise<Date | undefined> => {
  try {
    const m = await jsm.streams.getMessage(stream, { seq })
    return m?.time
  } catch {
    return undefined
  }
}
