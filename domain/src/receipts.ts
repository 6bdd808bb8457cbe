import type { ChatEvent } from '@chatapp/contracts'

export interface ReceiptEntry {
  userId: string
  kind: 'delivered' | 'read'
  upTo: number
}

/**
 * A receipt event as the single receipts it stands for: one for `receipt.delivered` /
 * `receipt.read`, one per entry of a `receipt.batch` (ADR 0070), none for any other event.
 */
export const receiptEntries = (e: ChatEvent): ReceiptEntry[] => {
  switch (e.type) {
    case 'receipt.delivered':
    case 'receipt.read':
      return [{ userId: e.actor, kind: e.type === 'receipt.read' ? 'read' : 'delivered', upTo: e.data.upTo }]
    case 'receipt.batch':
      return [
        ...e.data.delivered.map((x) => ({ userId: x.userId, kind: 'delivered' as const, upTo: x.upTo })),
        ...e.data.read.map((x) => ({ userId: x.userId, kind: 'read' as const, upTo: x.upTo })),
      ]
    default:
      return []
  }
}

export interface Watermarks {
  delivered: number
  read: number
}

/**
 * The watermarks after a receipt stored at `seq`: a receipt acknowledges at most what was in the
 * log before it (so a bogus `upTo` cannot mark later messages), reading implies having received,
 * and watermarks never move back. The one rule for the gateway's fold and the projector's views.
 */
export const afterReceipt = (w: Watermarks, r: ReceiptEntry, seq: number): Watermarks => {
  const upTo = Math.min(r.upTo, seq)
  return {
    delivered: Math.max(w.delivered, upTo),
    read: r.kind === 'read' ? Math.max(w.read, upTo) : w.read,
  }
}
