import type { ClientFrameOf } from '@chatapp/contracts'

export type ReceiptKind = 'delivered' | 'read'
type ReceiptFrame = ClientFrameOf<'receipt'>

interface Marks {
  delivered: number
  read: number
}

/**
 * Receipts are watermarks, so of many marks for one conversation only the highest matters: marks
 * accumulate here and a flush sends one frame per conversation and kind. The client flushes a
 * fixed time after the first pending mark (not after the last one: under a steady stream of
 * messages a sliding debounce would never fire). No I/O, no timers.
 */
export class ReceiptCoalescer {
  private readonly pending = new Map<string, Marks>()
  /** Highest watermark written per conversation: lower or equal marks are dropped here already. */
  private readonly sent = new Map<string, Marks>()
  /** Conversations written to on the current connection (to repeat after a drop). */
  private readonly sentThisConnection = new Set<string>()

  /** Records a mark; true when it is the first pending one (the caller schedules a flush). */
  mark(conversationId: string, kind: ReceiptKind, upTo: number): boolean {
    const done = this.sent.get(conversationId)
    if (done !== undefined && upTo <= done[kind]) return false
    const wasEmpty = this.pending.size === 0
    const p = this.pending.get(conversationId)
    if (p === undefined) {
      const fresh = { delivered: 0, read: 0 }
      fresh[kind] = upTo
      this.pending.set(conversationId, fresh)
    } else if (upTo > p[kind]) p[kind] = upTo
    return wasEmpty
  }

  get hasPending(): boolean {
    return this.pending.size > 0
  }

  /** The frames to write now; they count as sent. */
  drain(): ReceiptFrame[] {
    const out: ReceiptFrame[] = []
    for (const [conversationId, p] of this.pending) {
      let done = this.sent.get(conversationId)
      if (done === undefined) {
        done = { delivered: 0, read: 0 }
        this.sent.set(conversationId, done)
      }
      if (p.delivered > done.delivered) {
        out.push({ type: 'receipt', conversationId, kind: 'delivered', upTo: p.delivered })
        done.delivered = p.delivered
      }
      if (p.read > done.read) {
        out.push({ type: 'receipt', conversationId, kind: 'read', upTo: p.read })
        done.read = p.read
      }
      this.sentThisConnection.add(conversationId)
    }
    this.pending.clear()
    return out
  }

  /**
   * The connection dropped: receipts written on it may never have reached the server (they have
   * no answer), so their watermarks go back to pending. The server ignores a watermark it already
   * has, so repeating one is harmless. Returns whether anything is pending.
   */
  requeueUnconfirmed(): boolean {
    for (const c of this.sentThisConnection) {
      const done = this.sent.get(c)
      if (done === undefined) continue
      this.sent.delete(c)
      const p = this.pending.get(c)
      if (p === undefined) this.pending.set(c, { ...done })
      else {
        p.delivered = Math.max(p.delivered, done.delivered)
        p.read = Math.max(p.read, done.read)
      }
    }
    this.sentThisConnection.clear()
    return this.pending.size > 0
  }
}
