import type { Lane } from '@chatapp/contracts'
import { acceptedAtOrBefore, admit, lastSeq } from '@chatapp/domain'
import { type ConversationLog, mergeBySeq, type StoredEvent } from '@chatapp/kit'
import type { LaneRead, LaneReads, StateStore } from '../conversation/state-store.js'
import { echoRid } from './delivery.js'
import { eventFrame } from './event-frame.js'
import { laneREventVisibleInSync } from './receipt-audience.js'
import { redactForReplay } from './redact.js'
import type { Room, RoomEntry } from './room.js'
import type { Rooms } from './rooms.js'
import type { Subscriber } from './subscriber.js'

/**
 * The events of one lane with `after < seq <= upTo`, in order: those a fold has just read (`r`)
 * from memory, the rest from the log. Exactly what a read of the log yields (`r` holds every event
 * of its range), without asking for them again (ADR 0176).
 */
async function* laneAfter(
  log: ConversationLog,
  id: string,
  lane: Lane,
  after: number,
  upTo: number,
  r: LaneRead | undefined,
): AsyncGenerator<StoredEvent, void, undefined> {
  let pos = after
  if (r && r.to > after && r.from < upTo) {
    // What lies before the fold's range (a device further behind than a snapshot) from the log.
    if (r.from > pos) {
      yield* log.read(id, pos, r.from, lane)
      pos = r.from
    }
    for (const e of r.events) {
      if (e.seq > upTo) return
      if (e.seq > pos) yield e
    }
    pos = Math.max(pos, r.to)
  }
  if (pos < upTo) yield* log.read(id, pos, upTo, lane)
}

/**
 * Of two exact reads of a lane, the one to replay from: the one reaching further back (less left
 * for the log), then further forward. The room's tail is copied (it changes while the replay awaits).
 */
const pick = (
  tail: LaneRead | undefined,
  read: LaneRead | undefined,
  after: number,
): LaneRead | undefined => {
  const t = tail && { from: tail.from, to: tail.to, events: tail.events.filter((e) => e.seq > after) }
  if (!t || !read) return t ?? read
  if (t.from !== read.from) return t.from < read.from ? t : read
  return t.to >= read.to ? t : read
}

/** Both lanes after `after`, merged by sequence, from what was read already where it covers the range. */
export const readAfter = (
  log: ConversationLog,
  id: string,
  after: number,
  upTo: number,
  reads: LaneReads | undefined,
): AsyncIterable<StoredEvent> =>
  reads?.m || reads?.r
    ? mergeBySeq([
        laneAfter(log, id, 'm', after, upTo, reads.m),
        laneAfter(log, id, 'r', after, upTo, reads.r),
      ])
    : log.read(id, after, upTo)

/**
 * The catch-up that makes `sync` gap-free (ADR 0021): a subscriber is attached to the room
 * first (its live events are held), then sent every accepted event after its cursor from the
 * log, then released (held events after what it reached are sent). Nothing missed, nothing twice.
 */
export const createCatchUp = (rooms: Rooms, log: ConversationLog, store: StateStore) => {
  /**
   * Sends `sub` every accepted event of the conversation after `after`, while live events for it
   * are held. Returns the cursor reached. `release` then flushes what is held. `reads`: what a
   * refresh of this conversation has just read from the log (sync's), replayed from memory.
   */
  const attach = async (sub: Subscriber, id: string, after: number, reads?: LaneReads): Promise<number> => {
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
    const running = replay(sub, room, mine, id, after, reads).catch((e: unknown) => {
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
  const replay = async (
    sub: Subscriber,
    room: Room,
    mine: RoomEntry,
    id: string,
    after: number,
    reads: LaneReads | undefined,
  ) => {
    // Attached before the room's first refresh ended (the attach that opened it, or one that came
    // meanwhile): that refresh read the log's end after the room's interest was registered and
    // before the room processed any live event, so every event is in the state or reaches this
    // entry live: the state needs no second refresh (two fewer requests per room opened).
    const covered = !room.isReady
    await room.ready
    // What the sync read joins the room's tail when they meet (the next device of this
    // conversation then finds it there); then the replay takes the better of the two, per lane.
    rooms.tails.prepend(room, reads)
    const cover: LaneReads = {
      m: pick(room.tail?.m, reads?.m, after),
      r: pick(room.tail?.r, reads?.r, after),
    }
    const state = covered ? await store.get(id) : await store.refresh(id)
    const upTo = lastSeq(state)
    const userId = sub.userId
    const me = state.members.get(userId)
    // The previous `.m` event sent in this replay; before the first, the writer's expectation
    // (a lower bound of the true predecessor), or 0: a low `prev` is always safe for a client.
    let lastM = 0
    for await (const e of readAfter(log, id, after, upTo, cover)) {
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
