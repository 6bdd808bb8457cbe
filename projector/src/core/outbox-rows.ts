import type { Names } from '@chatapp/contracts'
import type { Effect } from '@chatapp/domain'

/**
 * An effect as the outbox holds it (ADR 0150): exactly what will be published and where, keyed by
 * the effect's id, which is also the publication's Msg-Id (JetStream drops a second publication
 * inside its duplicate window) and the id its readers de-duplicate by.
 */
export interface OutboxRow {
  id: string
  shard: number
  /** Stream sequence of the event the effect follows. */
  seq: number
  subject: string
  payload: string
}

/**
 * Where each kind of effect is published: the user stream's subjects, the media or the push work
 * queue. Without `pushJobs` a message's push job is dropped here (a deployment without push
 * notifications does not pay for them, ADR 0190): undefined.
 */
export const outboxRoute =
  (n: Names, shard: number, o: { pushJobs?: boolean } = {}) =>
  (x: Effect, seq: number): OutboxRow | undefined => {
    switch (x.kind) {
      case 'notice':
        return {
          id: x.id,
          shard,
          seq,
          subject: n.userSubject(x.notice.userId),
          payload: JSON.stringify(x.notice),
        }
      case 'invitation':
        return {
          id: x.id,
          shard,
          seq,
          subject: n.userInvitationSubject(x.notice.userId),
          payload: JSON.stringify(x.notice),
        }
      case 'media-job':
        return {
          id: x.id,
          shard,
          seq,
          subject: n.mediaJobSubject(x.job.kind),
          payload: JSON.stringify(x.job),
        }
      case 'push':
        if (o.pushJobs === false) return undefined
        return {
          id: x.id,
          shard,
          seq,
          subject: n.pushJobSubject(x.job.conversationId),
          payload: JSON.stringify(x.job),
        }
      default: {
        const never: never = x
        throw new Error(`unhandled effect ${(never as Effect).kind}`)
      }
    }
  }

export type OutboxRoute = ReturnType<typeof outboxRoute>
