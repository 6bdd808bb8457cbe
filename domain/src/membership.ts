import type { ConversationKind, Role } from '@chatapp/contracts'

/** A group's settings with their defaults applied (ADR 0215). */
export interface ResolvedSettings {
  readonly editInfo: 'admins' | 'everyone'
  readonly sendMessages: 'admins' | 'everyone'
}

export const DEFAULT_SETTINGS: ResolvedSettings = { editInfo: 'admins', sendMessages: 'everyone' }

/**
 * What the membership rules need to know of a member, whatever shape the reader keeps it in (the
 * gateway's folded state, the projector's member rows). `joinedSeq` is the stream sequence of the
 * event that made them a member; `joinOrd` their place among the members of that one event (a
 * group is created with many members at once).
 */
export interface MemberStanding {
  readonly role: Role
  readonly joinedSeq: number
  readonly joinOrd: number
}

/** The part of a conversation's state every admission rule reads. */
export interface MembershipView {
  readonly exists: boolean
  readonly kind: ConversationKind
  /** Dense number of the last accepted message (0 before the first). */
  readonly n: number
  readonly members: ReadonlyMap<string, MemberStanding>
  /** Pending invitations (never members at the same time). */
  readonly invited: ReadonlyMap<string, unknown>
  /** Users who declined an invitation to this group. */
  readonly declined: ReadonlySet<string>
  /** Who may edit the group's info and who may send. */
  readonly settings: ResolvedSettings
  /** Live invite links by id, with the hash of their secret (ADR 0216); `approval`: ADR 0217. */
  readonly links: ReadonlyMap<string, { readonly hash: string; readonly approval?: true }>
  /** Pending join requests by user, with the link each came through (ADR 0217). */
  readonly requests: ReadonlyMap<string, { readonly link: string }>
  /** Users whose join request an admin denied: they cannot ask again. */
  readonly denied: ReadonlySet<string>
}

/** Who joined first: earlier event first, then earlier within the event. Negative when `a` did. */
export const joinedBefore = (a: MemberStanding, b: MemberStanding): number =>
  a.joinedSeq - b.joinedSeq || a.joinOrd - b.joinOrd

/**
 * A group always has an admin: when the last one goes (leaves, is removed or demoted), the
 * longest-standing remaining member becomes one. A rule of the fold, so no event records it and
 * every reader must compute it the same way: this is the one place it is written.
 * Returns the user to promote, or undefined when an admin remains (or nobody does).
 */
export const successor = <M extends MemberStanding>(
  kind: ConversationKind,
  members: ReadonlyMap<string, M>,
): string | undefined => {
  if (kind !== 'group') return undefined
  let oldest: [string, M] | undefined
  for (const entry of members) {
    if (entry[1].role === 'admin') return undefined
    if (!oldest || joinedBefore(entry[1], oldest[1]) < 0) oldest = entry
  }
  return oldest?.[0]
}
