import { randomBytes } from 'node:crypto'
import {
  type ClientFrame,
  type ClientFrameOf,
  decodeClientFrame,
  errorBody,
  isChatError,
  type Limits,
  type Names,
} from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import type { NatsConnection } from '@nats-io/nats-core'
import type { Appender, AppendOutcome } from '../conversations/appender.js'
import type { Command } from '../conversations/decide.js'
import { directConversationId } from '../conversations/direct-id.js'
import type { ConversationStore } from '../conversations/store.js'
import type { Hub } from '../live/hub.js'
import type { Presence } from '../live/presence.js'
import { runSync } from '../live/sync.js'
import type { MediaPort, Principal, SentMessageLookup, TokenVerifier, UserDirectory } from '../ports.js'
import { Connection } from './connection.js'
import type { Socket } from './socket.js'
import { TokenBucket } from './token-bucket.js'
import type { WsHandlers } from './transport.js'

export const SUBPROTOCOL = 'chatapp.v1'
const BEARER_PREFIX = 'bearer.'
/** Refused frames in a row (while rate limited) before the socket is closed with 4429. */
const MAX_STRIKES = 20

export interface ProtocolDeps {
  names: Names
  nc: NatsConnection
  limits: Limits
  allowedOrigins: string[]
  tokens: TokenVerifier
  directory: UserDirectory
  appender: Appender
  store: ConversationStore
  hub: Hub
  presence: Presence | undefined
  media: MediaPort | undefined
  sentLookup: SentMessageLookup | undefined
  logger: Logger
  onFrame?: (type: string) => void
  onError?: (code: string) => void
}

/** What the upgrade learned: the principal, or the refusal to report once the socket is open. */
type Init = { principal: Principal | undefined; refused?: unknown }

/**
 * The WebSocket protocol core, transport-free: the upgrade decision (Origin, subprotocol auth),
 * the `auth` frame deadline, rate limits, decoding, and the dispatch of every frame type.
 */
