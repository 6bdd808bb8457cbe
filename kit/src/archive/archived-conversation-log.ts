import type { Lane, Names } from '@chatapp/contracts'
import type { JetStreamManager } from '@nats-io/jetstream'
import type { ConversationLog, StoredEvent } from '../log/conversation-log.js'
import { type OnUndecodable, toStoredEvent } from '../log/stored-event.js'
import type { ArchiveReader } from './archive-reader.js'
import { archiveThenStream } from './archive-then-stream.js'
import { freshLookup } from './fresh-lookup.js'
import type { DecodedMessage } from './segment-format.js'
import { subjectMatcher } from './subject-match.js'

/**
 * The last archived sequence of each conversation subject (the archiver records them before it
 * may trim: ADR 0201). Asked only for a subject the stream holds nothing of any more.
 */
export interface ArchiveHeads {
  last(conversationId: string, lane: Lane): Promise<number>
}

export interface ArchivedLogOptions {
  jsm: JetStreamManager
  names: Names
  archive: ArchiveReader
  heads: ArchiveHeads
  onUndecodable?: OnUndecodable
}

const raw = (m: DecodedMessage) => ({ ...m, header: (h: string) => m.headers[h] })

/**
 * A conversation log whose history outlives the hot window (ADR 0201): reads below the stream's
 * first sequence come from the archive, in the same order and with the same decoding, so a reader
 * cannot tell where one ends and the other begins. Writes go to the stream as before; one refused
 * because its expected predecessor was trimmed is retried expecting "nothing on the subject"
 * (JetStream's view once the subject is empty), which is exact because the archive's head for the
 * subject says that predecessor is still the last one; `Chat-Prev` keeps the true predecessor.
 */
export const withArchive = (log: ConversationLog, o: ArchivedLogOptions): ConversationLog => {
  const n = o.names
  const streamOf = (id: string) => n.convStream(n.shardOf(id))
  // One stream-info request per shard at a time, however many reads ask (fresh-lookup.ts).
  const firstHot = freshLookup(
    async (stream: string): Promise<number> => (await o.jsm.streams.info(stream)).state.first_seq,
  )

  const fromArchive = async function* (id: string, after: number, upTo: number, lane?: Lane) {
    const stream = streamOf(id)
    const want = subjectMatcher(lane ? n.convSubject(id, lane) : n.convAllSubject(id))
    for await (const m of o.archive.read(n.shardOf(id), after, upTo, { match: want })) {
      const e = toStoredEvent(id, stream, raw(m), o.onUndecodable)
      if (e) yield e
    }
  }

  const read = (id: string, after: number, upTo: number, lane?: Lane): AsyncGenerator<StoredEvent> =>
    archiveThenStream<StoredEvent>({
      after,
      upTo,
      firstHot: () => firstHot(streamOf(id)),
      archive: (a, u) => fromArchive(id, a, u, lane),
      stream: (a, u) => log.read(id, a, u, lane),
    })

  return {
    ranges: log.ranges,
    read,
    async lastSeq(id, lane) {
      const hot = await log.lastSeq(id, lane)
      if (hot > 0 || (await firstHot(streamOf(id))) <= 1) return hot
      return o.heads.last(id, lane)
    },
    async get(id, seq) {
      const hot = await log.get(id, seq)
      if (hot || seq >= (await firstHot(streamOf(id)))) return hot
      for await (const e of fromArchive(id, seq - 1, seq)) return e
      return undefined
    },
    async append(event, opts = {}) {
      const r = await log.append(event, opts)
      const e = opts.expectLastSeq
      if (r.ok || r.reason !== 'wrong-last-sequence' || !e) return r
      // Refused: perhaps the expected predecessor was trimmed and the subject is empty in the
      // stream. If it is older than the stream and is the subject's last (per the archive),
      // expect exactly "nothing on the subject". Only refused appends pay for the check.
      const id = event.conversationId
      if (e >= (await firstHot(streamOf(id))) || (await o.heads.last(id, 'm')) !== e) return r
      const again = await log.append(event, { ...opts, expectLastSeq: 0, prev: e })
      return { ...again, uncertain: again.uncertain || r.uncertain }
    },
  }
}
