import type { ClientFrameOf, InboxEntry } from '@chatapp/contracts'

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
 *
 * Receipts have no answer, so "sent" is only "written": after each sync the client compares what
 * it wrote with the watermarks the server reports as stored and writes again what is missing.
 */
export class ReceiptCoalescer {
  private readonly pending = new Map<string, Marks>()
  /**
   * Per conversation, the highest watermark written or known to be stored (another device's
   * receipt counts too): lower or equal marks are dropped here already.
   */
  private readonly sent = new Map<string, Marks>()

  /** Records a mark; true when it is the first pending one (the caller schedules a flush). */
  mark(conversationId: string, kind: ReceiptKind, upTo: number): boolean {
    const done = this.sent.get(conversationId)
    if (done !== undefined && upTo <= done[kind]) return false
    const wasEmpty = this.pending.size === 0
    this.addPending(conversationId, kind, upTo)
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
    }
    this.pending.clear()
    return out
  }

  /**
   * A sync reported the watermarks the server has stored (`inbox`). A watermark written above
   * them was lost on the way (a dropped socket, a gateway that died with its receipt batch, a
   * failed append): it goes back to pending. One stored above what was written (another device)
   * becomes the floor, so lower marks are not sent at all. Conversations the inbox does not list
   * (left, removed) are left alone. Returns whether anything is pending.
   */
  reconcile(stored: readonly InboxEntry[]): boolean {
    for (const e of stored) {
      const done = this.sent.get(e.conversationId)
      if (done === undefined) continue
      for (const [kind, have] of [
        ['delivered', e.deliveredUpTo],
        ['read', e.readUpTo],
      ] as const) {
        if (done[kind] > have) this.addPending(e.conversationId, kind, done[kind])
        done[kind] = have
      }
    }
    return this.pending.size > 0
  }

  private addPending(conversationId: string, kind: ReceiptKind, upTo: number): void {
    const p = this.pending.get(conversationId)
    if (p === undefined) {
      const fresh = { delivered: 0, read: 0 }
      fresh[kind] = upTo
      this.pending.set(conversationId, fresh)
    } else if (upTo > p[kind]) p[kind] = upTo
  }
}
