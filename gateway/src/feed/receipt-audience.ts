import type { ChatEvent, ConversationKind } from '@chatapp/contracts'
import { type ReceiptEntry, receiptEntries } from '@chatapp/domain'

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

/**
 * Who receives an event of lane `r` in sync: a hide (delete for me) only its author's devices
 * (ADR 0212), a receipt by the rule above.
 */
export const laneREventVisibleInSync = (
  kind: ConversationKind,
  userId: string,
  e: ChatEvent,
  firstSent: number,
): boolean =>
  e.type === 'message.hidden'
    ? e.actor === userId
    : receiptEventVisibleInSync(kind, userId, receiptEntries(e), firstSent)
