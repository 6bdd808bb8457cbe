import { membershipNoticeDecoder, type Names } from '@chatapp/contracts'
import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import { readRange } from './log.js'

/** A user's conversations: id → the conversation sequence at which they (last) joined. */
export type UserConversations = Map<string, number>

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
  const out: UserConversations = new Map()
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
  const current = set.get(notice.conversationId)
  if (notice.joined) {
    if (current === undefined || notice.convSeq > current) set.set(notice.conversationId, notice.convSeq)
  } else if (current !== undefined && notice.convSeq > current) set.delete(notice.conversationId)
}
