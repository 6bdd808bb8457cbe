import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import { nanos } from '@nats-io/nats-core'
import type { DirectMsg, JsRequests } from './js-requests.js'
import { withRetry } from './transient.js'

/** One stored message as a range read yields it. */
export interface RawStored {
  seq: number
  subject: string
  data: Uint8Array
  header(name: string): string | undefined
  /** When the stream stored it (ms, the server's clock), where the read says. */
  storedAt?: number
}

export interface RangeReaderOptions {
  /** Bound of the retries of one read step while the stream is unavailable. */
  deadlineMs: number
  /** Messages read by gets before a long read switches to a consumer. */
  longReadAfter?: number
  /** Consumers one process holds open at once for long reads; more wait their turn. */
  maxLongReads?: number
  /** How long a consumer a crashed reader left behind survives (it is deleted when a read ends). */
  orphanTtlMs?: number
  /** One direct get's timeout. */
  attemptTimeoutMs?: number
  /** How long one pull of a long read's consumer waits for messages. */
  fetchExpiresMs?: number
}

/**
 * Reads of a range of one subject filter, in stream order, that leave nothing behind on the
 * server (ADR 0081). Short ranges — the common case: a reconnect after a few minutes, a gap of
 * one lost live event — walk the subject with gets (`next_by_subj`) that the stream's leader
 * answers (not any replica: see `leaderGet`), which create no server state. A range longer than `longReadAfter` messages
 * continues through one ephemeral consumer that is deleted the moment the read ends (and expires
 * after `orphanTtlMs` if the process dies first); at most `maxLongReads` exist per process (a read finding none free goes on by gets). So the
 * number of JetStream consumers never grows with sessions or reads.
 */
export const createRangeReader = (
  js: JetStreamClient,
  jsm: JetStreamManager,
  req: JsRequests,
  o: RangeReaderOptions,
) => {
  const attemptTimeout = o.attemptTimeoutMs ?? 2_000
  const longReadAfter = o.longReadAfter ?? 64
  const maxLong = o.maxLongReads ?? 4
  const orphanTtl = o.orphanTtlMs ?? 10_000
  const fetchExpires = o.fetchExpiresMs ?? 2_000
  let longReads = 0
  /**
   * A slot for a long read's consumer, or false when all are taken: the read then goes on by gets
   * rather than waiting. Waiting could deadlock — a merged read of two lanes (conversation-log.ts)
   * holds one lane's slot while it pulls the other, and a few such reads can hold every slot.
   */
  const tryAcquire = (): boolean => {
    if (longReads >= maxLong) return false
    longReads++
    return true
  }
  const release = () => {
    longReads--
  }
  const retry = <T>(f: () => Promise<T>) => withRetry('the log', f, { deadlineMs: o.deadlineMs })
  /** A get from the stream's leader: null when nothing matches. */
  const direct = (stream: string, q: Parameters<JsRequests['leaderGet']>[1]): Promise<DirectMsg | null> =>
    retry(() => req.leaderGet(stream, q, attemptTimeout))
  const directNext = (stream: string, filter: string, from: number) =>
    direct(stream, { seq: from, next_by_subj: filter })

  async function* viaConsumer(
    stream: string,
    filter: string,
    from: number,
    upTo: number,
  ): AsyncGenerator<RawStored, number, undefined> {
    if (!tryAcquire()) return from
    let name: string | undefined
    let next = from
    try {
      const ci = await retry(() =>
        jsm.consumers.add(stream, {
          filter_subject: filter,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: from,
          ack_policy: AckPolicy.None,
          inactive_threshold: nanos(orphanTtl),
          mem_storage: true,
          num_replicas: 1,
        }),
      )
      name = ci.name
      // A consumer delivers from its own node's copy of the stream. Only one on the stream's
      // leader reads what the leader holds (see `leaderGet`); elsewhere the walk goes on by gets.
      const leader = (await retry(() => jsm.streams.info(stream))).cluster?.leader
      if (leader && ci.cluster?.leader && ci.cluster.leader !== leader) return next
      const c = await retry(() => js.consumers.get(stream, ci.name))
      for (;;) {
        let got = 0
        for await (const m of await c.fetch({ max_messages: 256, expires: fetchExpires })) {
          got++
          if (m.seq > upTo) return upTo + 1
          next = m.seq + 1
          yield {
            seq: m.seq,
            subject: m.subject,
            data: m.data,
            header: (h) => m.headers?.get(h) || undefined,
          }
          if (m.seq >= upTo || m.info.pending === 0) return upTo + 1
        }
        // A pull that expired empty says the server had nothing for it in time, not that the
        // range is done (a starved server, a partition): the gets after it find the end exactly.
        if (got === 0) return next
      }
    } catch {
      // The consumer path failed (leader change, consumer lost): the walk goes on by gets.
      return next
    } finally {
      if (name) jsm.consumers.delete(stream, name).catch(() => {})
      release()
    }
  }

  /** Messages of `filter` with `after < seq <= upTo`, in order. */
  async function* read(
    stream: string,
    filter: string,
    after: number,
    upTo: number,
  ): AsyncGenerator<RawStored, void, undefined> {
    let next = after + 1
    let count = 0
    while (next <= upTo) {
      if (count === longReadAfter) {
        next = yield* viaConsumer(stream, filter, next, upTo)
        count++
        continue
      }
      const m = await directNext(stream, filter, next)
      if (!m || m.seq > upTo) return
      count++
      next = m.seq + 1
      yield m
    }
  }

  /** The last sequence stored under `subject` (0 when none). */
  const last = async (stream: string, subject: string): Promise<number> => {
    const m = await direct(stream, { last_by_subj: subject })
    return m?.seq ?? 0
  }

  const one = async (stream: string, seq: number): Promise<RawStored | undefined> => {
    return (await direct(stream, { seq })) ?? undefined
  }

  return { read, last, one, longReadsOpen: () => longReads }
}

export type RangeReader = ReturnType<typeof createRangeReader>
