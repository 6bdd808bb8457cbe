import { type ClientFrame, decodeClientFrame, isChatError } from '@chatapp/contracts'
import type { Admission } from '../session/admission.js'
import type { Connection } from '../session/connection.js'
import { MAX_HELD_FRAMES, type Sessions } from '../session/sessions.js'
import { conversationHandlers } from './groups.js'
import type { CommandDeps, Handler, HandlerTable } from './handler.js'
import { inviteLinkHandlers } from './invite-links.js'
import { messageHandlers } from './messages.js'
import { blockSends, codeOfError, sendHandler } from './send.js'
import { signalHandlers } from './signals.js'

/** Refused frames in a row (while rate limited) before the socket is closed with 4429. */
const MAX_STRIKES = 20
/** Frames up to this size are parsed for their `rid` even when refused by the rate limiter. */
const RID_PARSE_LIMIT = 4_096

export interface FrameRouterOptions {
  syncTail: number
  /** The line syncs wait in (ADR 0172). */
  syncAdmission: Admission
  onFrame?: (type: string) => void
  onError?: (code: string) => void
}

/**
 * The path of a frame, top to bottom: rate limits → decode → (not yet authenticated: `auth`
 * only) → the handler of its type → an `error` frame answering its `rid` if anything refused or
 * failed. Every error that answers a frame with a `rid` carries it.
 */
export const createFrameRouter = (d: CommandDeps, sessions: Sessions, o: FrameRouterOptions) => {
  const table: HandlerTable = {
    send: sendHandler(d),
    ...conversationHandlers(d),
    ...messageHandlers(d),
    ...inviteLinkHandlers(d),
    ...signalHandlers(d, o.syncTail, o.syncAdmission),
  }
  const ridOf = (f: ClientFrame): string | undefined => ('rid' in f ? f.rid : undefined)

  /**
   * What the rate limiter needs of a frame it refuses, when it is cheap to find: the `rid` to
   * answer, and for a send its conversation (which the order guard then blocks: the sends pipelined
   * behind a refused one must not be stored before its resend).
   */
  const peek = (data: ArrayBuffer): { rid?: string; sendTo?: string } => {
    if (data.byteLength > RID_PARSE_LIMIT) return {}
    try {
      const f = JSON.parse(Buffer.from(data).toString('utf8')) as {
        rid?: unknown
        type?: unknown
        conversationId?: unknown
      }
      const rid = typeof f.rid === 'string' && f.rid.length > 0 && f.rid.length <= 64 ? f.rid : undefined
      const sendTo = f.type === 'send' && typeof f.conversationId === 'string' ? f.conversationId : undefined
      return { ...(rid ? { rid } : {}), ...(sendTo ? { sendTo } : {}) }
    } catch {
      return {}
    }
  }

  const fail = (conn: Connection, f: ClientFrame) => (err: unknown) => {
    const rid = ridOf(f)
    const code = codeOfError(err)
    if (isChatError(err)) {
      o.onError?.(code)
      return conn.error(
        code,
        rid,
        err.message,
        err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : undefined,
      )
    }
    if (code === 'INTERNAL') d.logger.error({ err, frame: f.type }, 'frame failed')
    else d.logger.warn({ err, frame: f.type }, 'frame failed: a dependency is unavailable')
    o.onError?.(code)
    return conn.error(code, rid, undefined, code === 'UNAVAILABLE' ? { retryAfterMs: 1_000 } : undefined)
  }

  return (conn: Connection, data: ArrayBuffer, binary = false): void => {
    if (conn.closed) return
    if (conn.held) {
      // The token of the handshake is still being checked (session/sessions.ts): kept in order,
      // copied (uWS reuses `data` after this call), bounded.
      if (conn.held.length >= MAX_HELD_FRAMES) conn.close('RATE_LIMITED', 'flooding before hello')
      else conn.held.push({ data: data.slice(0), binary })
      return
    }
    const now = Date.now()
    let wait = conn.bucket.take(now)
    if (wait === 0) wait = sessions.userBucket(conn)?.take(now) ?? 0
    if (wait > 0) {
      o.onError?.('RATE_LIMITED')
      if (++conn.strikes > MAX_STRIKES) {
        conn.close('RATE_LIMITED', 'flooding')
        return
      }
      const { rid, sendTo } = peek(data)
      if (sendTo !== undefined && sendTo.length <= 64) blockSends(conn, sendTo, 'RATE_LIMITED')
      conn.error('RATE_LIMITED', rid, undefined, { retryAfterMs: wait })
      return
    }
    conn.strikes = 0
    if (binary) {
      // Refused rather than guessed at: a binary frame is a client bug or a probe, and decoding it
      // as UTF-8 JSON would make a second, undocumented framing.
      o.onError?.('INVALID_FRAME')
      conn.error(
        'INVALID_FRAME',
        undefined,
        'binary frames are not part of the protocol: send JSON in text frames',
      )
      return
    }
    const decoded = decodeClientFrame(data)
    if (!decoded.ok) {
      o.onError?.(decoded.error.code)
      conn.send({
        type: 'error',
        ...(decoded.rid !== undefined ? { rid: decoded.rid } : {}),
        ...decoded.error,
      })
      return
    }
    const f = decoded.value
    o.onFrame?.(f.type)
    if (!conn.principal) {
      if (f.type === 'auth') sessions.authFrame(conn, f)
      else conn.error('UNAUTHENTICATED', ridOf(f), 'send an auth frame first')
      return
    }
    try {
      const r = (table[f.type] as Handler<typeof f.type>)(conn, f as never)
      if (r instanceof Promise) r.catch(fail(conn, f))
    } catch (err) {
      fail(conn, f)(err)
    }
  }
}
