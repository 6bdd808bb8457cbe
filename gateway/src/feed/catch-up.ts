import { acceptedAtOrBefore, admit, lastSeq } from '@chatapp/domain'
import type { ConversationLog } from '@chatapp/kit'
import type { StateStore } from '../conversation/state-store.js'
import { echoRid } from './delivery.js'
import { eventFrame } from './event-frame.js'
import { laneREventVisibleInSync } from './receipt-audience.js'
import { redactForReplay } from './redact.js'
import type { Room, RoomEntry } from './room.js'
import type { Rooms } from './rooms.js'
import type { Subscriber } from './subscriber.js'

/**
 * The catch-up that makes `sync` gap-free (ADR 0021): a subscriber is attached to the room
 * first (its live events are held), then sent every accepted event after its cursor from the
 * log, then released (held events after what it reached are sent). Nothing missed, nothing twice.
 */
export const createCatchUp = (rooms: Rooms, log: ConversationLog, store: StateStore) => {
  /**
   * Sends `sub` every accepted event of the conversation after `after`, while live events for it
   * are held. Returns the cursor reached. `release` then flushes what is held.
   */
  const attach = async (sub: Subscriber, id: string, after: number): Promise<number> => {
    // A socket that closed while its sync was in flight must not pin a room (nothing would detach it).
    if (sub.closed) return after
    const room = rooms.open(id)
    let entry = room.entries.get(sub)
    // A catch-up is already running for it (a membership notice's, while its sync reached the
    // same conversation): join it. Answering with the cursor it has reached so far would let
    // `synced` claim a cursor the replay has not got to yet.
    if (entry?.pending) return entry.running ?? entry.head
    if (entry) {
      // A later `sync` on a live connection (a client filling a hole): replay from its cursor,
      // holding live events again meanwhile.
      entry.pending = []
      entry.head = after
    } else {
      entry = { pending: [], head: after, detachAfter: false, lastR: 0 }
      room.entries.set(sub, entry)
      sub.rooms.add(id)
    }
    const mine = entry
    const running = replay(sub, room, mine, id, after).catch((e: unknown) => {
      // A replay that failed (the log did not answer in time) must not leave the subscriber in
      // the room with its live events held and never released: it would look attached (a
      // membership notice skips it) and receive nothing. Detached, it can be attached again.
      if (room.entries.get(sub) === mine) rooms.detach(sub, room)
      throw e
    })
    mine.running = running
    return running
  }

  /** The replay of one attach: every accepted event after `after`, with live events held meanwhile. */
  const replay = async (sub: Subscriber, room: Room, mine: RoomEntry, id: string, after: number) => {
    await room.ready
    const state = await store.refresh(id)
    const upTo = lastSeq(state)
    const userId = sub.userId
    const me = state.members.get(userId)
    // The previous `.m` event sent in this replay; before the first, the writer's expectation
    // (a lower bound of the true predecessor), or 0: a low `prev` is always safe for a client.
    let lastM = 0
    for await (const e of log.read(id, after, upTo)) {
      if (room.entries.get(sub) !== mine || sub.closed) break
      const ev = e.event
      if (e.lane === 'm') {
        const shown = state.rejected.has(e.seq)
          ? 'skip'
          : (redactForReplay(state.deleted, state.edited, e.seq, ev) ?? ev)
        if (shown !== 'skip') {
          const prev = acceptedAtOrBefore(state, lastM || e.prev || 0)
          sub.sendRaw(eventFrame(id, e.seq, prev, 'm', JSON.stringify(shown), echoRid(sub, id, ev)))
          lastM = e.seq
        } else if (state.rejected.has(e.seq)) lastM = e.seq
        // A skipped accepted event is never named as a `prev` (the client never received it): the
        // next frame names the last one sent, which is lower, and a low `prev` is always safe.
      } else if (
        e.seq > mine.lastR &&
        admit(state, ev, { conversationId: id, lane: 'r' }) === undefined &&
        laneREventVisibleInSync(state.kind, userId, ev, me?.firstSent ?? 0)
      ) {
        sub.sendRaw(eventFrame(id, e.seq, mine.lastR, 'r', JSON.stringify(ev)))
        mine.lastR = e.seq
      }
      mine.head = e.seq
      if ((ev.type === 'member.removed' || ev.type === 'member.left') && ev.data.userId === userId) {
        if (!state.rejected.has(e.seq)) {
          mine.detachAfter = true
          break
        }
      }
    }
    return mine.head
  }

  /** Ends the catch-up of `sub` in these rooms: held live events after its cursor are sent. */
  const release = (sub: Subscriber, ids: Iterable<string>) => {
    for (const id of [...ids]) {
      const room = rooms.get(id)
      const entry = room?.entries.get(sub)
      if (!room || !entry?.pending) continue
      for (const p of entry.pending) {
        if (p.seq <= entry.head) continue
        entry.head = p.seq
        if (p.lane === 'r') {
          sub.sendRaw(eventFrame(id, p.seq, entry.lastR, 'r', p.json))
          entry.lastR = p.seq
        } else {
          const rid = p.echoOf === undefined ? undefined : sub.takeEcho(id, p.echoOf)
          sub.sendRaw(eventFrame(id, p.seq, p.prev, 'm', p.json, rid))
        }
      }
      entry.pending = null
      entry.running = undefined
      if (entry.detachAfter) rooms.detach(sub, room)
    }
  }

  /** The cursor reached by `sub` in a conversation it receives, or undefined. */
  const headOf = (sub: Subscriber, id: string): number | undefined => rooms.get(id)?.entries.get(sub)?.head

  /**
   * Whether `sub` is about to be sent the event at `seq` by this room: the room is delivering it
   * live right now (folded, not yet framed), and `sub` is attached, not catching up, and has not
   * been sent it. Then the event can answer `sub`'s own send. Anything else (the live copy was
   * lost, the event was folded from a log read) answers with `sent`: never wait on a maybe.
   */
  const willDeliver = (sub: Subscriber, id: string, seq: number): boolean => {
    const room = rooms.get(id)
    const entry = room?.entries.get(sub)
    return (
      room?.delivering === seq &&
      entry !== undefined &&
      entry.pending === null &&
      entry.head < seq &&
      !sub.closed
    )
  }

  return { attach, release, headOf, willDeliver }
}

export type CatchUp = ReturnType<typeof createCatchUp>
