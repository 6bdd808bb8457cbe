import { type ClientFrameOf, errorBody, isChatError, type Limits } from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import type { Feed } from '../feed/feed.js'
import type { Principal, TokenVerifier } from '../ports.js'
import type { Socket } from '../transport/socket.js'
import type { UpgradeDecision } from '../transport/ws.js'
import { Connection } from './connection.js'
import { sameOrigin } from './same-origin.js'
import { TokenBucket } from './token-bucket.js'

export const SUBPROTOCOL = 'chatapp.v1'
const BEARER_PREFIX = 'bearer.'

/** What the upgrade learned: the bearer token of the subprotocol header, checked once the socket is open. */
export type Init = { token: string | undefined }

/** Frames a client may send before its token check ends; more is a flood (closed with 4429). */
export const MAX_HELD_FRAMES = 64

export interface SessionsDeps {
  limits: Limits
  allowedOrigins: string[]
  tokens: TokenVerifier
  feed: Feed
  logger: Logger
  /** First and last connection of a user on this gateway (presence), via the feed. */
  onClosed?: (conn: Connection) => void
  /** Frames that arrived while the connection's token was being checked, in order (the frame router). */
  replay: (conn: Connection, frame: { data: ArrayBuffer; binary: boolean }) => void
}

/**
 * The lifecycle of every WebSocket session on this gateway: the upgrade decision (Origin,
 * subprotocol bearer token), the `auth` frame deadline, registration with the feed, per-user
 * rate buckets, and closing sessions (logout, shutdown). Frames of an authenticated connection
 * are the frame router's.
 */
export const createSessions = (d: SessionsDeps) => {
  const conns = new Set<Connection>()
  const userBuckets = new Map<string, { bucket: TokenBucket; refs: number }>()
  let nextId = 1
  const L = d.limits

  const originAllowed = (origin: string, host: string) =>
    d.allowedOrigins.includes('*') ||
    origin === '' ||
    d.allowedOrigins.includes(origin) ||
    sameOrigin(origin, host)

  const authenticated = async (conn: Connection, p: Principal) => {
    // Closed while its token was being checked: registering it now would leak it (and its presence).
    if (conn.closed) return
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
    await d.feed.addConnection(conn)
    if (conn.closed) return
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

  const setupFailed = (conn: Connection) => (err: unknown) => {
    d.logger.error({ err }, 'connection setup failed')
    conn.error('UNAVAILABLE')
    conn.close('INTERNAL', 'setup failed')
  }

  return {
    upgrade(h: { origin: string; host: string; protocols: string[] }): UpgradeDecision<Init> {
      if (!originAllowed(h.origin, h.host))
        return { ok: false, status: 403, body: JSON.stringify(errorBody('ORIGIN_NOT_ALLOWED')) }
      const bearer = h.protocols.find((p) => p.startsWith(BEARER_PREFIX))
      const protocol = h.protocols.includes(SUBPROTOCOL) ? SUBPROTOCOL : undefined
      return { ok: true, protocol, state: { token: bearer?.slice(BEARER_PREFIX.length) } }
    },

    open(socket: Socket, init: Init): Connection {
      const conn = new Connection(
        socket,
        nextId++,
        new TokenBucket(L.connFramesPerSecond, L.connBurst, Date.now()),
      )
      conns.add(conn)
      if (init.token === undefined) {
        conn.authTimer = setTimeout(() => conn.close('AUTH_TIMEOUT', 'no auth frame'), L.authTimeoutMs)
        return conn
      }
      // The token of the handshake is checked now that the socket is open (a refusal is told by
      // close code 4401, which a browser can read, unlike a handshake status). Frames sent before
      // the check ends are held and then handled in order, as if they had come after it.
      conn.held = []
      d.tokens.verifyAccessToken(init.token).then(
        (p) =>
          authenticated(conn, p).then(() => {
            // After `hello`: what the client sent first is answered after it, in order.
            const held = conn.held ?? []
            conn.held = undefined
            for (const f of held) if (!conn.closed) d.replay(conn, f)
          }, setupFailed(conn)),
        (e: unknown) => {
          conn.held = undefined
          if (!conn.closed) refuseAuth(conn, e)
        },
      )
      return conn
    },

    /** The `auth` frame of a connection that has not authenticated yet. */
    authFrame(conn: Connection, f: ClientFrameOf<'auth'>): void {
      if (conn.authTimer === undefined) return // an auth frame is already being checked
      clearTimeout(conn.authTimer)
      conn.authTimer = undefined
      d.tokens
        .verifyAccessToken(f.token)
        .then(
          (p) => authenticated(conn, p),
          (e: unknown) => refuseAuth(conn, e),
        )
        .catch(setupFailed(conn))
    },

    /** The per-user rate bucket of an authenticated connection. */
    userBucket: (conn: Connection) =>
      conn.principal ? userBuckets.get(conn.principal.userId)?.bucket : undefined,

    close(conn: Connection): void {
      clearTimeout(conn.authTimer)
      conns.delete(conn)
      d.onClosed?.(conn)
      if (!conn.principal) return
      d.feed.removeConnection(conn)
      const ub = userBuckets.get(conn.principal.userId)
      if (ub && --ub.refs === 0) userBuckets.delete(conn.principal.userId)
    },

    count: () => conns.size,
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

export type Sessions = ReturnType<typeof createSessions>
