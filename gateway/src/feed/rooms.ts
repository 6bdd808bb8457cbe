import { decodeEvent, HEADERS, type Names, parseConvSubject, typingSignalDecoder } from '@chatapp/contracts'
import { acceptedAtOrBefore, admit, type Stored } from '@chatapp/domain'
import { type ConversationLog, headerText, headerValue, type Logger } from '@chatapp/kit'
import type { NatsConnection } from '@nats-io/nats-core'
import type { Counter, Gauge, Histogram } from 'prom-client'
import type { StateStore } from '../conversation/state-store.js'
import { deliver } from './delivery.js'
import { Room } from './room.js'
import { RoomTails } from './room-tail.js'
import type { Subscriber } from './subscriber.js'

export interface FeedMetrics {
  liveEvents: Counter
  gapBackfills: Counter
  rooms: Gauge
  /** Arrival of a live message to its last local device, by the room's local devices (`devicesClass`). */
  fanout: Histogram<'devices'>
}

/** A room's local devices as a label of few values: fan-out time grows with them. */
export const devicesClass = (n: number): string =>
  n <= 1 ? '1' : n <= 16 ? '2-16' : n <= 256 ? '17-256' : '257+'

export interface RoomsDeps {
  nc: NatsConnection
  names: Names
  log: ConversationLog
  store: StateStore
  logger: Logger
  metrics?: FeedMetrics
  /** Connected, synced devices of a user on this gateway (a `member.added` attaches them). */
  devicesOf(userId: string): Iterable<Subscriber>
  /** Events kept in the rooms' tails, at most (room-tail.ts). */
  tailEvents?: number
}

/**
 * The rooms of this gateway: one per conversation with a local subscriber, each with one live
 * subscription. A live event is folded first (the state store judges it), then delivered if
 * accepted; a lost live event (its `Nats-Last-Sequence` is ahead of what the room processed) is
 * read back from the log first. NATS interest is the routing table: no registry of who is where.
 */
