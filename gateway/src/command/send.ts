import { type ClientFrameOf, ERRORS, type ErrorCode, isChatError } from '@chatapp/contracts'
import { type Command, forwardSource } from '@chatapp/domain'
import { isTransient } from '@chatapp/kit'
import type { Outcome } from '../conversation/command-runner.js'
import type { Connection } from '../session/connection.js'
import type { CommandDeps } from './handler.js'

/** The code an error thrown by a command stands for at the edge. */
export const codeOfError = (err: unknown): ErrorCode =>
  isChatError(err) ? err.code : isTransient(err) ? 'UNAVAILABLE' : 'INTERNAL'

/** Later sends of `cid` on this connection are refused with `code` until one arrives with `retry: true`. */
export const blockSends = (conn: Connection, cid: string, code: ErrorCode): void => {
  conn.blocked ??= new Map()
  conn.blocked.set(cid, code)
}

/**
 * The order guard of a connection's sends to one conversation. The gateway stores a
 * conversation's sends in the order they arrive, and a client pipelines them; if one fails with a
 * retryable code (the log was unavailable for longer than the gateway's own retries), the sends
 * behind it must not be stored before it. So after such a failure every later send of that
 * conversation on this connection is refused with the same code until the failed one is resent
 * (`retry: true`); the client library resends them in order (docs/protocol.md, ADR 0080).
 */
const orderGuard = (conn: Connection, cid: string, retry: boolean) => ({
  before(): Outcome | undefined {
    const code = conn.blocked?.get(cid)
    if (code === undefined) return undefined
    if (!retry)
      return { ok: false, code, message: 'an earlier send to this conversation failed: resend it first' }
    conn.blocked?.delete(cid)
    return undefined
  },
  after(r: { outcome: Outcome } | { error: unknown }) {
    const code = 'outcome' in r ? (r.outcome.ok ? undefined : r.outcome.code) : codeOfError(r.error)
    if (code !== undefined && ERRORS[code].retryable) blockSends(conn, cid, code)
  },
})

/**
 * The source of a forward, judged on its conversation's folded state; a refusal that a stale
 * cache may cause (the message, or the forwarder's membership, is newer) is confirmed on the log.
 */
const sourceOf = async (d: CommandDeps, actor: string, from: { conversationId: string; seq: number }) => {
  const found = await d.messageAt(from.conversationId, from.seq)
  const judged = forwardSource(await d.store.get(from.conversationId), actor, from.seq, found)
  if (judged.ok || judged.code !== 'MESSAGE_NOT_FOUND') return judged
  return forwardSource(await d.store.refresh(from.conversationId, 'm'), actor, from.seq, found)
}

/** `send`: the request path reads straight — decide, append, verdict, answer (ADR 0080). */
export const sendHandler =
  (d: CommandDeps) =>
  async (conn: Connection, f: ClientFrameOf<'send'>): Promise<unknown> => {
    const p = conn.principal!
    const cid = f.conversationId
    const command = async (): Promise<Command> => ({
      type: 'send',
      actor: p.userId,
      deviceId: p.deviceId,
      clientMsgId: f.clientMsgId,
      kind: f.kind,
      text: f.text,
      mediaId: f.mediaId,
      media: f.mediaId && d.media ? await d.media.forAttach(f.mediaId, p.userId) : undefined,
      ...(f.replyTo !== undefined ? { replyTo: f.replyTo, quoted: await d.messageAt(cid, f.replyTo) } : {}),
      ...(f.forward ? { forward: await sourceOf(d, p.userId, f.forward) } : {}),
      ...(f.mentions ? { mentions: f.mentions } : {}),
    })
    // A retry (after a reconnect) may come after JetStream's duplicate window: the durable
    // record answers then. When the views cannot answer, the Msg-Id still catches a retry
    // inside the window, so an outage of the views never blocks sending.
    const lookup = f.retry ? d.sentLookup : undefined
    const recorded = lookup
      ? () =>
          lookup.find(cid, p.userId, f.clientMsgId).then(
            (found) => found?.seq,
            (err: unknown) => {
              d.logger.warn({ err, conversationId: cid }, 'sent-message lookup failed; relying on Msg-Id')
              return undefined
            },
          )
      : undefined
    // One frame per event per socket: the event of this send, when this connection receives it
    // live, carries the rid and answers the send; only otherwise does a `sent` frame.
    conn.expectEcho(cid, f.clientMsgId, f.rid)
    let out: Awaited<ReturnType<typeof d.runner.run>>
    try {
      out = await d.runner.run(cid, command, {
        msgId: `${cid}:${p.userId}:${f.clientMsgId}`,
        guard: orderGuard(conn, cid, f.retry === true),
        ...(recorded ? { recorded } : {}),
      })
    } catch (err) {
      conn.settleEcho(cid, f.clientMsgId, false)
      throw err
    }
    const ev = out.ok ? out.event : undefined
    const fresh = out.ok && !out.duplicate && out.seq !== undefined && ev?.type === 'message.sent'
    const echo = conn.settleEcho(
      cid,
      f.clientMsgId,
      fresh && d.feed.willDeliver(conn, cid, out.ok ? out.seq! : 0),
    )
    if (echo !== 'mine') return undefined
    if (!out.ok) return conn.error(out.code, f.rid, out.message)
    if (!out.seq || ev?.type !== 'message.sent') return conn.error('INTERNAL', f.rid)
    return conn.send({
      type: 'sent',
      rid: f.rid,
      conversationId: cid,
      clientMsgId: f.clientMsgId,
      seq: out.seq,
      n: ev.data.n,
      at: ev.at,
      duplicate: out.duplicate,
    })
  }
