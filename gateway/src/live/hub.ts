import {
  type ChatEvent,
  decodeEvent,
  HEADERS,
  type Lane,
  membershipNoticeDecoder,
  type Names,
  parseConvSubject,
} from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import type { NatsConnection, Subscription } from '@nats-io/nats-core'
import type { Counter, Gauge } from 'prom-client'
import type { ConversationLog, StoredEvent } from '../conversations/log.js'
import type { ConversationStore } from '../conversations/store.js'
import { foldNotice, loadUserConversations, UserConversations } from '../conversations/user-index.js'
import type { Connection } from '../ws/connection.js'
import {
  receiptAudience,
  receiptEntries,
  receiptEventVisibleInSync,
  receiptVisibleInSync,
} from './receipt-audience.js'

/** Live events of one conversation, for one connection, held while its catch-up runs. */
interface Entry {
  pending: { seq: number; lane: Lane; prev: number; raw: string }[] | null
  /** Last sequence sent to this connection (catch-up or live). */
  head: number
  /** The user was removed: detach once the pending removal event is flushed. */
  detachAfter: boolean
  /**
   * Last `.r` event sent to this connection: the `prev` of its next one. Receipts are filtered
   * per recipient in groups (ADR 0020), so on lane `r` the gap proof is per connection.
   */
  lastR: number
}

/** Most events a connection may have pending during its catch-up before it counts as slow. */
const MAX_PENDING = 10_000
const SENDERS_WINDOW = 256

/**
 * One conversation with locally connected members: one live subscription (RePublish of both
 * lanes), the typing subject, and the connections that receive it. Deliveries are serialised
 * per room (a promise chain), so every connection sees the conversation's order.
 */
class Room {
  readonly entries = new Map<Connection, Entry>()
  /** Last sequence delivered per lane (gap detection by `prev`). */
  readonly last = { m: 0, r: 0 }
  /** [seq, senderId] of the latest messages, oldest first: the receipt audience in groups. */
  readonly senders: [number, string][] = []
  chain: Promise<void> = Promise.resolve()
  ready: Promise<void> = Promise.resolve()
  subs: Subscription[] = []
  constructor(readonly id: string) {}
}

export interface HubMetrics {
  liveEvents: Counter
  gapBackfills: Counter
  rooms: Gauge
}

export interface HubDeps {
  nc: NatsConnection
  names: Names
  log: ConversationLog
  store: ConversationStore
  logger: Logger
  metrics?: HubMetrics
  /** First connection of a user on this gateway / last one gone: presence. */
  onUserOnline?: (userId: string) => void
  onUserOffline?: (userId: string) => void
}

interface UserEntry {
  userId: string
  conns: Set<Connection>
  convs: Promise<UserConversations>
  /** The last load failed: the next caller loads again instead of inheriting the failure. */
  failed: boolean
  chain: Promise<void>
  sub: Subscription
}

const eventFrame = (id: string, seq: number, prev: number, lane: Lane, raw: string): string =>
  `{"type":"event","conversationId":"${id}","seq":${seq},"prev":${prev},"lane":"${lane}","event":${raw}}`

const removes = (e: ChatEvent): string | undefined =>
  e.type === 'member.removed' || e.type === 'member.left' ? e.data.userId : undefined

export type Hub = ReturnType<typeof createHub>

/**
 * Live fan-out on one gateway (ADR 0006, 0007, 0020): rooms per conversation with a local
 * member, per-user notice subscriptions, and the catch-up that makes `sync` gap-free. NATS
 * interest is the routing table: a gateway subscribes only to what its sockets need.
 */
