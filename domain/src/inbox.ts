import type { InboxEntry } from '@chatapp/contracts'
import { type ConversationState, lastSeq } from './state.js'

/**
 * Unread messages of a member: those after their read point, i.e. the last message number minus
 * the number of the last message at or before it. The one rule behind every unread count (the
 * gateway's inbox frame and the projector's inbox view).
 */
export const unreadCount = (lastN: number, readN: number): number => Math.max(0, lastN - readN)

/**
 * A conversation as `userId`'s inbox shows it; undefined when they are not a member. `readN`
 * overrides the member's folded value (a reader that resolved an unknown one from the log).
 */
export const inboxEntry = (s: ConversationState, userId: string, readN?: number): InboxEntry | undefined => {
  const me = s.exists ? s.members.get(userId) : undefined
  if (!me) return undefined
  let peerId: string | undefined
  if (s.kind === 'direct') for (const k of s.members.keys()) if (k !== userId) peerId = k
  const n = readN ?? me.readN
  return {
    conversationId: s.id,
    kind: s.kind,
    title: s.title,
    role: me.role,
    memberCount: s.members.size,
    ...(peerId ? { peerId } : {}),
    lastSeq: lastSeq(s),
    lastMessage: s.lastMessage ? { ...s.lastMessage } : null,
    ...(s.description !== null ? { description: s.description } : {}),
    ...(s.avatar ? { avatar: { ...s.avatar } } : {}),
    ...(s.kind === 'group' ? { settings: { ...s.settings } } : {}),
    unread: unreadCount(s.n, Math.max(n, 0)),
    ...(s.kind === 'group' ? { unreadMentions: me.mentions.length } : {}),
    deliveredUpTo: me.delivered,
    readUpTo: me.read,
  }
}
