import type { Lane } from '@chatapp/contracts'
import type { LaneRead } from '../conversation/state-store.js'
import type { Subscriber } from './subscriber.js'

/** An event held for one subscriber while its catch-up runs; framed when released. */
export interface Held {
  seq: number
  lane: Lane
  /** For lane `m`: the previous accepted `.m` sequence (lane `r` is framed per subscriber). */
  prev: number
  json: string
  /** For the subscriber's own message: its clientMsgId, whose send the frame may answer at release. */
  echoOf?: string
}

/** One subscriber of a room. */
export interface RoomEntry {
  /** Live events held while the catch-up runs (null once released). */
  pending: Held[] | null
  /** The catch-up under way (until released): a second attach waits for it and gets its cursor. */
  running?: Promise<number> | undefined
  /** Last sequence sent to this subscriber (catch-up or live). */
  head: number
  /** The user was removed: detach once the pending removal event is flushed. */
  detachAfter: boolean
  /**
   * Last `.r` event sent to this subscriber: the `prev` of its next one. Receipts are filtered
   * per recipient in groups (ADR 0020), so on lane `r` the gap proof is per subscriber.
   */
  lastR: number
}

/** Most events a subscriber may have held during its catch-up before it counts as slow. */
export const MAX_HELD = 10_000
/** [seq, senderId] of the latest messages kept per room: the receipt audience in groups. */
export const SENDERS_WINDOW = 256

/**
 * One conversation with locally connected members: its live subscription (RePublish of both
 * lanes and the typing subject) and the subscribers that receive it. Deliveries are serialised
 * per room (a promise chain), so every subscriber sees the conversation's order.
 */
export class Room {
  readonly entries = new Map<Subscriber, RoomEntry>()
  /** Last sequence processed per lane, delivered or skipped (gap detection by `prev`). */
  readonly last = { m: 0, r: 0 }
  readonly senders: [number, string][] = []
  /** The `.m` sequence whose live delivery is under way (folded live, not yet framed), or 0. */
  delivering = 0
  chain: Promise<void> = Promise.resolve()
  ready: Promise<void> = Promise.resolve()
  /** Set when `ready` has resolved: the room's first refresh (after its interest was registered) is done. */
  isReady = false
  /** The latest events of each lane, exact (room-tail.ts); from when the room is ready until it closes. */
  tail: Record<Lane, LaneRead> | undefined
  unsubscribe: () => void = () => {}
  constructor(readonly id: string) {}

  rememberSender(seq: number, senderId: string): void {
    this.senders.push([seq, senderId])
    if (this.senders.length > SENDERS_WINDOW) this.senders.shift()
  }
}
