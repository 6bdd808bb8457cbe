import { isTransient, unavailable, withRetry } from '@chatapp/kit'
import {
  type Consumer,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream'
import { type MsgHdrs, TimeoutError } from '@nats-io/nats-core'
import { boundedFetch } from './bounded-fetch.js'
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
 * How long a read waits out a NATS failover without progress before it fails. A new stream
 * leader takes 5–8 s, but creating the read's new consumer timed out (5 s each) up to six times
 * in a row after a node's death, as if nats-server 2.9 kept placing the R1 consumer on the dead
 * node: the bound is generous (ADR 0224).
 */
export const READ_RETRY_DEADLINE_MS = 60_000

/**
 * Reads a range of a shard stream in order, in batches, with an ordered consumer (ephemeral, no
 * acks, recreated by the client on a gap): what replay, rebuild and verify need. Ends at
 * `untilSeq`, or when nothing matching is left.
 *
 * A failover under the read — the node serving its consumer dies, the stream's leader changes —
 * does not end it: a transient failure (503, timeout, lost connection) re-creates the consumer
 * at the first event not yet yielded, within `deadlineMs` of the last progress; only then does it
 * fail, as UNAVAILABLE. The batch in hand when the failure came is dropped and read again, so
 * nothing is yielded twice.
 */
export async function* readLog(
  js: JetStreamClient,
  jsm: JetStreamManager,
  r: ReadRange,
  deadlineMs = READ_RETRY_DEADLINE_MS,
): AsyncGenerator<LogEntry[]> {
  const retry = <T>(f: () => Promise<T>) => withRetry('the log', f, { deadlineMs })
  const info = await retry(() => jsm.streams.info(r.stream))
  const until = Math.min(r.untilSeq ?? info.state.last_seq, info.state.last_seq)
  let next = Math.max(r.fromSeq ?? 1, info.state.first_seq)
  if (info.state.messages === 0 || until < next) return
  // Nothing stored under the filter in the range: an ordered consumer would wait for a first
  // message until its fetch expires (1 s; the most of a one-conversation verify's time, which
  // the audit runs per sampled conversation). One get of the first match says so at once.
  if (r.subject && !(await matchUpTo(jsm, r.stream, r.subject, next, until, retry))) return
  let since = r.since
  let started = Date.now()
  let pause = 50
  for (;;) {
    let consumer: Consumer | undefined
    try {
      consumer = await js.consumers.get(r.stream, {
        ...(r.subject ? { filter_subjects: r.subject } : {}),
        ...(since
          ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: since.toISOString() }
          : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: next }),
      })
      for await (const batch of fetchAll(consumer, r, until)) {
        yield batch
        next = batch[batch.length - 1]!.seq + 1
        since = undefined
        started = Date.now()
        pause = 50
      }
      if (next > until || since) return
      // The read ended on an empty fetch: true only if nothing matching is left in the range.
      // A consumer whose node has just died answers nothing too, and that must not cut the read
      // short (verify would compare a truncated log; a rebuild would silently stop early).
      if (!(await matchUpTo(jsm, r.stream, r.subject ?? '>', next, until, retry))) return
      throw new TimeoutError({
        cause: new Error(`the read's consumer delivered nothing from ${next} on; the stream has more`),
      })
    } catch (e) {
      if (!isTransient(e)) throw e
      // Not waited for: the consumer's node may be the one that died (a delete would wait out
      // its 5 s request timeout), and an orphan expires by itself (ordered consumers: 5 min).
      void consumer?.delete().catch(() => {})
      consumer = undefined
      if (Date.now() - started >= deadlineMs) throw unavailable('the log', e)
      await new Promise((res) => setTimeout(res, pause * (0.5 + Math.random() / 2)))
      pause = Math.min(1_000, pause * 2)
    } finally {
      // An ordered consumer outlives its last use by minutes unless deleted: a read leaves none.
      await consumer?.delete().catch(() => {})
    }
  }
}

/**
 * Whether anything under `filter` is stored in [from, until]: one get of the first match, asked
 * of the stream's leader (STREAM.MSG.GET, not a direct get a lagging follower may answer: ADR
 * 0081). null is "none"; a failure is retried and then thrown, never read as an empty range.
 * nats.js types the request without `next_by_subj`, which the server takes since 2.9.
 */
const matchUpTo = async (
  jsm: JetStreamManager,
  stream: string,
  filter: string,
  from: number,
  until: number,
  retry: <T>(f: () => Promise<T>) => Promise<T>,
): Promise<boolean> => {
  const query = { seq: from, next_by_subj: filter } as unknown as { seq: number }
  const first = await retry(() => jsm.streams.getMessage(stream, query))
  return first !== null && first.seq <= until
}

async function* fetchAll(consumer: Consumer, r: ReadRange, until: number): AsyncGenerator<LogEntry[]> {
  for (;;) {
    const batch: LogEntry[] = []
    let done = false
    let got = 0
    for await (const m of boundedFetch(consumer, r.batch)) {
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
