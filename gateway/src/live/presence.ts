import type { Names } from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import { type KV, type KvEntry, Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/nats-core'
import type { Connection } from '../ws/connection.js'

interface PresenceValue {
  online: boolean
  lastSeen: number | null
}

/**
 * Presence on the `<ns>-presence` KV bucket (TTL): a user is online while a gateway holds a
 * connection of theirs (refreshed well within the TTL), and written offline with `lastSeen` when
 * the last one closes. One bucket watch per gateway fans changes out to subscribed sockets. Never
 * on the message path: every write is fire-and-forget.
 */
export const createPresence = async (nc: NatsConnection, n: Names, log: Logger, refreshMs: number) => {
  const kv: KV = await new Kvm(nc).open(n.presenceBucket)
  const online = new Set<string>()
  const watchers = new Map<string, Set<Connection>>()
  const subscribed = new WeakMap<Connection, string[]>()
  const now = Date.now

  const put = (userId: string, v: PresenceValue) =>
    kv
      .put(userId, JSON.stringify(v))
      .catch((err: unknown) => log.warn({ err, userId }, 'presence write failed'))

  const frame = (userId: string, v: PresenceValue | undefined) =>
    JSON.stringify({ type: 'presence', userId, online: v?.online ?? false, lastSeen: v?.lastSeen ?? null })

  const parse = (e: KvEntry | null): PresenceValue | undefined => {
    if (e?.operation !== 'PUT') return undefined
    try {
      return e.json<PresenceValue>()
    } catch {
      return undefined
    }
  }

  const timer = setInterval(() => {
    for (const u of online) put(u, { online: true, lastSeen: null })
  }, refreshMs)
  timer.unref()

  const watch = await kv.watch({ key: '>', include: 'updates' })
  ;(async () => {
    for await (const e of watch) {
      const set = watchers.get(e.key)
      if (!set) continue
      const text = frame(e.key, parse(e))
      for (const c of set) c.sendRaw(text)
    }
  })().catch((err: unknown) => log.warn({ err }, 'presence watch ended'))

  const unsubscribe = (conn: Connection) => {
    for (const u of subscribed.get(conn) ?? []) {
      const set = watchers.get(u)
      set?.delete(conn)
      if (set?.size === 0) watchers.delete(u)
    }
    subscribed.delete(conn)
  }

  return {
    online(userId: string) {
      online.add(userId)
      put(userId, { online: true, lastSeen: null })
    },
    offline(userId: string) {
      online.delete(userId)
      put(userId, { online: false, lastSeen: now() })
    },
    /** Replaces the users `conn` watches, and sends their current presence. */
    async subscribe(conn: Connection, userIds: string[]) {
      unsubscribe(conn)
      const ids = [...new Set(userIds)]
      subscribed.set(conn, ids)
      for (const u of ids) {
        const set = watchers.get(u) ?? new Set<Connection>()
        watchers.set(u, set)
        set.add(conn)
      }
      for (const u of ids) conn.sendRaw(frame(u, parse(await kv.get(u).catch(() => null))))
    },
    unsubscribe,
    async close() {
      clearInterval(timer)
      watch.stop()
    },
  }
}

export type Presence = Awaited<ReturnType<typeof createPresence>>
