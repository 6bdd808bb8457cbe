import type { Lane } from '@chatapp/contracts'
import type { StoredEvent } from '@chatapp/kit'
import type { LaneRead, LaneReads } from '../conversation/state-store.js'
import type { Room } from './room.js'

/** Events kept in all rooms' tails of a gateway, at most, by default. */
export const ROOM_TAIL_EVENTS = 50_000

const LANES: Lane[] = ['m', 'r']

/**
 * The latest events of each room, per lane, kept so that a device catching up in a room that is
 * open here (the second member of a conversation reconnecting after the first, ADR 0176) replays
 * them from memory instead of reading them from the log again. A tail is exact: every event of
 * its lane with `from < seq <= to`, as a read of the log yields them (LaneRead). It is fed by the
 * room's own refresh when the room opens, the reads of the sync that opened it, and every live
 * event the room processes (contiguous per lane: rooms.ts backfills a gap before going on).
 *
 * Memory is bounded for the whole gateway, not per room: past `budget` events, the oldest event
 * added anywhere is let go (its room's tail then starts after it). Closed rooms' tails go with them.
 */
export class RoomTails {
  /** One entry per event held, in the order added: [room, lane]. */
  private queue: [Room, Lane][] = []
  private head = 0
  private count = 0
  /** Entries of rooms whose tail was dropped, still in the queue. */
  private stale = 0

  constructor(private readonly budget = ROOM_TAIL_EVENTS) {}

  /** Starts the tail of a room whose refresh read `reads` and reached `last`. */
  seed(room: Room, reads: LaneReads, last: { m: number; r: number }): void {
    if (this.budget <= 0) return
    const tail = {} as Record<Lane, LaneRead>
    for (const lane of LANES) {
      const r = reads[lane]
      tail[lane] =
        r && r.to >= last[lane] && r.from <= last[lane]
          ? { from: r.from, to: r.to, events: [...r.events] }
          : { from: last[lane], to: last[lane], events: [] }
    }
    room.tail = tail
    for (const lane of LANES) this.added(room, lane, tail[lane].events.length)
  }

  /** An event of the lane the room has just processed (after every earlier one of the lane). */
  append(room: Room, lane: Lane, x: StoredEvent): void {
    const t = room.tail?.[lane]
    if (!t || x.seq <= t.to) return
    t.events.push(x)
    t.to = x.seq
    this.added(room, lane, 1)
  }

  /** The room processed the lane up to `seq` with nothing to keep (an undecodable record). */
  advance(room: Room, lane: Lane, seq: number): void {
    const t = room.tail?.[lane]
    if (t && seq > t.to) t.to = seq
  }

  /** Extends a tail back with what a read found just before it (a sync's reads), when they meet. */
  prepend(room: Room, reads: LaneReads | undefined): void {
    for (const lane of LANES) {
      const t = room.tail?.[lane]
      const r = reads?.[lane]
      if (!t || !r || r.from >= t.from || r.to < t.from) continue
      const before = r.events.filter((e) => e.seq <= t.from)
      t.events.unshift(...before)
      t.from = r.from
      this.added(room, lane, before.length)
    }
  }

  /** The room closed. */
  drop(room: Room): void {
    if (!room.tail) return
    this.stale += room.tail.m.events.length + room.tail.r.events.length
    this.count -= room.tail.m.events.length + room.tail.r.events.length
    room.tail = undefined
    if (this.stale > this.budget) this.compact()
  }

  /** Events held (tests, metrics). */
  size(): number {
    return this.count
  }

  private added(room: Room, lane: Lane, n: number): void {
    for (let i = 0; i < n; i++) this.queue.push([room, lane])
    this.count += n
    while (this.count > this.budget && this.head < this.queue.length) {
      const [r, l] = this.queue[this.head++]!
      const t = r.tail?.[l]
      if (!t) {
        this.stale--
        continue
      }
      const first = t.events.shift()
      if (first) t.from = first.seq
      this.count--
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }

  private compact(): void {
    this.queue = this.queue.slice(this.head).filter(([r]) => r.tail !== undefined)
    this.head = 0
    this.stale = 0
  }
}
