import {
  type ChatEvent,
  decodeEvent,
  encodeJson,
  HEADERS,
  type Lane,
  laneOf,
  type Names,
  parseConvSubject,
} from '@chatapp/contracts'
import {
  DeliverPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream'
import { type NatsConnection, headers as natsHeaders } from '@nats-io/nats-core'

/** A stored event with where it sits in the log. */
export interface StoredEvent {
  seq: number
  lane: Lane
  /**
   * The previous sequence on the `.m` lane, as the appender knew it (the subject-sequence
   * expectation it published under; header `Chat-Prev`). Undefined for events appended without
   * one (receipts, media state), so a replay can state `prev` exactly without a backward scan.
   */
  prev?: number
  event: ChatEvent
}

export type AppendResult =
  | { ok: true; seq: number; duplicate: boolean }
  | { ok: false; reason: 'wrong-last-sequence' }

/**
 * The conversation log over JetStream: the only file of the conversation module that speaks
 * NATS. Reads use direct gets (last sequence of a subject) and short-lived ordered consumers
 * (ranges); writes are publishes with optional subject-sequence expectation and Msg-Id.
 */
export interface ConversationLog {
  /** Last stream sequence on a subject of the conversation (0 when empty). */
  lastSeq(conversationId: string, lane: Lane): Promise<number>
  /**
   * Events of the conversation with `after < seq <= upTo`, in order, from one lane or both. Stops at
   * `upTo` (known beforehand, so an empty range never waits for a fetch to expire).
   */
  read(
    conversationId: string,
    after: number,
    upTo: number,
    lane?: Lane,
  ): AsyncGenerator<StoredEvent, void, undefined>
  /** One stored event by sequence (for a duplicate PubAck: the original message). */
  get(conversationId: string, seq: number): Promise<StoredEvent | undefined>
  append(event: ChatEvent, opts: { expectLastSeq?: number; msgId?: string }): Promise<AppendResult>
  readonly js: JetStreamClient
  readonly jsm: JetStreamManager
}

/** The appender's known previous `.m` sequence, stored with the event (see StoredEvent.prev). */
export const PREV_HEADER = 'Chat-Prev'

const isWrongLast = (e: unknown) => e instanceof JetStreamApiError && e.code === 10071
const isNotFound = (e: unknown) => e instanceof JetStreamApiError && (e.code === 10037 || e.status === 404)

export const createConversationLog = async (nc: NatsConnection, n: Names): Promise<ConversationLog> => {
  const js = jetstream(nc)
  const jsm = await jetstreamManager(nc)
  const stream = (id: string) => n.convStream(n.shardOf(id))

  const toStored = (
    subject: string,
    seq: number,
    data: Uint8Array,
    prevHeader: string | undefined,
  ): StoredEvent | undefined => {
    const p = parseConvSubject(subject)
    const d = decodeEvent(data)
    // A stored event we cannot decode is skipped (and visible to the projector's dead letters):
    // one bad record must not make a conversation unreadable.
    if (!p || !d.ok) return undefined
    const prev = prevHeader ? Number(prevHeader) : Number.NaN
    return { seq, lane: p.lane, event: d.value, ...(Number.isInteger(prev) ? { prev } : {}) }
  }

  const lastOn = async (subject: string, streamName: string): Promise<number> => {
    try {
      const m = await jsm.direct.getMessage(streamName, { last_by_subj: subject })
      return m?.seq ?? 0
    } catch (e) {
      if (isNotFound(e)) return 0
      throw e
    }
  }

  return {
    js,
    jsm,
    lastSeq: (id, lane) => lastOn(n.convSubject(id, lane), stream(id)),
    async *read(id, after, upTo, lane) {
      const filter = lane ? n.convSubject(id, lane) : n.convAllSubject(id)
      for await (const m of readRange(js, stream(id), filter, after, upTo)) {
        const s = toStored(m.subject, m.seq, m.data, m.prev)
        if (s) yield s
      }
    },
    async get(id, seq) {
      try {
        const m = await jsm.direct.getMessage(stream(id), { seq })
        return m ? toStored(m.subject, m.seq, m.data, m.header.get(PREV_HEADER) || undefined) : undefined
      } catch (e) {
        if (isNotFound(e)) return undefined
        throw e
      }
    },
    async append(event, opts) {
      const lane = laneOf(event.type)
      const h = natsHeaders()
      h.set(HEADERS.eventType, event.type)
      if (opts.expectLastSeq !== undefined) h.set(PREV_HEADER, String(opts.expectLastSeq))
      try {
        const ack = await js.publish(n.convSubject(event.conversationId, lane), encodeJson(event), {
          headers: h,
          ...(opts.msgId ? { msgID: opts.msgId } : {}),
          ...(opts.expectLastSeq !== undefined
            ? { expect: { lastSubjectSequence: opts.expectLastSeq } }
            : {}),
        })
        return { ok: true, seq: ack.seq, duplicate: ack.duplicate }
      } catch (e) {
        if (isWrongLast(e)) return { ok: false, reason: 'wrong-last-sequence' }
        throw e
      }
    },
  }
}

/**
 * Raw messages of `stream` matching `filter` with `after < seq <= upTo`, in order, through an
 * ordered consumer (server-side, so nothing is left behind when we stop early).
 */
export async function* readRange(
  js: JetStreamClient,
  stream: string,
  filter: string,
  after: number,
  upTo: number,
): AsyncGenerator<
  { subject: string; seq: number; data: Uint8Array; prev: string | undefined },
  void,
  undefined
> {
  if (upTo <= after) return
  const c = await js.consumers.get(stream, {
    filter_subjects: filter,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: after + 1,
  })
  for (;;) {
    const batch = await c.fetch({ max_messages: 256, expires: 2000 })
    let got = 0
    for await (const m of batch) {
      got++
      if (m.seq > upTo) return
      yield { subject: m.subject, seq: m.seq, data: m.data, prev: m.headers?.get(PREV_HEADER) || undefined }
      if (m.seq >= upTo || m.info.pending === 0) return
    }
    if (got === 0) return
  }
}
