import { type ChatEvent, encodeJson, type Names } from '@chatapp/contracts'
import { effectsOf } from '@chatapp/domain'
import type { JetStreamClient } from '@nats-io/jetstream'
import type { MediaPort } from '../ports.js'

/**
 * What still follows an accepted append on the request path: the membership notices of the
 * user index, the invitation notices of invitees, and the media job (domain's `effectsOf` says which). Called for duplicates too
 * (a resend re-drives them; both are idempotent by id).
 */
export const afterAppend =
  (js: JetStreamClient, n: Names, media: () => MediaPort | undefined, onError: (err: unknown) => void) =>
  async (e: ChatEvent, seq: number): Promise<void> => {
    // Membership notices on the user's membership subject, invitation notices on their
    // invitation subject (a reader of one never meets the other's shape).
    const notices = effectsOf(e, seq).flatMap((x): { subject: string; notice: { id: string } }[] => {
      if (x.kind === 'notice') return [{ subject: n.userSubject(x.notice.userId), notice: x.notice }]
      if (x.kind === 'invitation')
        return [{ subject: n.userInvitationSubject(x.notice.userId), notice: x.notice }]
      return []
    })
    // Bounded parallelism: a 1,024-member group creation publishes 1,024 notices.
    for (let i = 0; i < notices.length; i += 64) {
      await Promise.all(
        notices
          .slice(i, i + 64)
          .map(({ subject, notice }) => js.publish(subject, encodeJson(notice), { msgID: notice.id })),
      )
    }
    const m = media()
    if (e.type === 'message.sent' && e.data.media && m) {
      m.shared({ ref: e.data.media, conversationId: e.conversationId, seq, uploaderId: e.actor }).catch(
        onError,
      )
    }
  }
