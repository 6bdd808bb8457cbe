import { membershipNoticeDecoder, type Names } from '@chatapp/contracts'
import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import { readRange } from './log.js'

/**
 * A user's conversations: id → the conversation sequence at which they (last) joined; and in
 * `left`, the ones they were removed from or left, with the sequence of that event, so a device
 * that was offline at the time can still be sent its removal.
 */
export class UserConversations extends Map<string, number> {
  readonly left = new Map<string, { joinedAt: number; leftAt: number }>()
}

/**
 * Folds a user's membership notices (ADR 0007). A handful of events per user, read once per
 * connection burst; live notices keep the result current while the user is connected.
 */
export const loadUserConversations = async (
  js: JetStreamClient,
  jsm: JetStreamManager,
  n: Names,
  userId: string,
): Promise<UserConversations> => {
  const out = new UserConversations()
  let last = 0
  try {
    last = (await jsm.direct.getMessage(n.userStream, { last_by_subj: n.userSubject(userId) }))?.seq ?? 0
  } catch (e) {
    if (!(e instanceof JetStreamApiError && (e.code === 10037 || e.status === 404))) throw e
  }
  for await (const m of readRange(js, n.userStream, n.userSubject(userId), 0, last)) {
    const d = membershipNoticeDecoder.decode(m.data)
    if (d.ok) foldNotice(out, d.value)
  }
  return out
}

export const foldNotice = (
  set: UserConversations,
  notice: { conversationId: string; joined: boolean; convSeq: number },
): void => {
  const id = notice.conversationId
  const joinedAt = set.get(id)
  const leftAt = set.left.get(id)?.leftAt
  if (notice.joined) {
    if (
      (joinedAt === undefined || notice.convSeq > joinedAt) &&
      (leftAt === undefined || notice.convSeq > leftAt)
    ) {
      set.set(id, notice.convSeq)
      set.left.delete(id)
    }
  } else if (
    (joinedAt === undefined || notice.convSeq > joinedAt) &&
    (leftAt === undefined || notice.convSeq > leftAt)
  ) {
    set.delete(id)
    set.left.set(id, { joinedAt: joinedAt ?? 0, leftAt: notice.convSeq })
  }
}
