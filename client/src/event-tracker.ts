/**
 * Per conversation: what this device has processed, lane by lane, so it can drop replays and
 * notice holes. Pure bookkeeping, no I/O.
 *
 * A conversation's two lanes (`m` messages/membership/media, `r` receipts) share one stream, so
 * sequences of both interleave; each event carries `prev`, the sequence of the previous event on
 * its own lane. Hence:
 * - duplicate: `seq` ≤ the last sequence seen on that lane (at-least-once delivery, replays);
 * - gap: `prev` > the last sequence seen on that lane (something on the lane was never delivered);
 * - otherwise new. With no history for a conversation (new device, new membership) the first event
 *   is the baseline.
 *
 * The cursor sent in `sync` is the highest sequence processed, except while a gap is open: then
 * it is the last sequence before the hole, so a resync (or a reconnect) resends the hole and the
 * lane-by-lane check drops whatever of it was already processed.
 */
export type Verdict = 'new' | 'duplicate' | 'gap'

interface ConvState {
  /** Last sequence processed on lane m and lane r; -1 = no baseline yet. */
  m: number
  r: number
  /** Highest sequence processed on either lane. */
  max: number
  /** While a resync is outstanding: the cursor to resync from. */
  gapFrom: number | undefined
}

export class EventTracker {
  private readonly convs = new Map<string, ConvState>()

  /** Seeds from stored cursors: everything up to the cursor counts as processed on both lanes. */
  seed(cursors: Record<string, number>): void {
    for (const [c, seq] of Object.entries(cursors)) {
      const s = this.convs.get(c)
      if (s === undefined) this.convs.set(c, { m: seq, r: seq, max: seq, gapFrom: undefined })
      else if (seq > s.max && s.gapFrom === undefined) {
        s.m = Math.max(s.m, seq)
        s.r = Math.max(s.r, seq)
        s.max = seq
      }
    }
  }

  /** Classifies an event without recording it. */
  check(conversationId: string, lane: 'm' | 'r', seq: number, prev: number): Verdict {
    const s = this.convs.get(conversationId)
    if (s === undefined) return 'new'
    const last = lane === 'm' ? s.m : s.r
    if (last < 0) return 'new'
    if (seq <= last) return 'duplicate'
    return prev > last ? 'gap' : 'new'
  }

  /** Records a processed event; returns the conversation's cursor after it. */
  commit(conversationId: string, lane: 'm' | 'r', seq: number): number {
    let s = this.convs.get(conversationId)
    if (s === undefined) {
      s = { m: -1, r: -1, max: 0, gapFrom: undefined }
      this.convs.set(conversationId, s)
    }
    if (lane === 'm') s.m = seq
    else s.r = seq
    if (seq > s.max) s.max = seq
    return s.gapFrom ?? s.max
  }

  /**
   * A legitimate discontinuity: the device's user (re)joins the conversation at `seq`, and what
   * happened while they were not a member is not theirs to see. Everything before `seq` counts as
   * seen on both lanes, so the join event and what follows it are new, not a hole.
   */
  rejoin(conversationId: string, seq: number): void {
    const s = this.convs.get(conversationId)
    if (s === undefined) return
    s.m = Math.max(s.m, seq - 1)
    s.r = Math.max(s.r, seq - 1)
  }

  /**
   * Marks a gap on a lane; returns the cursor to resync from, or undefined when a resync of this
   * conversation is already outstanding (one at a time, so a burst of gapped events asks once).
   */
  openGap(conversationId: string, lane: 'm' | 'r'): number | undefined {
    const s = this.convs.get(conversationId)
    if (s === undefined || s.gapFrom !== undefined) return undefined
    s.gapFrom = lane === 'm' ? s.m : s.r
    return s.gapFrom
  }

  hasGap(conversationId: string): boolean {
    return this.convs.get(conversationId)?.gapFrom !== undefined
  }

  /** The resync was answered (or the connection that asked is gone): the gap may be checked again. */
  closeGap(conversationId: string): number | undefined {
    const s = this.convs.get(conversationId)
    if (s === undefined) return undefined
    s.gapFrom = undefined
    return s.max
  }

  /** Conversations with a resync outstanding. */
  gaps(): string[] {
    const out: string[] = []
    for (const [c, s] of this.convs) if (s.gapFrom !== undefined) out.push(c)
    return out
  }

  cursor(conversationId: string): number | undefined {
    const s = this.convs.get(conversationId)
    if (s === undefined) return undefined
    return s.gapFrom ?? s.max
  }

  /** Cursors for `sync`: every conversation this device has processed something of. */
  cursors(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [c, s] of this.convs) out[c] = s.gapFrom ?? s.max
    return out
  }
}
