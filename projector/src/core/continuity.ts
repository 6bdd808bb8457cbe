/**
 * The rule that keeps the views a gapless prefix of a shard's log (ADR 0100). Pure.
 *
 * The views store, per shard, the last stream sequence applied (the offset). An event may be
 * applied only when it directly follows what was applied: its sequence is offset + 1, or the
 * sequences in between are known not to exist in the stream (deleted or purged messages). What
 * vouches for such a jump depends on who read the log:
 *
 * - `server`: a durable consumer (re)created to start at `from` delivered `to` as its very first
 *   message, so the stream holds nothing in [from, to). Any other jump is a hole (messages
 *   delivered to someone else, lost in flight, or skipped by a stale writer) and is refused.
 * - `reader`: an ordered consumer read the range itself (rebuild, verify, replay), possibly
 *   filtered to one conversation; it recreates itself on any gap, so every jump is vouched.
 */
export type Continuity = { kind: 'server'; vouch?: Vouch } | { kind: 'reader' }

/** The stream holds no message with a sequence in [from, to). */
export interface Vouch {
  from: number
  to: number
}

/** Whether `seq` (> prev) may be applied right after `prev`, the last sequence applied. */
export const follows = (prev: number, seq: number, c: Continuity): boolean => {
  if (seq === prev + 1 || c.kind === 'reader') return true
  return c.vouch !== undefined && seq === c.vouch.to && prev + 1 >= c.vouch.from
}

/**
 * What a live consumer has seen of the consumer instance it reads from: where that instance was
 * created to start, and the next sequence it must deliver. Deliveries are checked as they arrive
 * so that a gap is noticed at once (and the consumer repositioned) rather than at the next apply.
 */
export interface DeliveryCursor {
  startSeq: number
  next?: number
  vouch?: Vouch
}

export interface Delivery {
  seq: number
  /** The consumer's own delivery counter: 1 for the first message this instance ever delivered. */
  deliverySeq: number
  redelivered: boolean
}

/**
 * Admits a delivery into the cursor (mutating it) or refuses it. The first delivery of a fresh
 * instance may jump past `startSeq` only if it is that instance's first delivery ever (delivery
 * sequence 1, not a redelivery): then the server vouches the range is empty. Afterwards every
 * delivery must be the next sequence. A refusal means: stop reading this instance and reposition.
 */
export const admit = (c: DeliveryCursor, d: Delivery): boolean => {
  if (c.next === undefined) {
    if (d.seq === c.startSeq) {
      c.next = d.seq + 1
      return true
    }
    if (d.seq > c.startSeq && d.deliverySeq === 1 && !d.redelivered) {
      c.vouch = { from: c.startSeq, to: d.seq }
      c.next = d.seq + 1
      return true
    }
    return false
  }
  if (d.seq !== c.next) return false
  c.next = d.seq + 1
  return true
}
