import { type ApiError, JetStreamApiError } from '@nats-io/jetstream'
import {
  createInbox,
  type Msg,
  type NatsConnection,
  NoRespondersError,
  TimeoutError,
} from '@nats-io/nats-core'
import { asPublishHeaders, type EncodedHeaders } from '../nats-headers.js'

/** The stored message a direct get returns. */
export interface DirectMsg {
  seq: number
  subject: string
  data: Uint8Array
  header(name: string): string | undefined
  /** When the stream's leader stored it (ms), where the reply says: leader gets do. */
  storedAt?: number
}

export interface PubAck {
  stream: string
  seq: number
  duplicate: boolean
}

/** `NATS/1.0\r\nName: value\r\n…` (the stored headers of a message get) → lower-cased name → first value. */
export const parseHeaders = (block: string): Map<string, string> => {
  const out = new Map<string, string>()
  for (const line of block.split('\r\n').slice(1)) {
    const i = line.indexOf(':')
    if (i <= 0) continue
    const name = line.slice(0, i).trim().toLowerCase()
    if (!out.has(name)) out.set(name, line.slice(i + 1).trim())
  }
  return out
}

const textDecoder = new TextDecoder()
const textEncoder = new TextEncoder()

/**
 * The two JetStream requests on the hot path — publish-with-ack and direct get — over one
 * wildcard inbox subscription per connection. nats.js builds an Error (with its stack) for every
 * request, even one that succeeds (its `cancel()` after the reply rejects a settled promise with a
 * new `RequestError`), which was ~6 % of the gateway's CPU per message; here a request costs a map
 * entry and a timer, and an Error is made only when something failed. Errors keep nats.js's types
 * (TimeoutError, NoRespondersError, JetStreamApiError) so callers classify them the same way.
 */
