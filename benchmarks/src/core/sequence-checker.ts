/**
 * Verifies what one receiver got from each sender of each conversation. Senders number their
 * messages 1, 2, 3 … per (conversation, sender); the receiver sees each number exactly once and
 * in order when nothing is lost, duplicated or reordered.
 *
 * - a number above the next expected one leaves a hole (those numbers are *missing* for now);
 * - a missing number that arrives later is *out of order* (and no longer missing);
 * - a number already seen is a *duplicate*;
 * - at the end, every number the sender had stored (acknowledged) that never arrived is *lost*.
 */
export interface CheckCounts {
  received: number
  duplicated: number
  outOfOrder: number
  lost: number
}

interface Stream {
  last: number
  missing: Set<number>
}

export class SequenceChecker {
  private readonly streams = new Map<string, Stream>()
  private received = 0
  private duplicated = 0
  private outOfOrder = 0

  /** Returns what this arrival was, so a caller can log the first anomaly it sees. */
  receive(stream: string, n: number): 'ok' | 'gap' | 'late' | 'duplicate' {
    let s = this.streams.get(stream)
    if (!s) {
      s = { last: 0, missing: new Set() }
      this.streams.set(stream, s)
    }
    if (n === s.last + 1) {
      s.last = n
      this.received++
      return 'ok'
    }
    if (n > s.last + 1) {
      for (let k = s.last + 1; k < n; k++) s.missing.add(k)
      s.last = n
      this.received++
      return 'gap'
    }
    if (s.missing.delete(n)) {
      this.outOfOrder++
      this.received++
      return 'late'
    }
    this.duplicated++
    return 'duplicate'
  }

  /**
   * `stored` gives, per stream, the numbers the sender knows were stored (acknowledged with
   * `sent`); a number that was refused is not expected. Streams this receiver should have seen
   * but never did count in full.
   */
  finish(stored: ReadonlyMap<string, StoredRange>): CheckCounts {
    let lost = 0
    for (const [key, range] of stored) {
      const s = this.streams.get(key) ?? { last: 0, missing: new Set<number>() }
      for (const k of s.missing) if (!range.refused.has(k) && k <= range.upTo) lost++
      for (let k = s.last + 1; k <= range.upTo; k++) if (!range.refused.has(k)) lost++
    }
    return { received: this.received, duplicated: this.duplicated, outOfOrder: this.outOfOrder, lost }
  }
}

/** What a sender stored on one stream: numbers 1..upTo, except those the gateway refused. */
export interface StoredRange {
  upTo: number
  refused: ReadonlySet<number>
}

export const addCounts = (a: CheckCounts, b: CheckCounts): CheckCounts => ({
  received: a.received + b.received,
  duplicated: a.duplicated + b.duplicated,
  outOfOrder: a.outOfOrder + b.outOfOrder,
  lost: a.lost + b.lost,
})

/** What happened between two cumulative counts (a step's share). */
export const subtractCounts = (a: CheckCounts, b: CheckCounts): CheckCounts => ({
  received: a.received - b.received,
  duplicated: a.duplicated - b.duplicated,
  outOfOrder: a.outOfOrder - b.outOfOrder,
  lost: a.lost - b.lost,
})

export const ZERO_COUNTS: CheckCounts = { received: 0, duplicated: 0, outOfOrder: 0, lost: 0 }
