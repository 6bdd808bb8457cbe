import { type Invitation, invitationNoticeDecoder, type Names } from '@chatapp/contracts'
import type { ConversationState } from '@chatapp/domain'
import type { ConversationLog } from '@chatapp/kit'
import type { StateStore } from '../conversation/state-store.js'

/** Groups whose state is read at once while listing. */
const PARALLEL = 16

/** `userId`'s pending invitation to the group, as the folded state holds it; undefined if none. */
export const invitationOf = (s: ConversationState, userId: string): Invitation | undefined => {
  const inv = s.invited.get(userId)
  return inv
    ? {
        conversationId: s.id,
        title: s.title,
        invitedBy: inv.by,
        seq: inv.seq,
        at: inv.at,
        memberCount: s.members.size,
      }
    : undefined
}

export interface PendingInvitations {
  /** `userId`'s pending invitations to groups, newest first. */
  of(userId: string): Promise<Invitation[]>
}

/**
 * A user's pending invitations (ADR 0140). The invitation notices on the user's invitation subject
 * say which groups may have one (the index); each group's log, folded up to now, says whether it
 * is still pending (the truth: a notice published late, twice or out of order cannot show an
 * invitation that was accepted, declined or withdrawn).
 */
export const createPendingInvitations = (d: {
  log: ConversationLog
  names: Names
  store: StateStore
}): PendingInvitations => ({
  async of(userId) {
    const subject = d.names.userInvitationSubject(userId)
    const last = await d.log.ranges.last(d.names.userStream, subject)
    // Per group, the newest notice (by the group's sequence) says whether it may be pending.
    const latest = new Map<string, { convSeq: number; pending: boolean }>()
    for await (const m of d.log.ranges.read(d.names.userStream, subject, 0, last)) {
      const n = invitationNoticeDecoder.decode(m.data)
      if (!n.ok || n.value.userId !== userId) continue
      const seen = latest.get(n.value.conversationId)
      if (!seen || n.value.convSeq > seen.convSeq) latest.set(n.value.conversationId, n.value)
    }
    const candidates = [...latest].filter(([, x]) => x.pending).map(([id]) => id)
    const out: Invitation[] = []
    for (let i = 0; i < candidates.length; i += PARALLEL) {
      const states = await Promise.all(
        candidates.slice(i, i + PARALLEL).map((id) => d.store.refresh(id, 'm')),
      )
      for (const s of states) {
        const inv = invitationOf(s, userId)
        if (inv) out.push(inv)
      }
    }
    return out.sort((a, b) => b.at - a.at || b.seq - a.seq)
  },
})
