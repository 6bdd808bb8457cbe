import { randomUUID } from 'node:crypto'
import { names as makeNames, type Names } from '@chatapp/contracts'
import { withLatestText } from '@chatapp/domain'
import {
  type ArchiveHeads,
  type ArchiveReader,
  type ConversationLog,
  createConversationLog,
  type Logger,
  withArchive,
} from '@chatapp/kit'
import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { createFrameRouter } from './command/frame-router.js'
import type { GatewayConfig } from './config.js'
import { type CommandRunner, createCommandRunner } from './conversation/command-runner.js'
import { createReceiptBatcher } from './conversation/receipt-batcher.js'
import { createStateStore, type StateStore } from './conversation/state-store.js'
import { createFeed, type Feed } from './feed/feed.js'
import { startMuteRelay } from './feed/mute-relay.js'
import { createPresence } from './feed/presence.js'
import type {
  GroupQuota,
  MediaPort,
  MembershipPort,
  SentMessageLookup,
  TokenVerifier,
  UserDirectory,
} from './ports.js'
import { createAdmission } from './session/admission.js'
import type { Connection } from './session/connection.js'
import { createSessions, type Init } from './session/sessions.js'
import { type App, createApp, listen, mountWebSocket } from './transport/ws.js'

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
  store: StateStore
  runner: CommandRunner
  membership: MembershipPort
  feed: Feed
}

export interface GatewayDeps {
  nc: NatsConnection
  log: Logger
  tokens: TokenVerifier
  directory: UserDirectory
  /** Group creations per user across gateways (accounts); absent: unlimited. */
  groupQuota?: GroupQuota
  registry?: Registry
  /** Built from the context, because the media module needs this gateway's MembershipPort. */
  media?: (ctx: GatewayContext) => MediaPort
  sentLookup?: SentMessageLookup
  /** Revoked sessions from every gateway (accounts/session-revocations.ts): their sockets get 4403. */
  revocations?: { onRevoked(listener: (userId: string, sessionIds: string[]) => void): () => void }
  /** Mounts the HTTP API on the same app and port (each module registers its routes from main). */
  mountHttp?: (app: App, ctx: GatewayContext) => void
  /**
   * The log archive: reads (sync, the fold, backfills) of history older than the hot log are served
   * from it (ADR 0201). Without it, only what the streams hold is readable.
   */
  archive?: { reader: ArchiveReader; heads: ArchiveHeads }
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
    // A device that reconnects opens again: the rate of opens is the reconnect rate, and the
    // close codes say why sockets went (1001 going away, 1006 dropped, 4xxx ours).
    opens: new Counter({ name: 'ws_opens_total', help: 'WebSocket connections opened', registers: r }),
    closes: new Counter({
      name: 'ws_closes_total',
      help: 'WebSocket connections closed, by close code',
      labelNames: ['code'],
      registers: r,
    }),
    receiptFailures: new Counter({
      name: 'receipt_batch_failures_total',
      help: 'Receipt batch appends that failed and were put back to be retried',
      registers: r,
    }),
    logRetries: new Counter({
      name: 'log_transient_failures_total',
      help: 'Log operations retried after a transient failure (leader election, timeout)',
      registers: r,
    }),
    feed: {
      liveEvents: new Counter({ name: 'live_events_total', help: 'Live events fanned out', registers: r }),
      gapBackfills: new Counter({
        name: 'live_gap_backfills_total',
        help: 'Live gaps backfilled from the log',
        registers: r,
      }),
      rooms: new Gauge({ name: 'live_rooms', help: 'Conversations with a local subscriber', registers: r }),
      fanout: new Histogram({
        name: 'live_fanout_seconds',
        help: "A live message's arrival at this gateway to its delivery to the last local device, by the room's local devices",
        labelNames: ['devices'],
        // 5-ms steps from 10 to 35 ms: where a large room's fan-out lands on a small machine, so
        // a dashboard (and the benchmark) can tell how far under a 50-ms target it stays.
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.05, 0.1, 0.25, 1],
        registers: r,
      }),
    },
  }
}

/**
 * Starts one gateway instance in this process. The pieces, in the order a frame meets them:
 * transport (uWS) → sessions (auth, lifecycle) → frame router (limits, decode, handler table) →
 * command runner (decide, append, verdict) → state store (the fold) → feed (live fan-out, sync).
 */
