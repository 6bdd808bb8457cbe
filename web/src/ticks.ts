/**
 * The ticks of a message the user sent, from the other members' receipt watermarks (stream
 * sequences: a member who delivered or read up to S has every message at or below S). Pure.
 *
 * - `pending`: not stored yet (no sequence: offline, or waiting for the server);
 * - `sent`: stored (the server answered), nobody else has it yet;
 * - `delivered`: every other member's device has it;
 * - `read`: every other member has read it.
 * In a group the ticks move when the last member gets there; `perMember` says who is where.
 */
export type Tick = 'pending' | 'sent' | 'delivered' | 'read'

export interface Watermarks {
  delivered: number
  read: number
}

export interface MemberTick {
  userId: string
  state: 'sent' | 'delivered' | 'read'
}

export const memberTicks = (
  seq: number,
  senderId: string,
  members: ReadonlyMap<string, Watermarks>,
): MemberTick[] =>
  [...members.entries()]
    .filter(([u]) => u !== senderId)
    .map(([userId, w]) => ({
      userId,
      state: w.read >= seq ? 'read' : Math.max(w.delivered, w.read) >= seq ? 'delivered' : 'sent',
    }))

export const tickOf = (
  seq: number | undefined,
  senderId: string,
  members: ReadonlyMap<string, Watermarks>,
): Tick => {
  if (seq === undefined) return 'pending'
  const others = memberTicks(seq, senderId, members)
  if (others.length === 0) return 'sent'
  if (others.every((m) => m.state === 'read')) return 'read'
  if (others.every((m) => m.state !== 'sent')) return 'delivered'
  return 'sent'
}

export const TICK_LABEL: Readonly<Record<Tick, string>> = {
  pending: 'Waiting to send',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
}
