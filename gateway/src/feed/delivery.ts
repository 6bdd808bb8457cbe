import type { ChatEvent } from '@chatapp/contracts'
import { receiptEntries, type Stored, type Watermarks } from '@chatapp/domain'
import type { StateStore } from '../conversation/state-store.js'
import { receiptEventAudience } from './audience.js'
import { eventFrame } from './event-frame.js'
import { MAX_HELD, type Room } from './room.js'
import type { Subscriber } from './subscriber.js'

export interface DeliveryDeps {
  store: StateStore
  devicesOf(userId: string): Iterable<Subscriber>
  detach(sub: Subscriber, room: Room): void
}

const removes = (e: ChatEvent): string | undefined =>
  e.type === 'member.removed' || e.type === 'member.left' ? e.data.userId : undefined

/** The rid of `sub`'s own send this message answers, if `sub` is the device that sent it. */
export const echoRid = (sub: Subscriber, roomId: string, e: ChatEvent): string | undefined =>
  e.type === 'message.sent' && e.actor === sub.userId && e.data.deviceId === sub.deviceId
    ? sub.takeEcho(roomId, e.data.clientMsgId)
    : undefined

/**
 * A receipt event made only of receipts this very connection sent: it knows them, and sending
 * them back would double the frames of every receipt (the user's other devices still get it).
 */
const ownReceiptsOnly = (
  sub: Subscriber,
  roomId: string,
  entries: ReturnType<typeof receiptEntries>,
): boolean =>
  entries.length > 0 &&
  entries.every((r) => r.userId === sub.userId && sub.ownReceipt(roomId, r.kind) >= r.upTo)

/**
 * Sends one accepted event to the room's subscribers that may see it, then applies membership
 * effects. `prev` is its gap proof on lane `m`; `json` the event as stored. Subscribers whose
 * catch-up runs hold it; a `.m` frame is encoded once for the whole room.
 */
export const deliver = async (
  d: DeliveryDeps,
  room: Room,
  x: Stored,
  prev: number,
  json: string,
  before: ReadonlyMap<string, Watermarks> | undefined,
): Promise<void> => {
  const { event } = x
  if (event.type === 'member.added' || event.type === 'member.joined') {
    // The new member's connected devices receive the event that adds them and all after it.
    for (const sub of d.devicesOf(event.data.userId)) {
      if (sub.synced && !room.entries.has(sub)) {
        room.entries.set(sub, { pending: null, head: x.seq - 1, detachAfter: false, lastR: 0 })
        sub.rooms.add(room.id)
      }
    }
  }
  let audience: Set<string> | 'all' = 'all'
  const entries = x.lane === 'r' ? receiptEntries(event) : []
  if (entries.length > 0) audience = receiptEventAudience(room, await d.store.get(room.id), entries, before)
  // Delete for me concerns its author's devices alone (ADR 0212).
  else if (event.type === 'message.hidden') audience = new Set([event.actor])
  if (event.type === 'message.sent') room.rememberSender(x.seq, event.actor)
  // Encoded to UTF-8 once for the room: handed over as a string, each socket's send would convert
  // it again (1,023 conversions of the same frame in a group of 1,024).
  const shared = x.lane === 'm' ? Buffer.from(eventFrame(room.id, x.seq, prev, 'm', json)) : undefined
  const removed = removes(event)
  for (const [sub, entry] of room.entries) {
    if (audience !== 'all' && !audience.has(sub.userId)) continue
    if (x.lane === 'r' && ownReceiptsOnly(sub, room.id, entries)) continue
    if (entry.pending) {
      // Framed at release: a held receipt's `prev` depends on what the catch-up sent before it.
      if (x.seq > entry.head) {
        // Whose send it may answer is settled when it is framed (the catch-up may frame it first).
        const own =
          event.type === 'message.sent' && event.actor === sub.userId && event.data.deviceId === sub.deviceId
        entry.pending.push({
          seq: x.seq,
          lane: x.lane,
          prev,
          json,
          ...(own ? { echoOf: event.data.clientMsgId } : {}),
        })
      }
      if (removed === sub.userId) entry.detachAfter = true
      if (entry.pending.length > MAX_HELD) sub.closeSlow('too many pending events')
      continue
    }
    if (x.seq <= entry.head) continue
    entry.head = x.seq
    if (x.lane === 'r') {
      sub.sendRaw(eventFrame(room.id, x.seq, entry.lastR, 'r', json))
      entry.lastR = x.seq
    } else {
      // Taken only when framed: a copy already sent by a catch-up must not swallow the answer.
      const rid = echoRid(sub, room.id, event)
      sub.sendRaw(
        rid === undefined && shared !== undefined ? shared : eventFrame(room.id, x.seq, prev, 'm', json, rid),
      )
    }
    if (removed === sub.userId) d.detach(sub, room)
  }
}
