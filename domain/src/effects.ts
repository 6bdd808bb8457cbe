import {
  type ChatEvent,
  type InvitationNotice,
  type MediaJob,
  type MembershipNotice,
  mediaKeys,
  type PushJob,
} from '@chatapp/contracts'

/**
 * What must follow an accepted event outside its conversation's log (DESIGN.md "Side effects"):
 * the membership notices that keep each user's index of conversations, and the media job of a
 * message that carries media; and a projector batch's push job (push.ts: per batch, not per
 * event, ADR 0193). Pure: the same accepted event at the same sequence always yields the same
 * effects with the same ids, so whoever carries them out (a reactor after a crash, a resend)
 * de-duplicates by id.
 */
export type Effect =
  | { kind: 'notice'; id: string; notice: MembershipNotice }
  | { kind: 'invitation'; id: string; notice: InvitationNotice }
  | { kind: 'media-job'; id: string; job: MediaJob }
  | { kind: 'push'; id: string; job: PushJob }

/** Users whose conversation set an event changes: joined or not. */
export const membershipChanges = (e: ChatEvent): { userId: string; joined: boolean }[] => {
  switch (e.type) {
    case 'conversation.created':
      return e.data.members.map((m) => ({ userId: m.userId, joined: true }))
    case 'member.added':
    case 'member.joined':
      return [{ userId: e.data.userId, joined: true }]
    case 'member.removed':
    case 'member.left':
      return [{ userId: e.data.userId, joined: false }]
    default:
      return []
  }
}

/** Users whose pending invitations an event changes: invited (pending) or no longer. */
export const invitationChanges = (e: ChatEvent): { userId: string; pending: boolean }[] => {
  switch (e.type) {
    case 'conversation.created':
      return (e.data.invited ?? []).map((userId) => ({ userId, pending: true }))
    case 'member.invited':
      return [{ userId: e.data.userId, pending: true }]
    case 'member.joined':
    case 'member.invite_cancelled':
      return [{ userId: e.data.userId, pending: false }]
    default:
      return []
  }
}

/** The effects of an event the fold accepted at `seq` (push work is the batch's: push.ts). */
export const effectsOf = (e: ChatEvent, seq: number): Effect[] => {
  const out: Effect[] = membershipChanges(e).map(({ userId, joined }) => {
    const id = `${e.conversationId}:${seq}:${userId}`
    return {
      kind: 'notice',
      id,
      notice: { v: 1, id, userId, conversationId: e.conversationId, joined, convSeq: seq, at: e.at },
    }
  })
  for (const { userId, pending } of invitationChanges(e)) {
    // Not the membership notice's id: `member.joined` yields both, for the same user and event.
    const id = `${e.conversationId}:${seq}:${userId}:invitation`
    out.push({
      kind: 'invitation',
      id,
      notice: {
        v: 1,
        id,
        userId,
        conversationId: e.conversationId,
        pending,
        // A system actor never passes `admit` for these events.
        by: e.actor,
        convSeq: seq,
        at: e.at,
      },
    })
  }
  // A message's media, or a group's new avatar: the worker makes its variants for this conversation.
  const m =
    e.type === 'message.sent'
      ? e.data.media
      : e.type === 'conversation.profile_changed'
        ? e.data.avatar
        : null
  if (m) {
    out.push({
      kind: 'media-job',
      // One job per media per conversation it is shared in: a forward to a second conversation
      // gets its own media.ready there.
      id: `${m.mediaId}:${e.conversationId}`,
      job: {
        v: 1,
        mediaId: m.mediaId,
        conversationId: e.conversationId,
        uploaderId: e.actor,
        kind: m.kind,
        mime: m.mime,
        size: m.size,
        ...(m.name !== undefined ? { name: m.name } : {}),
        key: mediaKeys.original(m.mediaId),
        enqueuedAt: e.at,
      },
    })
  }
  return out
}
