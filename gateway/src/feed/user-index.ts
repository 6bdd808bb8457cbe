import { membershipNoticeDecoder, type Names } from '@chatapp/contracts'
import type { ConversationLog } from '@chatapp/kit'

/**
 * A user's conversations: id → the conversation sequence at which they (last) joined; and in
 * `left`, the ones they were removed from or left, with the sequence of that event, so a device
 * that was offline at the time can still be sent its removal.
 */
export class UserConversations extends Map<string, number> {
  readonly left = new Map<string, { joinedAt: number; leftAt: number }>()
}

/**
 * Folds a user's membership notices (ADR 0007) from the per-user subject, by direct gets (a
 * long history through a consumer deleted when the read ends: nothing is left on the server).
 * Notices that do not decode are skipped.
 */
export const loadUserConversations = async (
  log: ConversationLog,
  n: Names,
  userId: string,
): Promise<UserConversations> => {
  const out = new UserConversations()
  const subject = n.userSubject(userId)
  const last = await log.ranges.last(n.userStream, subject)
  for await (const m of log.ranges.read(n.userStream, subject, 0, last)) {
    const d = membershipNoticeDecoder.decode(m.data)
    if (d.ok) foldNotice(out, d.value)
  }
  return out
}

/** Idempotent and order-insensitive: a notice counts only if newer than what the user has. */
export const foldNotice = (
  set: UserConversations,
  notice: { conversationId: string; joined: boolean; convSeq: number },
): void => {
  const id = notice.conversationId
  const joinedAt = set.get(id)
  const leftAt = set.left.get(id)?.leftAt
  const newer =
    (joinedAt === undefined || notice.convSeq > joinedAt) && (leftAt === undefined || notice.convSeq > leftAt)
  if (!newer) return
  if (notice.joined) {
    set.set(id, notice.convSeq)
    set.left.delete(id)
  } else {
    set.delete(id)
    set.left.set(id, { joinedAt: joinedAt ?? 0, leftAt: notice.convSeq })
  }
}