export const createProtocol = (d: ProtocolDeps) => {
  const conns = new Set<Connection>()
  const userBuckets = new Map<string, { bucket: TokenBucket; refs: number }>()
  let nextId = 1
  const L = d.limits

  const originAllowed = (origin: string) =>
    d.allowedOrigins.includes('*') || origin === '' || d.allowedOrigins.includes(origin)

  const authenticated = async (conn: Connection, p: Principal) => {
    // Closed while its token was being checked: registering it now would leak it (and its presence).
    if (conn.socket.closed) return
    conn.principal = p
    clearTimeout(conn.authTimer)
    conn.authTimer = undefined
    const ub = userBuckets.get(p.userId)
    if (ub) ub.refs++
    else
      userBuckets.set(p.userId, {
        bucket: new TokenBucket(L.userFramesPerSecond, L.userBurst, Date.now()),
        refs: 1,
      })
    await d.hub.addConnection(conn)
    if (conn.socket.closed) return
    conn.send({
      type: 'hello',
      userId: p.userId,
      deviceId: p.deviceId,
      sessionId: p.sessionId,
      serverTime: Date.now(),
      limits: { ...L },
    })
  }

  const refuseAuth = (conn: Connection, e: unknown) => {
    const code = isChatError(e) && e.code === 'TOKEN_EXPIRED' ? 'TOKEN_EXPIRED' : 'UNAUTHENTICATED'
    conn.error(code)
    conn.close('UNAUTHENTICATED', code)
  }

  const reply = (conn: Connection, rid: string, out: AppendOutcome) => {
    if (!out.ok) return conn.error(out.code, rid, out.message)
    return conn.send({
      type: 'ok',
      rid,
      conversationId: out.conversationId,
      ...(out.seq ? { seq: out.seq } : {}),
    })
  }

  const known = async (ids: string[]) => d.directory.existing(ids)

  const send = async (conn: Connection, f: ClientFrameOf<'send'>) => {
    const p = conn.principal!
    const cid = f.conversationId
    const media = f.mediaId && d.media ? await d.media.forAttach(f.mediaId, p.userId) : undefined
    const cmd: Command = {
      type: 'send',
      actor: p.userId,
      deviceId: p.deviceId,
      clientMsgId: f.clientMsgId,
      kind: f.kind,
      text: f.text,
      mediaId: f.mediaId,
      media,
    }
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
    const out = await d.appender.execute(cid, cmd, {
      msgId: `${cid}:${p.userId}:${f.clientMsgId}`,
      ...(recorded ? { recorded } : {}),
    })
    if (!out.ok) return conn.error(out.code, f.rid, out.message)
    const ev = out.event
    if (!out.seq || ev?.type !== 'message.sent') return conn.error('INTERNAL', f.rid)
    conn.send({
      type: 'sent',
      rid: f.rid,
      conversationId: cid,
      clientMsgId: f.clientMsgId,
      seq: out.seq,
      n: ev.data.n,
      at: ev.at,
      duplicate: out.duplicate,
    })
    if (media && d.media) {
      // Idempotent (a retried send calls it again), so a failure here is retried by the client's resend.
      d.media
        .shared({ ref: media, conversationId: cid, seq: out.seq, uploaderId: p.userId })
        .catch((err: unknown) => d.logger.error({ err, conversationId: cid }, 'media share failed'))
    }
  }

  const dispatch = async (conn: Connection, f: ClientFrame): Promise<unknown> => {
    const me = conn.userId
    switch (f.type) {
      case 'auth':
        return conn.error('ALREADY_AUTHENTICATED')
      case 'ping':
        return conn.send({
          type: 'pong',
          ...(f.rid !== undefined ? { rid: f.rid } : {}),
          serverTime: Date.now(),
        })
      case 'sync':
        return runSync({ hub: d.hub, store: d.store, defaultTail: L.syncTailForNewDevice }, conn, f)
      case 'send':
        return send(conn, f)
      case 'receipt': {
        const out = await d.appender.execute(f.conversationId, {
          type: 'receipt',
          actor: me,
          kind: f.kind,
          upTo: f.upTo,
        })
        return out.ok ? undefined : conn.error(out.code, undefined, out.message)
      }
      case 'typing': {
        const s = await d.store.get(f.conversationId)
        if (!s.members.has(me)) return conn.error('NOT_A_MEMBER')
        d.nc.publish(
          d.names.typingSubject(f.conversationId),
          JSON.stringify({ userId: me, active: f.active }),
        )
        return
      }
      case 'presence.subscribe':
        if (f.userIds.length > L.maxPresenceWatch) return conn.error('INVALID_FRAME', f.rid, 'too many users')
        if (!d.presence) return conn.error('UNAVAILABLE', f.rid)
        await d.presence.subscribe(conn, f.userIds)
        return f.rid !== undefined ? conn.send({ type: 'ok', rid: f.rid }) : undefined
      case 'direct.open': {
        const id = directConversationId(me, f.peerId)
        const k = f.peerId === me ? new Set<string>() : await known([f.peerId])
        return reply(
          conn,
          f.rid,
          await d.appender.execute(id, { type: 'direct.open', actor: me, peerId: f.peerId, known: k }),
        )
      }
      case 'group.create': {
        const id = `c_${randomBytes(16).toString('base64url')}`
        const k = await known(f.memberIds)
        return reply(
          conn,
          f.rid,
          await d.appender.execute(id, {
            type: 'group.create',
            actor: me,
            title: f.title,
            memberIds: f.memberIds,
            known: k,
          }),
        )
      }
      case 'group.add':
        return reply(
          conn,
          f.rid,
          await d.appender.execute(f.conversationId, {
            type: 'group.add',
            actor: me,
            userId: f.userId,
            known: await known([f.userId]),
          }),
        )
      case 'group.remove':
      case 'group.promote':
      case 'group.demote':
        return reply(
          conn,
          f.rid,
          await d.appender.execute(f.conversationId, { type: f.type, actor: me, userId: f.userId }),
        )
      case 'group.leave':
        return reply(
          conn,
          f.rid,
          await d.appender.execute(f.conversationId, { type: 'group.leave', actor: me }),
        )
      case 'group.rename':
        return reply(
          conn,
          f.rid,
          await d.appender.execute(f.conversationId, { type: 'group.rename', actor: me, title: f.title }),
        )
      default: {
        const never: never = f
        throw new Error(`unhandled frame ${(never as ClientFrame).type}`)
      }
    }
  }

  const ridOf = (f: ClientFrame): string | undefined => ('rid' in f ? f.rid : undefined)

  const handlers: WsHandlers<Init> = {
    async upgrade(h) {
      if (!originAllowed(h.origin)) {
        return { ok: false, status: 403, body: JSON.stringify(errorBody('ORIGIN_NOT_ALLOWED')) }
      }
      const offered = h.protocols
      const bearer = offered.find((p) => p.startsWith(BEARER_PREFIX))
      const protocol = offered.includes(SUBPROTOCOL) ? SUBPROTOCOL : undefined
      if (!bearer) return { ok: true, protocol, state: { principal: undefined } }
      try {
        const principal = await d.tokens.verifyAccessToken(bearer.slice(BEARER_PREFIX.length))
        return { ok: true, protocol, state: { principal } }
      } catch (e) {
        if (!isChatError(e)) throw e
        // Refused in the handshake: a browser cannot read the status, so it is told by close code 4401 instead.
        return { ok: true, protocol, state: { principal: undefined, refused: e } }
      }
    },
    open(socket: Socket, init: Init) {
      const conn = new Connection(
        socket,
        nextId++,
        new TokenBucket(L.connFramesPerSecond, L.connBurst, Date.now()),
      )
      conns.add(conn)
      if (init.refused) {
        refuseAuth(conn, init.refused)
        return conn
      }
      if (init.principal) {
        authenticated(conn, init.principal).catch((err: unknown) => {
          d.logger.error({ err }, 'connection setup failed')
          conn.error('UNAVAILABLE')
          conn.close('INTERNAL', 'setup failed')
        })
      } else {
        conn.authTimer = setTimeout(() => conn.close('AUTH_TIMEOUT', 'no auth frame'), L.authTimeoutMs)
      }
      return conn
    },
    message(c, data) {
      const conn = c as Connection
      if (conn.socket.closed) return
      const now = Date.now()
      let wait = conn.bucket.take(now)
      const ub = conn.principal ? userBuckets.get(conn.principal.userId) : undefined
      if (wait === 0 && ub) wait = ub.bucket.take(now)
      if (wait > 0) {
        d.onError?.('RATE_LIMITED')
        if (++conn.strikes > MAX_STRIKES) return conn.close('RATE_LIMITED', 'flooding')
        return conn.error('RATE_LIMITED', undefined, undefined, { retryAfterMs: wait })
      }
      conn.strikes = 0
      const decoded = decodeClientFrame(data)
      if (!decoded.ok) {
        d.onError?.(decoded.error.code)
        return conn.send({ type: 'error', ...decoded.error })
      }
      const f = decoded.value
      d.onFrame?.(f.type)
      if (!conn.principal) {
        if (f.type !== 'auth') return conn.error('UNAUTHENTICATED', ridOf(f), 'send an auth frame first')
        if (conn.authTimer === undefined) return // an auth frame is already being checked
        clearTimeout(conn.authTimer)
        conn.authTimer = undefined
        d.tokens
          .verifyAccessToken(f.token)
          .then(
            (p) => authenticated(conn, p),
            (e: unknown) => refuseAuth(conn, e),
          )
          .catch((err: unknown) => {
            d.logger.error({ err }, 'connection setup failed')
            conn.close('INTERNAL', 'setup failed')
          })
        return
      }
      dispatch(conn, f).catch((err: unknown) => {
        const rid = ridOf(f)
        if (isChatError(err)) return conn.error(err.code, rid, err.message)
        d.logger.error({ err, frame: f.type }, 'frame failed')
        d.onError?.('INTERNAL')
        conn.error('INTERNAL', rid)
      })
    },
    close(c) {
      const conn = c as Connection
      if (!conn) return
      clearTimeout(conn.authTimer)
      conns.delete(conn)
      d.presence?.unsubscribe(conn)
      if (!conn.principal) return
      d.hub.removeConnection(conn)
      const ub = userBuckets.get(conn.principal.userId)
      if (ub && --ub.refs === 0) userBuckets.delete(conn.principal.userId)
    },
  }

  return {
    handlers,
    connections: () => conns.size,
    /** Closes the sockets of revoked sessions (logout) with 4403. */
    closeSessions(userId: string, sessionIds: readonly string[]) {
      for (const c of conns)
        if (c.principal?.userId === userId && sessionIds.includes(c.principal.sessionId))
          c.close('SESSION_REVOKED', 'logged out')
    },
    /** Closes every socket with 1001 (going away): clients reconnect to another instance. */
    closeAll() {
      for (const c of conns) c.close('GOING_AWAY', 'server shutting down')
    },
  }
}