export const startGateway = async (config: GatewayConfig, deps: GatewayDeps): Promise<Gateway> => {
  const { nc, log } = deps
  const n = makeNames(config.ns, config.shards)
  const m = metricsOn(deps.registry)
  const onUndecodable = (w: object) => log.warn(w, 'undecodable event skipped')
  const hotLog = await createConversationLog(nc, n, {
    deadlineMs: config.appendRetryMs,
    onRetry: () => m.logRetries.inc(),
    onUndecodable,
  })
  const conversationLog = deps.archive
    ? withArchive(hotLog, {
        jsm: await jetstreamManager(nc),
        names: n,
        archive: deps.archive.reader,
        heads: deps.archive.heads,
        onUndecodable,
      })
    : hotLog
  const store = await createStateStore(nc, n, conversationLog, {
    onError: (err) => log.warn({ err }, 'conversation snapshot failed'),
  })
  const receipts =
    config.receiptBatchMs > 0
      ? createReceiptBatcher({
          // Membership folded from the log: a member removed since the receipt loses its entry.
          state: (id) => store.refresh(id, 'm'),
          append: async (e) => {
            await conversationLog.append(e)
          },
          batchMs: config.receiptBatchMs,
          newId: randomUUID,
          onError: (err, conversationId) => {
            m.receiptFailures.inc()
            log.warn({ err, conversationId }, 'receipt batch append failed; retrying')
          },
        })
      : undefined
  const runner = createCommandRunner(conversationLog, store, {
    ...(receipts ? { receipts } : {}),
    limits: {
      maxTextLength: config.limits.maxTextLength,
      maxCaptionLength: config.limits.maxCaptionLength,
      maxGroupMembers: config.limits.maxGroupMembers,
      editWindowMs: config.limits.editWindowMs,
      deleteWindowMs: config.limits.deleteWindowMs,
      maxInviteLinks: config.limits.maxInviteLinks,
      maxJoinRequests: config.limits.maxJoinRequests,
    },
  })
  const presence = await createPresence(nc, n, log, config.presenceRefreshMs, conversationLog.ranges)
  const feed = createFeed({
    nc,
    names: n,
    log: conversationLog,
    store,
    logger: log,
    metrics: m.feed,
    onDevices: presence.devices,
  })
  const mutes = startMuteRelay(nc, n, feed.devicesOf)
  const membership: MembershipPort = {
    // Folds the log's `.m` lane first: authorisation never answers from a stale cache.
    isMember: async (id, userId) => (await store.refresh(id, 'm')).members.has(userId),
    joinedAt: async (id, userId) => (await store.refresh(id, 'm')).members.get(userId)?.joinedSeq,
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
    runner,
    membership,
    feed,
  }
  const media = deps.media?.(ctx)
  const sessions = createSessions({
    limits: config.limits,
    allowedOrigins: config.allowedOrigins,
    tokens: deps.tokens,
    feed,
    logger: log,
    onClosed: (conn) => presence.unsubscribe(conn),
    replay: (conn, f) => route(conn, f.data, f.binary),
  })
  const syncAdmission = createAdmission({ concurrency: config.syncConcurrency, queue: config.syncQueue })
  const r = deps.registry ? [deps.registry] : []
  new Gauge({
    name: 'sync_in_flight',
    help: 'Syncs running (at most SYNC_CONCURRENCY)',
    registers: r,
    collect() {
      this.set(syncAdmission.inFlight)
    },
  })
  new Gauge({
    name: 'sync_queued',
    help: 'Syncs waiting for a slot (at most SYNC_QUEUE; beyond, refused UNAVAILABLE)',
    registers: r,
    collect() {
      this.set(syncAdmission.queued)
    },
  })
  // Presence (ADR 0174): what this gateway answers for, and how often it had to recover.
  const presenceGauge = (
    name: string,
    help: string,
    read: (s: ReturnType<typeof presence.stats>) => number,
  ) =>
    new Gauge({
      name,
      help,
      registers: r,
      collect() {
        this.set(read(presence.stats()))
      },
    })
  presenceGauge('presence_users_online', 'Users with a socket on this gateway', (s) => s.online)
  presenceGauge(
    'presence_last_seen_kept',
    'Users who left this gateway whose lastSeen it keeps',
    (s) => s.lastSeenKept,
  )
  presenceGauge('presence_gateways', 'Gateways this one counts as live (itself included)', (s) => s.gateways)
  presenceGauge(
    'presence_resyncs',
    'Times this gateway asked again about every watched user after missing a change (since start)',
    (s) => s.resyncs,
  )
  presenceGauge(
    'presence_gateways_gone',
    'Gateways judged gone after missing their roster rewrites (since start)',
    (s) => s.gatewaysGone,
  )
  const route = createFrameRouter(
    {
      names: n,
      nc,
      limits: config.limits,
      runner,
      store,
      feed,
      directory: deps.directory,
      groupQuota: deps.groupQuota,
      presence,
      media,
      sentLookup: deps.sentLookup,
      messageAt: async (id, seq) => {
        const [found, state] = await Promise.all([conversationLog.get(id, seq), store.get(id)])
        const edit = state.edited.get(seq)
        return edit === undefined ? found : withLatestText(found, await conversationLog.get(id, edit))
      },
      logger: log,
    },
    sessions,
    {
      syncTail: config.limits.syncTailForNewDevice,
      syncAdmission,
      onFrame: (type) => m.frames.inc({ type }),
      onError: (code) => m.errors.inc({ code }),
    },
  )
  // Logout on any gateway closes the session's sockets on all of them.
  const stopRevocations = deps.revocations?.onRevoked((userId, ids) => sessions.closeSessions(userId, ids))
  const app = createApp()
  mountWebSocket<Init, Connection>(
    app,
    {
      path: WS_PATH,
      maxFrameBytes: config.limits.maxFrameBytes,
      maxBackpressure: config.maxBackpressureBytes,
      idleTimeoutS: config.idleTimeoutS,
    },
    {
      upgrade: (h) => sessions.upgrade(h),
      open: (s, init) => {
        m.connections.inc()
        m.opens.inc()
        return sessions.open(s, init)
      },
      message: route,
      close: (conn, code) => {
        m.connections.dec()
        m.closes.inc({ code: String(code) })
        if (conn) sessions.close(conn)
      },
    },
  )
  deps.mountHttp?.(app, ctx)
  const listener = await listen(app, config.host, config.port)
  log.info({ port: listener.port, path: WS_PATH }, 'gateway listening')
  return {
    port: listener.port,
    ctx,
    connections: sessions.count,
    closeSessions: (userId, sessionIds) => sessions.closeSessions(userId, sessionIds),
    async close() {
      stopRevocations?.()
      listener.close()
      sessions.closeAll()
      mutes.close()
      // Receipts already decided are appended, not lost with the process.
      await receipts?.flushAll()
      feed.close()
      await presence.close()
    },
  }
}
