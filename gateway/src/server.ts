import { randomUUID } from 'node:crypto'
import { names as makeNames, type Names } from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import type { NatsConnection } from '@nats-io/nats-core'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { GatewayConfig } from './config.js'
import { type Appender, createAppender } from './conversations/appender.js'
import { type ConversationLog, createConversationLog } from './conversations/log.js'
import { createReceiptBatcher } from './conversations/receipt-batcher.js'
import { type ConversationStore, createConversationStore } from './conversations/store.js'
import { createHub, type Hub } from './live/hub.js'
import { createPresence } from './live/presence.js'
import type { MediaPort, MembershipPort, SentMessageLookup, TokenVerifier, UserDirectory } from './ports.js'
import { createProtocol } from './ws/protocol.js'
import { type App, createApp, listen, mountWebSocket } from './ws/transport.js'

export const WS_PATH = '/v1/ws'

/** What the gateway's modules share; others' route factories (HTTP API, media) receive it. */
export interface GatewayContext {
  config: GatewayConfig
  names: Names
  nc: NatsConnection
  log: Logger
  registry: Registry | undefined
  tokens: TokenVerifier
  directory: UserDirectory
  conversationLog: ConversationLog
  store: ConversationStore
  appender: Appender
  membership: MembershipPort
  hub: Hub
}

export interface GatewayDeps {
  nc: NatsConnection
  log: Logger
  tokens: TokenVerifier
  directory: UserDirectory
  registry?: Registry
  /** Built from the context, because the media module needs this gateway's MembershipPort. */
  media?: (ctx: GatewayContext) => MediaPort
  sentLookup?: SentMessageLookup
  /** Revoked sessions from every gateway (accounts/session-revocations.ts): their sockets get 4403. */
  revocations?: { onRevoked(listener: (userId: string, sessionIds: string[]) => void): () => void }
  /** Mounts the HTTP API (engineer A's `mountHttp(app, httpRoutes(ctx), …)`) on the same app and port. */
  mountHttp?: (app: App, ctx: GatewayContext) => void
}

export interface Gateway {
  readonly port: number
  readonly ctx: GatewayContext
  connections(): number
  /** Closes this gateway's WebSockets of revoked (logged-out) sessions with 4403. */
  closeSessions(userId: string, sessionIds: string[]): void
  /** Stops listening and closes every socket with 1001 (clients reconnect elsewhere). */
  close(): Promise<void>
}

const metricsOn = (registry: Registry | undefined) => {
  const r = registry ? [registry] : []
  return {
    frames: new Counter({
      name: 'ws_frames_total',
      help: 'Client frames accepted, by type',
      labelNames: ['type'],
      registers: r,
    }),
    errors: new Counter({
      name: 'ws_errors_total',
      help: 'Error frames sent, by code',
      labelNames: ['code'],
      registers: r,
    }),
    connections: new Gauge({ name: 'ws_connections', help: 'Open WebSocket connections', registers: r }),
    hub: {
      liveEvents: new Counter({ name: 'live_events_total', help: 'Live events fanned out', registers: r }),
      gapBackfills: new Counter({
        name: 'live_gap_backfills_total',
        help: 'Live gaps backfilled from the log',
        registers: r,
      }),
      rooms: new Gauge({ name: 'live_rooms', help: 'Conversations with a local subscriber', registers: r }),
    },
  }
}

/** Starts one gateway instance in this process: WebSocket protocol (and the HTTP API if mounted). */
export const startGateway = async (config: GatewayConfig, deps: GatewayDeps): Promise<Gateway> => {
  const { nc, log } = deps
  const n = makeNames(config.ns, config.shards)
  const m = metricsOn(deps.registry)
  const conversationLog = await createConversationLog(nc, n)
  const store = await createConversationStore(nc, n, conversationLog, {
    onError: (err) => log.warn({ err }, 'conversation snapshot failed'),
  })
  const receipts =
    config.receiptBatchMs > 0
      ? createReceiptBatcher({
          // Membership folded from the log: a member removed since the receipt loses its entry.
          state: (id) => store.refresh(id, 'm'),
          append: async (e) => {
            await conversationLog.append(e, {})
          },
          batchMs: config.receiptBatchMs,
          newId: randomUUID,
          onError: (err, conversationId) => log.warn({ err, conversationId }, 'receipt batch append failed'),
        })
      : undefined
  const appender = createAppender(conversationLog.js, n, conversationLog, store, {
    ...(receipts ? { receipts } : {}),
    limits: {
      maxTextLength: config.limits.maxTextLength,
      maxCaptionLength: config.limits.maxCaptionLength,
      maxGroupMembers: config.limits.maxGroupMembers,
    },
  })
  const presence = await createPresence(nc, n, log, config.presenceRefreshMs)
  const hub = createHub({
    nc,
    names: n,
    log: conversationLog,
    store,
    logger: log,
    metrics: m.hub,
    onUserOnline: presence.online,
    onUserOffline: presence.offline,
  })
  const membership: MembershipPort = {
    // Folds the log's `.m` lane first: authorisation never answers from a stale cache.
    isMember: async (id, userId) => (await store.refresh(id, 'm')).members.has(userId),
  }
  const ctx: GatewayContext = {
    config,
    names: n,
    nc,
    log,
    registry: deps.registry,
    tokens: deps.tokens,
    directory: deps.directory,
    conversationLog,
    store,
    appender,
    membership,
    hub,
  }
  const media = deps.media?.(ctx)
  const protocol = createProtocol({
    names: n,
    nc,
    limits: config.limits,
    allowedOrigins: config.allowedOrigins,
    tokens: deps.tokens,
    directory: deps.directory,
    appender,
    store,
    hub,
    presence,
    media,
    sentLookup: deps.sentLookup,
    logger: log,
    onFrame: (type) => m.frames.inc({ type }),
    onError: (code) => m.errors.inc({ code }),
  })
  // Logout on any gateway closes the session's sockets on all of them (A's SessionRevocations
  // broadcasts it; this gateway closes its own sockets).
  const stopRevocations = deps.revocations?.onRevoked((userId, ids) => protocol.closeSessions(userId, ids))
  const app = createApp()
  mountWebSocket(
    app,
    {
      path: WS_PATH,
      maxFrameBytes: config.limits.maxFrameBytes,
      maxBackpressure: config.maxBackpressureBytes,
      idleTimeoutS: config.idleTimeoutS,
    },
    {
      ...protocol.handlers,
      open: (s, init) => {
        m.connections.inc()
        return protocol.handlers.open(s, init)
      },
      close: (c, code) => {
        m.connections.dec()
        protocol.handlers.close(c, code)
      },
    },
  )
  deps.mountHttp?.(app, ctx)
  const listener = await listen(app, config.host, config.port)
  log.info({ port: listener.port, path: WS_PATH }, 'gateway listening')
  return {
    port: listener.port,
    ctx,
    connections: protocol.connections,
    closeSessions: (userId, sessionIds) => protocol.closeSessions(userId, sessionIds),
    async close() {
      stopRevocations?.()
      listener.close()
      protocol.closeAll()
      // Receipts already decided are appended, not lost with the process.
      await receipts?.flushAll()
      hub.close()
      await presence.close()
    },
  }
}