export const createHub = (d: HubDeps) => {
  const rooms = new Map<string, Room>()
  const users = new Map<string, UserEntry>()
  const { names: n, log, store } = d

  const detach = (conn: Connection, room: Room) => {
    room.entries.delete(conn)
    conn.rooms.delete(room.id)
    if (room.entries.size === 0) closeRoom(room)
  }

  const closeRoom = (room: Room) => {
    if (rooms.get(room.id) !== room) return
    rooms.delete(room.id)
    for (const s of room.subs) s.unsubscribe()
    d.metrics?.rooms.set(rooms.size)
  }

  /** Sends one event to the connections that may see it, then applies membership effects. */
  const deliver = async (room: Room, e: StoredEvent, prev: number, raw: string) => {
    const { event } = e
    if (event.type === 'member.added') {
      // The new member's connected devices receive the event that adds them and all after it.
      for (const c of users.get(event.data.userId)?.conns ?? []) {
        if (c.synced && !room.entries.has(c)) {
          room.entries.set(c, { pending: null, head: e.seq - 1, detachAfter: false, lastR: 0 })
          c.rooms.add(room.id)
        }
      }
    }
    let audience: Set<string> | 'all' = 'all'
    const receipts = e.lane === 'r' ? receiptEntries(event) : []
    if (receipts.length > 0) {
      const state = await store.get(room.id)
      // A batch (ADR 0070) goes to the union of its entries' audiences; a single receipt is one entry.
      const union = new Set<string>()
      let everyone = false
      for (const r of receipts) {
        const me = state.members.get(r.userId)
        const before = me ? (r.kind === 'read' ? me.read : me.delivered) : 0
        const oldest = room.senders[0]?.[0]
        let one: Set<string> | 'all'
        if (state.kind === 'group' && (oldest === undefined || oldest > before + 1)) {
          // The window does not reach back to the previous watermark: fall back to the sync rule.
          one = new Set<string>([r.userId])
          for (const [u, m] of state.members)
            if (receiptVisibleInSync('group', u, r.userId, r.upTo, m.firstSent)) one.add(u)
        } else {
          one = receiptAudience(state.kind, r.userId, before, r.upTo, room.senders)
        }
        if (one === 'all') {
          everyone = true
          break
        }
        // A delivered watermark matters to the senders it covers, not to its author: no device
        // shows its user their own delivery state. Read state is echoed (it clears unread counts
        // on the author's other devices). Without this, a batch of a big group's delivered
        // receipts would go to every author: O(members²) bytes per message (ADR 0070).
        if (state.kind === 'group' && r.kind === 'delivered') one.delete(r.userId)
        for (const u of one) union.add(u)
      }
      audience = everyone ? 'all' : union
    }
    if (event.type === 'message.sent') {
      room.senders.push([e.seq, event.actor])
      if (room.senders.length > SENDERS_WINDOW) room.senders.shift()
    }
    store.apply(room.id, e, prev)
    room.last[e.lane] = e.seq
    const shared = e.lane === 'm' ? eventFrame(room.id, e.seq, prev, 'm', raw) : ''
    const removed = removes(event)
    for (const [conn, entry] of room.entries) {
      if (audience !== 'all' && !audience.has(conn.userId)) continue
      if (entry.pending) {
        // Framed at release: a held receipt's `prev` depends on what the catch-up sent before it.
        if (e.seq > entry.head) entry.pending.push({ seq: e.seq, lane: e.lane, prev, raw })
        if (removed === conn.userId) entry.detachAfter = true
        if (entry.pending.length > MAX_PENDING) conn.close('SLOW_CONSUMER', 'too many pending events')
        continue
      }
      if (e.seq <= entry.head) continue
      entry.head = e.seq
      if (e.lane === 'r') {
        conn.sendRaw(eventFrame(room.id, e.seq, entry.lastR, 'r', raw))
        entry.lastR = e.seq
      } else conn.sendRaw(shared)
      if (removed === conn.userId) detach(conn, room)
    }
    d.metrics?.liveEvents.inc()
  }

  const onLive = async (room: Room, subject: string, seq: number, prev: number, raw: string) => {
    await room.ready
    const p = parseConvSubject(subject)
    if (!p) return
    const lane = p.lane
    if (seq <= room.last[lane]) return
    if (prev > room.last[lane]) {
      // A live event was lost (slow subscriber, reconnect): replay the lane from the log first.
      d.metrics?.gapBackfills.inc()
      let before = room.last[lane]
      for await (const e of log.read(room.id, room.last[lane], seq - 1, lane)) {
        await deliver(room, e, e.prev ?? before, JSON.stringify(e.event))
        before = e.seq
      }
    }
    const decoded = decodeEvent(raw)
    if (!decoded.ok) {
      d.logger.warn({ subject, seq }, 'undecodable live event skipped')
      room.last[lane] = seq
      return
    }
    // `prev` from the RePublish header is exact (and equals room.last[lane] after any backfill).
    await deliver(room, { seq, lane, event: decoded.value }, prev, raw)
  }

  const room = (id: string): Room => {
    let r = rooms.get(id)
    if (r) return r
    const created = new Room(id)
    r = created
    rooms.set(id, created)
    d.metrics?.rooms.set(rooms.size)
    const live = d.nc.subscribe(n.liveConvAll(id), {
      callback: (err, msg) => {
        if (err) return
        const seq = Number(msg.headers?.get(HEADERS.sequence))
        const prev = Number(msg.headers?.get(HEADERS.lastSequence) || 0)
        if (!Number.isInteger(seq) || seq <= 0) return
        const raw = msg.string()
        created.chain = created.chain
          .then(() => onLive(created, msg.subject, seq, prev, raw))
          .catch((e: unknown) => d.logger.error({ err: e, conversationId: id }, 'live delivery failed'))
      },
    })
    const typing = d.nc.subscribe(n.typingSubject(id), {
      callback: (err, msg) => {
        if (err) return
        const t = msg.json<{ userId: string; active: boolean }>()
        const text = JSON.stringify({
          type: 'typing',
          conversationId: id,
          userId: t.userId,
          active: t.active,
        })
        for (const [conn, entry] of created.entries)
          if (entry.pending === null && conn.userId !== t.userId) conn.sendRaw(text)
      },
    })
    created.subs = [live, typing]
    // Interest must be registered at the server before the catch-up reads the log's end, or an
    // event stored in between would be in neither.
    created.ready = (async () => {
      await d.nc.flush()
      created.last.m = await log.lastSeq(id, 'm')
      created.last.r = await log.lastSeq(id, 'r')
    })()
    return created
  }

  /**
   * Sends `conn` every event of the conversation after `after` (catch-up from the log), while
   * live events for it are held. Returns the cursor reached. `release` then flushes what is held.
   */
  const attach = async (conn: Connection, id: string, after: number): Promise<number> => {
    // A socket that closed while its sync was in flight must not pin a room (nothing would detach it).
    if (conn.socket.closed) return after
    const r = room(id)
    let entry = r.entries.get(conn)
    if (entry?.pending) return entry.head // a catch-up is already running for it
    if (entry) {
      // A later `sync` on a live connection (a client filling a hole): replay from its cursor,
      // holding live events again meanwhile.
      entry.pending = []
      entry.head = after
    } else {
      entry = { pending: [], head: after, detachAfter: false, lastR: 0 }
      r.entries.set(conn, entry)
      conn.rooms.add(id)
    }
    const mine = entry
    await r.ready
    const state = await store.get(id)
    const upTo = Math.max(await log.lastSeq(id, 'm'), await log.lastSeq(id, 'r'))
    let lastM = 0
    const userId = conn.userId
    for await (const e of log.read(id, after, upTo)) {
      if (r.entries.get(conn) !== mine || conn.socket.closed) break
      const ev = e.event
      if (e.lane === 'm') {
        // Exact when the appender stored it; else the previous `.m` event of this replay.
        conn.sendRaw(eventFrame(id, e.seq, e.prev ?? lastM, 'm', JSON.stringify(ev)))
        lastM = e.seq
      } else if (
        e.seq > mine.lastR &&
        receiptEventVisibleInSync(
          state.kind,
          userId,
          receiptEntries(ev),
          state.members.get(userId)?.firstSent ?? 0,
        )
      ) {
        conn.sendRaw(eventFrame(id, e.seq, mine.lastR, 'r', JSON.stringify(ev)))
        mine.lastR = e.seq
      }
      mine.head = e.seq
      if (removes(ev) === userId) {
        mine.detachAfter = true
        break
      }
    }
    return mine.head
  }

  /** Ends the catch-up of `conn` in these rooms: held live events after its cursor are sent. */
  const release = (conn: Connection, ids: Iterable<string>) => {
    for (const id of [...ids]) {
      const r = rooms.get(id)
      const entry = r?.entries.get(conn)
      if (!r || !entry?.pending) continue
      for (const p of entry.pending) {
        if (p.seq <= entry.head) continue
        entry.head = p.seq
        if (p.lane === 'r') {
          conn.sendRaw(eventFrame(id, p.seq, entry.lastR, 'r', p.raw))
          entry.lastR = p.seq
        } else conn.sendRaw(eventFrame(id, p.seq, p.prev, 'm', p.raw))
      }
      entry.pending = null
      if (entry.detachAfter) detach(conn, r)
    }
  }

  const loadConvs = (u: UserEntry): Promise<UserConversations> => {
    u.failed = false
    const p = d.nc.flush().then(() => loadUserConversations(log.js, log.jsm, n, u.userId))
    p.catch(() => {
      if (u.convs === p) u.failed = true
    })
    u.convs = p
    return p
  }
  const convsOf = (u: UserEntry): Promise<UserConversations> => (u.failed ? loadConvs(u) : u.convs)

  const onNotice = async (u: UserEntry, raw: Uint8Array) => {
    const notice = membershipNoticeDecoder.decode(raw)
    if (!notice.ok) return
    const convs = await convsOf(u)
    foldNotice(convs, notice.value)
    if (!notice.value.joined) return
    for (const c of u.conns) {
      if (!c.synced || c.rooms.has(notice.value.conversationId)) continue
      await attach(c, notice.value.conversationId, notice.value.convSeq - 1)
      release(c, [notice.value.conversationId])
    }
  }

  return {
    attach,
    release,
    /** The cursor reached by `conn` in a conversation it receives, or undefined. */
    headOf: (conn: Connection, id: string): number | undefined => rooms.get(id)?.entries.get(conn)?.head,
    /** Registers an authenticated connection; resolves when the user's conversations are known. */
    async addConnection(conn: Connection): Promise<UserConversations> {
      const userId = conn.userId
      let u = users.get(userId)
      if (!u) {
        const entry: UserEntry = {
          userId,
          failed: false,
          conns: new Set(),
          convs: Promise.resolve(new UserConversations()),
          chain: Promise.resolve(),
          sub: d.nc.subscribe(n.liveUserSubject(userId), {
            callback: (err, msg) => {
              if (err) return
              const data = msg.data
              entry.chain = entry.chain
                .then(() => onNotice(entry, data))
                .catch((e: unknown) => d.logger.error({ err: e, userId }, 'membership notice failed'))
            },
          }),
        }
        loadConvs(entry)
        users.set(userId, entry)
        u = entry
        d.onUserOnline?.(userId)
      }
      u.conns.add(conn)
      return convsOf(u)
    },
    removeConnection(conn: Connection): void {
      for (const id of [...conn.rooms]) {
        const r = rooms.get(id)
        if (r) detach(conn, r)
      }
      conn.rooms.clear()
      const u = users.get(conn.userId)
      if (!u) return
      u.conns.delete(conn)
      if (u.conns.size === 0) {
        u.sub.unsubscribe()
        users.delete(conn.userId)
        d.onUserOffline?.(conn.userId)
      }
    },
    conversationsOf(userId: string): Promise<UserConversations> {
      const u = users.get(userId)
      return u ? convsOf(u) : Promise.resolve(new UserConversations())
    },
    /** Live rooms and users on this gateway (metrics, tests). */
    stats: () => ({ rooms: rooms.size, users: users.size }),
    close(): void {
      for (const r of rooms.values()) for (const s of r.subs) s.unsubscribe()
      for (const u of users.values()) u.sub.unsubscribe()
      rooms.clear()
      users.clear()
    },
  }
}
