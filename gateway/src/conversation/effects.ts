import { type ChatEvent, encodeJson, type MembershipNotice, type Names } from '@chatapp/contracts'
import type { JetStreamClient } from '@nats-io/jetstream'
import type { MediaPort } from '../ports.js'

/** Users whose conversation set an event changes: joined or not. */
export const membershipChanges = (e: ChatEvent): { userId: string; joined: boolean }[] => {
  switch (e.type) {
    case 'conversation.created':
      return e.data.members.map((m) => ({ userId: m.userId, joined: true }))
    case 'member.added':
      return [{ userId: e.data.userId, joined: true }]
    case 'member.removed':
    case 'member.left':
      return [{ userId: e.data.userId, joined: false }]
    default:
      return []
  }
}

/**
 * What still follows an accepted append on the request path: the membership notices of the
 * user index and the media job. Called for duplicates too (a resend re-drives them; both are
 * idempotent by id).
 */
export const afterAppend =
  (js: JetStreamClient, n: Names, media: () => MediaPort | undefined, onError: (err: unknown) => void) =>
  async (e: ChatEvent, seq: number): Promise<void> => {
    const changes = membershipChanges(e)
    // Bounded parallelism: a 1,024-member group creation publishes 1,024 notices.
    for (let i = 0; i < changes.length; i += 64) {
      await Promise.all(
        changes.slice(i, i + 64).map(({ userId, joined }) => {
          const notice: MembershipNotice = {
            v: 1,
            id: `${e.conversationId}:${seq}:${userId}`,
            userId,
            conversationId: e.conversationId,
            joined,
            convSeq: seq,
            at: e.at,
          }
          return js.publish(n.userSubject(userId), encodeJson(notice), { msgID: notice.id })
        }),
      )
    }
    const m = media()
    if (e.type === 'message.sent' && e.data.media && m) {
      m.shared({ ref: e.data.media, conversationId: e.conversationId, seq, uploaderId: e.actor }).catch(
        onError,
      )
    }
  }
