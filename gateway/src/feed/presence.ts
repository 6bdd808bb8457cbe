import { randomBytes } from 'node:crypto'
import {
  type Names,
  type PresenceAnswer,
  type PresenceValue,
  presenceChangeDecoder,
  presenceQueryDecoder,
} from '@chatapp/contracts'
import type { Logger, RangeReader } from '@chatapp/kit'
import { type KV, Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/nats-core'
import { askGateways } from './presence-query.js'
import { createRosterJudge, readRoster, rosterKey } from './presence-roster.js'
import { createPresenceView } from './presence-view.js'

export { aggregatePresence, devicesOnline } from './presence-view.js'

/** What presence needs of a connection that watches users. */
export interface Watcher {
  sendRaw(text: string): boolean
}

/** Users who left this gateway whose `lastSeen` it keeps to answer queries (oldest dropped first). */
export const LAST_SEEN_KEPT = 100_000

/**
 * Presence held by the gateways themselves (ADR 0174, superseding the per-user keys of ADR 22):
 * each gateway knows the users with a socket on it and, for a while, when the others left. Nothing
 * per user is stored on NATS. A gateway
 *  - answers presence queries (`<ns>.eph.presence.query`, every gateway answers) with what it
 *    holds of the users asked about;
 *  - publishes each change of a user here (first socket, devices, last socket gone) on
 *    `<ns>.eph.presence.changes`, numbered, so a receiver that misses one asks again;
 *  - rewrites its roster entry (`gateways.<id>` in the presence bucket, TTL) every `refreshMs`, so
 *    askers know how many answers to wait for and watchers see a crashed gateway's users go
 *    offline when its rewrites stop.
 * Subscribed sockets get a frame when a watched user's aggregate presence changes. Never on the
 * message path: every publish is fire-and-forget.
 */
export const createPresence = async (
  nc: NatsConnection,
  n: Names,
  log: Logger,
  refreshMs: number,
  ranges: RangeReader,
) => {
  const kv: KV = await new Kvm(nc).open(n.presenceBucket)
  const gatewayId = randomBytes(6)
    .toString('base64url')
    .replace(/[^A-Za-z0-9]/g, 'x')
  /** Users with a socket here → their devices with one. */
  const online = new Map<string, string[]>()
  /** Users who left here → when (insertion order is age order). */
  const leftAt = new Map<string, number>()
  let seq = 0
  const view = createPresenceView()
  const judge = createRosterJudge(gatewayId)
  const watchers = new Map<string, Set<Watcher>>()
  const subscribed = new WeakMap<Watcher, string[]>()
  /** Sockets waiting for their first frames: they get the state after the query, not its steps. */
  const pending = new WeakSet<Watcher>()
  /** Per other gateway, the last change number applied from it. */
  const applied = new Map<string, number>()
  let closed = false
  let resyncs = 0
  let gatewaysGone = 0

  const frame = (userId: string) => {
    const v = view.presence(userId)
    return JSON.stringify({ type: 'presence', userId, online: v.online, lastSeen: v.lastSeen })
  }
  const tell = (userIds: Iterable<string>) => {
    for (const u of userIds) {
      const set = watchers.get(u)
      if (!set) continue
      const text = frame(u)
      for (const c of set) if (!pending.has(c)) c.sendRaw(text)
    }
  }
  const heldHere = (userId: string): PresenceValue | undefined => {
    const devices = online.get(userId)
    if (devices) return { online: true, lastSeen: null, devices }
    const at = leftAt.get(userId)
    return at === undefined ? undefined : { online: false, lastSeen: at }
  }

  /** Gateways that answer queries: those judged live, and this one (before its entry is read, too). */
  const liveGateways = () => judge.live().length + (judge.isLive(gatewayId) ? 0 : 1)

  const writeEntry = () =>
    kv
      .put(rosterKey(gatewayId), JSON.stringify({ seq, refreshMs }))
      .catch((err: unknown) => log.warn({ err }, 'presence roster write failed'))
  await writeEntry()

  /** Asks all live gateways about `userIds` and applies the answers; tells watchers of changes. */
  const ask = async (userIds: string[]) => {
    const answers = await askGateways(nc, n, liveGateways(), userIds, log)
    for (const a of answers) {
      if (a.gateway !== gatewayId) {
        judge.heard(a.gateway, Date.now(), refreshMs)
        applied.set(a.gateway, Math.max(applied.get(a.gateway) ?? 0, a.seq))
      }
      tell(view.answer(userIds, a))
    }
  }
  /** Changes were missed (a gap in a gateway's numbering): ask again about every watched user. */
  let resyncing = false
  const resync = () => {
    if (resyncing) return
    resyncing = true
    resyncs++
    ask([...view.tracked()])
      .catch((err: unknown) => log.warn({ err }, 'presence resync failed'))
      .finally(() => {
        resyncing = false
      })
  }

  const answers = nc.subscribe(n.presenceQuerySubject, {
    callback: (err, m) => {
      if (err || !m.reply) return
      const d = presenceQueryDecoder.decode(m.data)
      if (!d.ok) return
      const users: PresenceAnswer['users'] = {}
      for (const u of d.value.users) {
        const v = heldHere(u)
        if (v) users[u] = v
      }
      m.respond(JSON.stringify({ gateway: gatewayId, seq, users }))
    },
  })

  const changes = nc.subscribe(n.presenceChangesSubject, {
    callback: (err, m) => {
      if (err) return
      const d = presenceChangeDecoder.decode(m.data)
      if (!d.ok) {
        log.warn({ error: d.error }, 'presence change refused')
        return
      }
      const c = d.value
      if (c.gateway === gatewayId) return
      judge.heard(c.gateway, Date.now(), refreshMs)
      const last = applied.get(c.gateway)
      applied.set(c.gateway, Math.max(last ?? 0, c.seq))
      if (view.tracks(c.userId) && view.change(c.userId, c.gateway, c.value, c.seq)) tell([c.userId])
      if (last !== undefined && c.seq > last + 1) resync()
    },
  })

  /** Entry change numbers seen at the previous roster read: a change they name must have come since. */
  let expected = new Map<string, number>()
  const judgeRoster = async () => {
    const entries = await readRoster(ranges, n)
    const now = Date.now()
    // A gateway first seen here starts at its entry: what it changed before was never watched here.
    for (const [g, e] of entries) if (g !== gatewayId && !e.left && !applied.has(g)) applied.set(g, e.seq)
    for (const { gateway, lastAlive, clean } of judge.read(entries, now)) {
      applied.delete(gateway)
      if (!clean) {
        gatewaysGone++
        log.warn(
          { gateway, lastAlive },
          'a gateway stopped rewriting its presence roster entry: its users are offline',
        )
      }
      tell(view.gatewayGone(gateway, lastAlive))
    }
    // A change an entry numbered one interval ago that never came was lost (a reconnect, a slow
    // consumer): the watched users are asked about again.
    let missed = false
    for (const [g, s] of expected) if (judge.isLive(g) && (applied.get(g) ?? 0) < s) missed = true
    if (missed) resync()
    expected = new Map(
      [...entries].filter(([g, e]) => g !== gatewayId && !e.left).map(([g, e]) => [g, e.seq]),
    )
  }

  const timer = setInterval(() => {
    writeEntry()
    judgeRoster().catch((err: unknown) => log.warn({ err }, 'presence roster read failed'))
  }, refreshMs)
  timer.unref()
  await judgeRoster().catch((err: unknown) => log.warn({ err }, 'presence roster read failed'))

  const publish = (userId: string, value: PresenceValue) => {
    if (closed) return
    seq++
    try {
      nc.publish(n.presenceChangesSubject, JSON.stringify({ gateway: gatewayId, seq, userId, value }))
    } catch (err) {
      // A closed connection: the process is going; its roster entry stops being rewritten.
      log.warn({ err, userId }, 'presence publish failed')
    }
    if (view.tracks(userId) && view.change(userId, gatewayId, value, seq)) tell([userId])
  }

  const unsubscribe = (conn: Watcher) => {
    for (const u of subscribed.get(conn) ?? []) {
      const set = watchers.get(u)
      set?.delete(conn)
      if (set?.size === 0) {
        watchers.delete(u)
        view.forget(u)
      }
    }
    subscribed.delete(conn)
  }

  return {
    gatewayId,
    /** The user's devices with a socket on this gateway now; none: offline here. */
    devices(userId: string, devices: string[]) {
      if (devices.length > 0) {
        online.set(userId, devices)
        leftAt.delete(userId)
        publish(userId, { online: true, lastSeen: null, devices })
      } else {
        online.delete(userId)
        const at = Date.now()
        leftAt.delete(userId)
        leftAt.set(userId, at)
        if (leftAt.size > LAST_SEEN_KEPT) leftAt.delete(leftAt.keys().next().value as string)
        publish(userId, { online: false, lastSeen: at })
      }
    },
    /** Replaces the users `conn` watches, and sends their current presence. */
    async subscribe(conn: Watcher, userIds: string[]) {
      unsubscribe(conn)
      const ids = [...new Set(userIds)]
      subscribed.set(conn, ids)
      const unknown: string[] = []
      for (const u of ids) {
        const set = watchers.get(u) ?? new Set<Watcher>()
        watchers.set(u, set)
        set.add(conn)
        if (!view.tracks(u)) {
          view.track(u)
          unknown.push(u)
        }
      }
      if (unknown.length > 0) {
        pending.add(conn)
        await ask(unknown).catch((err: unknown) => log.warn({ err }, 'presence read failed'))
        pending.delete(conn)
      }
      if (subscribed.get(conn) !== ids) return // replaced or closed meanwhile
      for (const u of ids) conn.sendRaw(frame(u))
    },
    unsubscribe,
    /** For metrics: what this gateway holds and how often it had to recover. */
    stats: () => ({
      online: online.size,
      lastSeenKept: leftAt.size,
      gateways: liveGateways(),
      resyncs,
      gatewaysGone,
    }),
    /** A graceful stop: this gateway's users leave it, and its entry goes before its TTL. */
    async close() {
      clearInterval(timer)
      const at = Date.now()
      for (const u of online.keys()) publish(u, { online: false, lastSeen: at })
      closed = true
      if (nc.isClosed()) return
      answers.unsubscribe()
      changes.unsubscribe()
      await kv
        .delete(rosterKey(gatewayId))
        .catch((err: unknown) => log.warn({ err }, 'presence roster delete failed'))
    },
  }
}

export type Presence = Awaited<ReturnType<typeof createPresence>>
