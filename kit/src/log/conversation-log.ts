import { type ChatEvent, encodeJson, HEADERS, type Lane, laneOf, type Names } from '@chatapp/contracts'
import { JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import { encodeHeaders } from '../nats-headers.js'
import { createJsRequests } from './js-requests.js'
import { mergeBySeq } from './merge-by-seq.js'
import { createRangeReader, type RangeReader, type RawStored } from './range-reader.js'
import { toStoredEvent } from './stored-event.js'
import { withRetry } from './transient.js'

/** A stored event with where it sits in the log. */
export interface StoredEvent {
  seq: number
  lane: Lane
  /** The writer's expectation (header `Chat-Prev`), when it appended with one: a lower bound of the previous `.m` sequence. */
  prev?: number
  event: ChatEvent
}

export type AppendResult =
  | { ok: true; seq: number; duplicate: boolean; uncertain: boolean }
  | { ok: false; reason: 'wrong-last-sequence'; uncertain: boolean }
  /**
   * A duplicate of a Msg-Id whose original has no sequence yet: nats-server stages the id with
   * sequence 0 when it proposes a message and sets it when the message is stored, so a resend in
   * between (a leader change) is acknowledged as a duplicate of 0, and keeps being so until the
   * duplicate window ends if that proposal was lost. Whether the event is stored is unknown.
   */
  | { ok: false; reason: 'unconfirmed-duplicate'; uncertain: boolean }

export interface AppendOptions {
  /** The `.m` sequence the event must follow (JetStream checks it on the leader; see ADR 0080). */
  expectLastSeq?: number
  /** De-duplication id within the stream's duplicate window. */
  msgId?: string
  /** The `Chat-Prev` header when it differs from `expectLastSeq` (a trimmed predecessor: ADR 0201). */
  prev?: number
}

/**
 * A conversation's log over JetStream: the one adapter every service appends and reads through
 * (gateway, media worker; the projector's whole-stream reads are its own). Guarantees:
 * - `append` retries transient failures (leader election, timeouts) with the same Msg-Id and
 *   expectation until `deadlineMs`, then throws UNAVAILABLE; `uncertain` says a failed attempt
 *   may have stored the event (a retry then finds it by Msg-Id, or not: see the command runner).
 * - reads never create server state that outlives them (ADR 0081), retry transient failures the
 *   same way, and skip what does not decode (reported to `onUndecodable`): one bad record must
 *   not make a conversation unreadable.
 */
export interface ConversationLog {
  lastSeq(conversationId: string, lane: Lane): Promise<number>
  /** Events with `after < seq <= upTo`, in order, from one lane or both. */
  read(
    conversationId: string,
    after: number,
    upTo: number,
    lane?: Lane,
  ): AsyncGenerator<StoredEvent, void, undefined>
  get(conversationId: string, seq: number): Promise<StoredEvent | undefined>
  append(event: ChatEvent, opts?: AppendOptions): Promise<AppendResult>
  /** Raw range reads of any stream (the per-user notices use it too). */
  readonly ranges: RangeReader
}

export interface ConversationLogOptions {
  /** How long an append or a read step keeps retrying transient failures. Default 10 s. */
  deadlineMs?: number
  /** One publish attempt's timeout. Default a third of the deadline, between 0.2 and 2 s. */
  attemptTimeoutMs?: number
  onUndecodable?: (where: { stream: string; seq: number; subject: string; reason: string }) => void
  onRetry?: (err: unknown) => void
  longReadAfter?: number
  maxLongReads?: number
}

const isWrongLast = (e: unknown) =>
  e instanceof JetStreamApiError &&
  (e.code === JetStreamApiCodes.StreamWrongLastSequence ||
    e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)

export const createConversationLog = async (
  nc: NatsConnection,
  n: Names,
  o: ConversationLogOptions = {},
): Promise<ConversationLog> => {
  const deadlineMs = o.deadlineMs ?? 10_000
  // Several attempts fit in the deadline, so an append resumes soon after a leader is elected.
  const attemptTimeout = o.attemptTimeoutMs ?? Math.min(2_000, Math.max(200, Math.floor(deadlineMs / 3)))
  const js = jetstream(nc)
  const jsm = await jetstreamManager(nc)
  const req = createJsRequests(nc)
  const ranges = createRangeReader(js, jsm, req, {
    deadlineMs,
    attemptTimeoutMs: attemptTimeout,
    ...(o.longReadAfter !== undefined ? { longReadAfter: o.longReadAfter } : {}),
    ...(o.maxLongReads !== undefined ? { maxLongReads: o.maxLongReads } : {}),
  })
  const stream = (id: string) => n.convStream(n.shardOf(id))

  const toStored = (id: string, stream: string, m: RawStored) => toStoredEvent(id, stream, m, o.onUndecodable)

  return {
    ranges,
    lastSeq: (id, lane) => ranges.last(stream(id), n.convSubject(id, lane)),
    async *read(id, after, upTo, lane) {
      const s = stream(id)
      // Each lane is walked by its literal subject and the lanes merged by sequence: on
      // nats-server 2.9 a get with a wildcard `next_by_subj` from an old cursor scans the stream
      // (22.5 ms of server CPU per get against 0.05 ms for a literal subject, measured in the
      // reconnect storm: ADR 0171), and catch-up after a long absence is exactly that read.
      const lanes: Lane[] = lane ? [lane] : ['m', 'r']
      const walks = lanes.map((l) => ranges.read(s, n.convSubject(id, l), after, upTo))
      for await (const m of walks.length === 1 ? walks[0]! : mergeBySeq(walks)) {
        const e = toStored(id, s, m)
        if (e) yield e
      }
    },
    async get(id, seq) {
      const s = stream(id)
      const m = await ranges.one(s, seq)
      return m ? toStored(id, s, m) : undefined
    },
    append(event, opts = {}) {
      const pairs: [string, string][] = [[HEADERS.eventType, event.type]]
      if (opts.msgId) pairs.push([HEADERS.msgId, opts.msgId])
      if (opts.expectLastSeq !== undefined)
        pairs.push(
          [HEADERS.expectedLastSubjectSeq, String(opts.expectLastSeq)],
          [HEADERS.prev, String(opts.prev ?? opts.expectLastSeq)],
        )
      const h = encodeHeaders(pairs)
      const subject = n.convSubject(event.conversationId, laneOf(event.type))
      const data = encodeJson(event)
      let uncertain = false
      return withRetry(
        'the conversation log',
        async (attempt): Promise<AppendResult> => {
          if (attempt > 0) uncertain = true
          try {
            const ack = await req.publish(subject, data, h, attemptTimeout)
            if (ack.duplicate && !(ack.seq > 0))
              return { ok: false, reason: 'unconfirmed-duplicate', uncertain: true }
            return { ok: true, seq: ack.seq, duplicate: ack.duplicate, uncertain }
          } catch (e) {
            if (isWrongLast(e)) return { ok: false, reason: 'wrong-last-sequence', uncertain }
            throw e
          }
        },
        { deadlineMs, ...(o.onRetry ? { onRetry: o.onRetry } : {}) },
      )
    },
  }
}