export const createRooms = (d: RoomsDeps) => {
  const rooms = new Map<string, Room>()
  const { names: n, log, store } = d
  const tails = new RoomTails(d.tailEvents)

  const close = (room: Room) => {
    if (rooms.get(room.id) !== room) return
    rooms.delete(room.id)
    tails.drop(room)
    room.unsubscribe()
    store.setLive(room.id, false)
    d.metrics?.rooms.set(rooms.size)
  }

  const detach = (sub: Subscriber, room: Room) => {
    room.entries.delete(sub)
    sub.rooms.delete(room.id)
    if (room.entries.size === 0) close(room)
  }

  const deps = { devicesOf: d.devicesOf, detach, store }

  /** `chatPrev`: the writer's `Chat-Prev` header, kept in the room's tail as a log read would give it. */
  const onLive = async (
    room: Room,
    subject: string,
    seq: number,
    prev: number,
    raw: string,
    chatPrev: number | undefined,
    arrived: number,
  ) => {
    // Awaited only until the room's first refresh is done: an await costs a suspension per event.
    if (!room.isReady) await room.ready
    const lane = parseConvSubject(subject)?.lane
    if (!lane || seq <= room.last[lane]) return
    const decoded = decodeEvent(raw)
    if (!decoded.ok) {
      // The log's readers skip it too (it never enters a state): one bad record skips, no more.
      d.logger.warn({ subject, seq }, 'undecodable live event skipped')
      room.last[lane] = seq
      tails.advance(room, lane, seq)
      return
    }
    const x: Stored = { seq, lane, event: decoded.value }
    if (lane === 'm') room.delivering = seq
    const folded = await store.foldLive(room.id, x, prev)
    const state = await store.get(room.id)
    if (prev > room.last[lane]) {
      // Live events were lost (slow subscriber, reconnect): replay the lane from the log first.
      d.metrics?.gapBackfills.inc()
      let before = room.last[lane]
      for await (const y of log.read(room.id, room.last[lane], seq - 1, lane)) {
        const accepted =
          lane === 'm'
            ? !state.rejected.has(y.seq)
            : admit(state, y.event, { conversationId: room.id, lane }) === undefined
        if (accepted)
          await deliver(deps, room, y, acceptedAtOrBefore(state, before), JSON.stringify(y.event), undefined)
        room.last[lane] = y.seq
        tails.append(room, lane, y)
        before = y.seq
      }
    }
    if (folded.verdict.kind === 'accepted')
      await deliver(deps, room, x, acceptedAtOrBefore(state, prev), raw, folded.before)
    else if (folded.verdict.kind === 'rejected')
      d.logger.warn(
        { conversationId: room.id, seq, reason: folded.verdict.reason },
        'rejected event not delivered',
      )
    room.last[lane] = seq
    tails.append(room, lane, { ...x, ...(chatPrev !== undefined ? { prev: chatPrev } : {}) })
    room.delivering = 0
    d.metrics?.liveEvents.inc()
    // A message's, from its arrival (so its wait behind the room's earlier events counts too) to
    // its last local device: the gateway's share of send → delivered, apart from the append.
    if (lane === 'm' && folded.verdict.kind === 'accepted')
      d.metrics?.fanout.observe(
        { devices: devicesClass(room.entries.size) },
        (performance.now() - arrived) / 1000,
      )
  }

  /** The room of a conversation, created (and subscribed) on first use. */
  const open = (id: string): Room => {
    const existing = rooms.get(id)
    if (existing) return existing
    const room = new Room(id)
    rooms.set(id, room)
    d.metrics?.rooms.set(rooms.size)
    const live = d.nc.subscribe(n.liveConvAll(id), {
      callback: (err, msg) => {
        if (err) return
        // Read from the header block's text, not nats.js's MsgHdrs (kit/nats-headers.ts: why).
        const h = headerText(msg)
        const seq = Number(headerValue(h, HEADERS.sequence))
        if (!Number.isInteger(seq) || seq <= 0) return
        // The writer's Chat-Prev, read once: kept in the room's tail as a log read gives it, and
        // the predecessor when a trim emptied the subject (Nats-Last-Sequence 0, ADR 0201).
        const cp = Number(headerValue(h, HEADERS.prev) || undefined)
        const chatPrev = Number.isInteger(cp) ? cp : undefined
        const prev = Number(headerValue(h, HEADERS.lastSequence) || 0) || (chatPrev ?? 0)
        const raw = msg.string()
        const arrived = performance.now()
        room.chain = room.chain
          .then(() => onLive(room, msg.subject, seq, prev, raw, chatPrev, arrived))
          .catch((e: unknown) => d.logger.error({ err: e, conversationId: id }, 'live delivery failed'))
      },
    })
    const typing = d.nc.subscribe(n.typingSubject(id), {
      callback: (err, msg) => {
        if (err) return
        const t = typingSignalDecoder.decode(msg.data)
        if (!t.ok) return
        const text = JSON.stringify({
          type: 'typing',
          conversationId: id,
          userId: t.value.userId,
          active: t.value.active,
        })
        for (const [sub, entry] of room.entries)
          if (entry.pending === null && sub.userId !== t.value.userId) sub.sendRaw(text)
      },
    })
    room.unsubscribe = () => {
      live.unsubscribe()
      typing.unsubscribe()
    }
    store.setLive(id, true)
    // Interest must be registered at the server before the catch-up reads the log's end, or an
    // event stored in between would be in neither.
    // Fresh: a fold in flight may have read the log's end before the flush (catch-up.ts relies on it).
    room.ready = (async () => {
      await d.nc.flush()
      const { state: s, reads } = await store.refreshReads(id, { fresh: true })
      room.last.m = s.lastM
      room.last.r = s.lastR
      tails.seed(room, reads, room.last)
      room.isReady = true
    })()
    return room
  }

  return {
    open,
    detach,
    get: (id: string) => rooms.get(id),
    deps,
    tails,
    size: () => rooms.size,
    closeAll() {
      for (const r of [...rooms.values()]) close(r)
    },
  }
}

export type Rooms = ReturnType<typeof createRooms>
