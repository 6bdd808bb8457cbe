import type { ChatEvent } from '@chatapp/contracts'

/** Where a user stands with a group's invitations (ADR 0140): neither member nor invited is `none`. */
export type InvitationStanding = 'invited' | 'declined' | 'none'

/**
 * How an accepted event changes users' invitation standing: the one rule behind every fold that
 * keeps invitations (the gateway's state, the projector's `invitations` view), so both judge the
 * next invitation event alike. Becoming a member ends an invitation and lifts a decline; an
 * invitation ended by the invitee is a decline (final for that group), by an admin a withdrawal.
 */
export const invitationStandings = (e: ChatEvent): { userId: string; standing: InvitationStanding }[] => {
  switch (e.type) {
    case 'conversation.created':
      return [
        ...e.data.members.map((m) => ({ userId: m.userId, standing: 'none' as const })),
        ...(e.data.invited ?? []).map((userId) => ({ userId, standing: 'invited' as const })),
      ]
    case 'member.added':
    case 'member.joined':
      return [{ userId: e.data.userId, standing: 'none' }]
    case 'member.invited':
      return [{ userId: e.data.userId, standing: 'invited' }]
    case 'member.invite_cancelled':
      return [{ userId: e.data.userId, standing: e.actor === e.data.userId ? 'declined' : 'none' }]
    default:
      return []
  }
}
