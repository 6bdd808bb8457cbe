import { randomBytes } from 'node:crypto'
import { type Names, type PresenceValue, presenceValueDecoder } from '@chatapp/contracts'
import type { Logger, RangeReader } from '@chatapp/kit'
import { type KV, type KvEntry, Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/nats-core'

/** What presence needs of a connection that watches users. */
export interface Watcher {
  sendRaw(text: string): boolean
}

/** A user's presence over every gateway: online if any gateway says so, else the latest lastSeen. */
export const aggregatePresence = (perGateway: Iterable<PresenceValue>): PresenceValue => {
  let lastSeen: number | null = null
  for (const v of perGateway) {
    if (v.online) return { online: true, lastSeen: null }
    if (v.lastSeen !== null && (lastSeen === null || v.lastSeen > lastSeen)) lastSeen = v.lastSeen
  }
  return { online: false, lastSeen }
}

/**
 * A user's presence values, per gateway, as the bucket holds them now: direct gets of the
 * bucket's stream (no consumer), each key's latest revision (history 1).
 */
export const readPresence = async (
  ranges: RangeReader,
  n: Names,
  userId: string,
): Promise<Map<string, PresenceValue>> => {
  const per = new Map<string, PresenceValue>()
  for await (const m of ranges.read(
    `KV_${n.presenceBucket}`,
    `$KV.${n.presenceBucket}.${userId}.*`,
    0,
    Number.MAX_SAFE_INTEGER,
  )) {
    const gateway = m.subject.slice(m.subject.lastIndexOf('.') + 1)
    const d = m.header('KV-Operation') ? undefined : presenceValueDecoder.decode(m.data)
    if (d?.ok) per.set(gateway, d.value)
    else per.delete(gateway)
  }
  return per
}

/** The devices of a user with a live socket on any gateway (the push worker's "is it online"). */
export const devicesOnline = (perGateway: Iterable<PresenceValue>): Set<string> => {
  const out = new Set<string>()
  for (const v of perGateway) if (v.online) for (const d of v.devices ?? []) out.add(d)
  return out
}

/**
 * Presence on the `<ns>-presence` KV bucket (TTL): one key per user and gateway
 * (`<userId>.<gatewayId>`), so a user connected to two gateways stays online when one of them
 * disconnects. A gateway refreshes its keys well within the TTL and writes `online: false` with
 * `lastSeen` when the user's last local connection closes; a crashed gateway's keys expire. One
 * bucket watch per gateway fans changes out to subscribed sockets; a user's current keys are read
 * by direct gets (no consumer per subscribe). Never on the message path: every write is
 * fire-and-forget. A value also lists the user's devices with a socket on that gateway, so the
 * push worker can tell an offline device of a user who is online elsewhere (`devicesOnline`).
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
  /** Users with a connection here → their devices with one. */
  const online = new Map<string, string[]>()
  const watchers = new Map<string, Set<Watcher>>()
  /** Per watched user: gatewayId → value, as last seen in the bucket. */
  const known = new Map<string, Map<string, PresenceValue>>()
  const subscribed = new WeakMap<Watcher, string[]>()
  const now = Date.now

  const put = (userId: string, v: PresenceValue) =>
    kv
      .put(`${userId}.${gatewayId}`, JSON.stringify(v))
      .catch((err: unknown) => log.warn({ err, userId }, 'presence write failed'))

  const frame = (userId: string) => {
    const v = aggregatePresence(known.get(userId)?.values() ?? [])
    return JSON.stringify({ type: 'presence', userId, online: v.online, lastSeen: v.lastSeen })
  }

  const parse = (e: KvEntry | null): PresenceValue | undefined => {
    if (e?.operation !== 'PUT') return undefined
    const d = presenceValueDecoder.decode(e.value)
    return d.ok ? d.value : undefined
  }

  const timer = setInterval(() => {
    for (const [u, devices] of online) put(u, { online: true, lastSeen: null, devices })
  }, refreshMs)
  timer.unref()

  const watch = await kv.watch({ key: '>', include: 'updates' })
  ;(async () => {
    for await (const e of watch) {
      const dot = e.key.lastIndexOf('.')
      const userId = e.key.slice(0, dot)
      const set = watchers.get(userId)
      if (!set) continue
      const per = known.get(userId) ?? new Map<string, PresenceValue>()
      known.set(userId, per)
      const before = frame(userId)
      const v = parse(e)
      if (v) per.set(e.key.slice(dot + 1), v)
      else per.delete(e.key.slice(dot + 1))
      const text = frame(userId)
      if (text !== before) for (const c of set) c.sendRaw(text)
    }
  })().catch((err: unknown) => log.warn({ err }, 'presence watch ended'))

  const unsubscribe = (conn: Watcher) => {
    for (const u of subscribed.get(conn) ?? []) {
      const set = watchers.get(u)
      set?.delete(conn)
      if (set?.size === 0) {
        watchers.delete(u)
        known.delete(u)
      }
    }
    subscribed.delete(conn)
  }

  const load = async (userId: string) => {
    known.set(userId, await readPresence(ranges, n, userId))
  }

  return {
    gatewayId,
    /** The user's devices with a socket on this gateway now; none: offline here. */
    devices(userId: string, devices: string[]) {
      if (devices.length > 0) {
        online.set(userId, devices)
        put(userId, { online: true, lastSeen: null, devices })
      } else {
        online.delete(userId)
        put(userId, { online: false, lastSeen: now() })
      }
    },
    /** Replaces the users `conn` watches, and sends their current presence. */
    async subscribe(conn: Watcher, userIds: string[]) {
      unsubscribe(conn)
      const ids = [...new Set(userIds)]
      subscribed.set(conn, ids)
      for (const u of ids) {
        const set = watchers.get(u) ?? new Set<Watcher>()
        watchers.set(u, set)
        set.add(conn)
      }
      for (const u of ids) {
        if (!known.has(u))
          await load(u).catch((err: unknown) => log.warn({ err, userId: u }, 'presence read failed'))
        conn.sendRaw(frame(u))
      }
    },
    unsubscribe,
    async close() {
      clearInterval(timer)
      watch.stop()
    },
  }
}

export type Presence = Awaited<ReturnType<typeof createPresence>>