export const createJsRequests = (nc: NatsConnection, apiPrefix = '$JS.API') => {
  const inbox = `${createInbox()}.`
  const pending = new Map<
    number,
    { resolve(m: Msg): void; reject(e: unknown): void; timer: NodeJS.Timeout }
  >()
  let next = 0
  nc.subscribe(`${inbox}*`, {
    callback: (_err, msg) => {
      const id = Number(msg.subject.slice(inbox.length))
      const p = pending.get(id)
      if (!p) return // answered after its timeout
      pending.delete(id)
      clearTimeout(p.timer)
      p.resolve(msg)
    },
  })

  const request = (
    subject: string,
    data: Uint8Array,
    timeoutMs: number,
    headers?: EncodedHeaders,
  ): Promise<Msg> =>
    new Promise((resolve, reject) => {
      const id = ++next
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new TimeoutError())
      }, timeoutMs)
      pending.set(id, { resolve, reject, timer })
      try {
        nc.publish(subject, data, {
          reply: `${inbox}${id}`,
          ...(headers ? { headers: asPublishHeaders(headers) } : {}),
        })
      } catch (e) {
        pending.delete(id)
        clearTimeout(timer)
        reject(e)
      }
    })

  /** A status reply (no responders, not found, timeout) as the error nats.js would raise, or null. */
  const statusOf = (msg: Msg, subject: string): { code: number; error: unknown } | null => {
    const h = msg.headers
    if (!h?.hasError || msg.data.length > 0) return null
    if (h.code === 503) return { code: 503, error: new NoRespondersError(subject) }
    if (h.code === 408) return { code: 408, error: new TimeoutError() }
    return {
      code: h.code,
      error: new JetStreamApiError({ code: h.code, err_code: 0, description: h.description }),
    }
  }

  return {
    /** Publishes to a stream subject and resolves with its PubAck; rejects like js.publish. */
    async publish(
      subject: string,
      data: Uint8Array,
      headers: EncodedHeaders,
      timeoutMs: number,
    ): Promise<PubAck> {
      const msg = await request(subject, data, timeoutMs, headers)
      const status = statusOf(msg, subject)
      if (status) throw status.error
      const r = JSON.parse(textDecoder.decode(msg.data)) as Partial<PubAck> & { error?: ApiError }
      if (r.error) throw new JetStreamApiError(r.error)
      if (!r.stream || typeof r.seq !== 'number')
        throw new JetStreamApiError({ code: 500, err_code: 0, description: 'invalid ack' })
      return { stream: r.stream, seq: r.seq, duplicate: r.duplicate === true }
    },

    /**
     * A direct get from `stream` (any replica answers when the stream allows direct access):
     * the message, or null when nothing matches.
     */
    async directGet(
      stream: string,
      query: { seq: number } | { last_by_subj: string } | { seq: number; next_by_subj: string },
      timeoutMs: number,
    ): Promise<DirectMsg | null> {
      const subject = `${apiPrefix}.DIRECT.GET.${stream}`
      const msg = await request(subject, textEncoder.encode(JSON.stringify(query)), timeoutMs)
      const status = statusOf(msg, subject)
      if (status?.code === 404) return null
      if (status) throw status.error
      const h = msg.headers
      const seq = Number(h?.get('Nats-Sequence'))
      const storedSubject = h?.get('Nats-Subject') ?? ''
      if (!Number.isInteger(seq) || !storedSubject) {
        // Not a direct-get reply: a JSON API error (e.g. the stream does not allow direct gets).
        const r = JSON.parse(textDecoder.decode(msg.data)) as { error?: ApiError }
        throw new JetStreamApiError(
          r.error ?? { code: 500, err_code: 0, description: 'invalid direct get reply' },
        )
      }
      return { seq, subject: storedSubject, data: msg.data, header: (name) => h?.get(name) || undefined }
    },

    /**
     * A get answered by the stream's leader only (`STREAM.MSG.GET`): the message, or null when
     * nothing matches. Slower than a direct get (JSON and base64), but it reads what the writers'
     * expectations are checked against: a follower answers a direct get from its own copy, which
     * lags the leader, and on nats-server 2.9 may even hold messages the leader never committed
     * (seen after a leader was killed -9 in the chaos run: a replica with four messages more than
     * its leader, which a gateway read as the last sequence and could never append after).
     */
    async leaderGet(
      stream: string,
      query: { seq: number } | { last_by_subj: string } | { seq: number; next_by_subj: string },
      timeoutMs: number,
    ): Promise<DirectMsg | null> {
      const subject = `${apiPrefix}.STREAM.MSG.GET.${stream}`
      const msg = await request(subject, textEncoder.encode(JSON.stringify(query)), timeoutMs)
      const status = statusOf(msg, subject)
      if (status) throw status.error
      const r = JSON.parse(textDecoder.decode(msg.data)) as {
        error?: ApiError
        message?: { subject: string; seq: number; hdrs?: string; data?: string; time?: string }
      }
      // 10037: no message found (the same answer a direct get gives as a 404 status).
      if (r.error?.err_code === 10037) return null
      if (r.error) throw new JetStreamApiError(r.error)
      const m = r.message
      if (!m || !Number.isInteger(m.seq) || !m.subject)
        throw new JetStreamApiError({ code: 500, err_code: 0, description: 'invalid message get reply' })
      const headers = m.hdrs ? parseHeaders(Buffer.from(m.hdrs, 'base64').toString('utf8')) : undefined
      const data = m.data ? new Uint8Array(Buffer.from(m.data, 'base64')) : new Uint8Array(0)
      return {
        seq: m.seq,
        subject: m.subject,
        data,
        header: (name) => headers?.get(name.toLowerCase()) || undefined,
        storedAt: m.time ? Date.parse(m.time) : undefined,
      }
    },

    /** Requests in flight (tests, metrics). */
    inFlight: () => pending.size,
  }
}

export type JsRequests = ReturnType<typeof createJsRequests>
