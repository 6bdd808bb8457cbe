import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
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
  const consumer = await js.consumers.get(r.stream, {
    ...(r.subject ? { filter_subjects: r.subject } : {}),
    ...(r.since
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: r.since.toISOString() }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from }),
  })
  const messages = await consumer.consume({ max_messages: Math.max(r.batch * 2, 256) })
  let batch: LogEntry[] = []
  try {
    // A filtered read may have nothing to deliver at all: check before waiting for a message.
    const first = await consumer.info(true)
    if (first.num_pending === 0) return
    for await (const m of messages) {
      if (m.seq > until) break
      batch.push({ stream: r.stream, seq: m.seq, subject: m.subject, data: m.data })
      const done = m.seq >= until || m.info.pending === 0
      if (batch.length >= r.batch || done) {
        yield batch
        batch = []
      }
      if (done) break
    }
    if (batch.length > 0) yield batch
  } finally {
    await messages.close()
  }
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
