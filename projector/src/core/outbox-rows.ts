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
 * queue. A push job is one per batch (ADR 0193): every item of it is a conversation of this
 * shard, so the first one's subject is the shard's. `pushJobs` false (PROJECTOR_PUSH_JOBS, a
 * deployment without push notifications does not pay for them, ADR 0190) tells the batch not to
 * collect push items at all.
 */
export const outboxRoute = (n: Names, shard: number, o: { pushJobs?: boolean } = {}) => {
  const route = (x: Effect, seq: number): OutboxRow => {
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
        return {
          id: x.id,
          shard,
          seq,
          subject: n.pushJobSubject(x.job.items[0]!.conversationId),
          payload: JSON.stringify(x.job),
        }
      default: {
        const never: never = x
        throw new Error(`unhandled effect ${(never as Effect).kind}`)
      }
    }
  }
  return Object.assign(route, {
    /** The batch key's prefix of this shard's push jobs, or undefined when push jobs are off. */
    pushBatch: o.pushJobs === false ? undefined : `push:${shard}`,
  })
}

export type OutboxRoute = ReturnType<typeof outboxRoute>
