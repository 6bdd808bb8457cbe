import type { ConversationState, ReceiptEntry, Watermarks } from '@chatapp/domain'
import { receiptAudience, receiptVisibleInSync } from './receipt-audience.js'
import type { Room } from './room.js'

/**
 * Who in a room receives a receipt event: the union of its entries' audiences (ADR 0020, 0070).
 * `before` holds the entries' watermarks before the event when it was folded live; without it
 * (folded from the log after a gap), or when the room's window of senders does not reach back to
 * it, the sync rule decides — more deliveries, never fewer.
 */
export const receiptEventAudience = (
  room: Room,
  state: ConversationState,
  entries: readonly ReceiptEntry[],
  before: ReadonlyMap<string, Watermarks> | undefined,
): Set<string> | 'all' => {
  if (state.kind === 'direct') return 'all'
  const union = new Set<string>()
  for (const r of entries) {
    const prior = before?.get(r.userId)
    const from = prior ? (r.kind === 'read' ? prior.read : prior.delivered) : undefined
    const oldest = room.senders[0]?.[0]
    let one: Set<string>
    if (from === undefined || oldest === undefined || oldest > from + 1) {
      one = new Set<string>([r.userId])
      for (const [u, m] of state.members)
        if (receiptVisibleInSync('group', u, r.userId, r.upTo, m.firstSent)) one.add(u)
    } else {
      one = receiptAudience('group', r.userId, from, r.upTo, room.senders) as Set<string>
    }
    // A delivered watermark matters to the senders it covers, not to its author: no device shows
    // its user their own delivery state. Read state is echoed (it clears unread counts on the
    // author's other devices). Without this, a batch of a big group's delivered receipts would go
    // to every author: O(members²) bytes per message (ADR 0070).
    if (r.kind === 'delivered') one.delete(r.userId)
    for (const u of one) union.add(u)
  }
  return union
}
