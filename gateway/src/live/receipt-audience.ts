import type { ChatEvent, ConversationKind } from '@chatapp/contracts'

/**
 * Who gets a receipt event (ADR 0020). In a direct conversation: both users. In a group: the
 * receipt's author (their other devices sync read state) and the senders of the messages the
 * watermark newly covers — so a read wave in a 1,024-member group costs each reader's receipt
 * one delivery per covered sender instead of 1,024.
 *
 * `recent` is the room's window of [seq, senderId] of the latest messages, oldest first.
 * `before` is the author's previous watermark of that kind. When the covered range starts
 * before the window, every sender in the window is included (more deliveries, never fewer).
 */
export const receiptAudience = (
  kind: ConversationKind,
  actor: string,
  before: number,
  upTo: number,
  recent: readonly (readonly [number, string])[],
): Set<string> | 'all' => {
  if (kind === 'direct') return 'all'
  const out = new Set<string>([actor])
  for (const [seq, sender] of recent) if (seq > before && seq <= upTo) out.add(sender)
  return out
}

/** The same rule when replaying the log to one user in `sync`, where `before` is not known. */
export const receiptVisibleInSync = (
  kind: ConversationKind,
  userId: string,
  actor: string,
  upTo: number,
  firstSent: number,
): boolean => kind === 'direct' || actor === userId || (firstSent > 0 && firstSent <= upTo)

export interface ReceiptEntry {
  userId: string
  kind: 'delivered' | 'read'
  upTo: number
}

/**
 * A receipt event as the single receipts it stands for: one for `receipt.delivered` /
 * `receipt.read`, one per entry of a `receipt.batch` (ADR 0070), none for any other event. The
 * audience of a batch is the union of its entries' audiences.
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

/**
 * The sync rule for any receipt event: visible when any of its entries is — so a batch reaches a
 * user who wrote one of its entries or whose first message is at or below its highest `upTo`.
 */
export const receiptEventVisibleInSync = (
  kind: ConversationKind,
  userId: string,
  entries: readonly ReceiptEntry[],
  firstSent: number,
): boolean => entries.some((x) => receiptVisibleInSync(kind, userId, x.userId, x.upTo, firstSent))
