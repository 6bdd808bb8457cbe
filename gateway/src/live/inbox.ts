import type { InboxEntry } from '@chatapp/contracts'
import type { ConversationState } from '../conversations/state.js'

/** A conversation as `userId`'s inbox shows it; undefined when they are not a member. Pure. */
export const inboxEntry = (s: ConversationState, userId: string): InboxEntry | undefined => {
  const me = s.exists ? s.members.get(userId) : undefined
  if (!me) return undefined
  let peerId: string | undefined
  if (s.kind === 'direct') for (const k of s.members.keys()) if (k !== userId) peerId = k
  return {
    conversationId: s.id,
    kind: s.kind,
    title: s.title,
    role: me.role,
    memberCount: s.members.size,
    ...(peerId ? { peerId } : {}),
    lastSeq: Math.max(s.lastM, s.lastR),
    lastMessage: s.lastMessage ? { ...s.lastMessage } : null,
    unread: Math.max(0, s.n - me.readN),
    deliveredUpTo: me.delivered,
    readUpTo: me.read,
  }
}
