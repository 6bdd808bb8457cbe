import { decodeEvent, type Names, parseConvSubject } from '@chatapp/contracts'
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import { type ArchiveSource, readArchivedLog } from './archived-log-reader.js'
import { summarise } from './core/summary.js'

export interface ReplayLine {
  seq: number
  time: string
  type: string
  actor: string
  summary: string
}

/**
 * One conversation's events in log order, from `fromSeq` or `since`. A stored message that does
 * not decode is shown as `(invalid)` with the reason, never skipped: an operator replays a log to
 * see exactly what is in it.
 */
export async function* replay(
  js: JetStreamClient,
  jsm: JetStreamManager,
  n: Names,
  conversationId: string,
  from: { fromSeq?: number; since?: Date } = {},
  archive?: ArchiveSource,
): AsyncGenerator<ReplayLine> {
  const stream = n.convStream(n.shardOf(conversationId))
  for await (const batch of readArchivedLog(js, jsm, archive, {
    stream,
    subject: n.convAllSubject(conversationId),
    ...(from.fromSeq !== undefined ? { fromSeq: from.fromSeq } : {}),
    ...(from.since ? { since: from.since } : {}),
    batch: 500,
  })) {
    for (const e of batch) {
      if (parseConvSubject(e.subject)?.conversationId !== conversationId) continue
      const d = decodeEvent(e.data)
      if (d.ok) {
        const ev = d.value
        yield {
          seq: e.seq,
          time: new Date(ev.at).toISOString(),
          type: ev.type,
          actor: ev.actor,
          summary: summarise(ev),
        }
      } else {
        yield { seq: e.seq, time: '-', type: '(invalid)', actor: '-', summary: d.error.message }
      }
    }
  }
}
