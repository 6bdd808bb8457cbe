import type { GroupAdds } from '@chatapp/contracts'
import type { ConversationState } from './state.js'

/**
 * Whether `userId` counts the other member of the direct conversation `direct` as a contact:
 * `userId` has sent a message in it. One-sided on purpose: anyone may open a direct conversation
 * with anyone and write into it, so only what the user did themselves says they know the other
 * (ADR 0140).
 */
export const hasWrittenIn = (direct: ConversationState, userId: string): boolean =>
  direct.exists && direct.kind === 'direct' && (direct.members.get(userId)?.firstSent ?? 0) > 0

/** Whether an admin may add a user with this setting directly; otherwise the add is an invitation. */
export const addsDirectly = (setting: GroupAdds, contact: boolean): boolean =>
  setting === 'everyone' || (setting === 'contacts' && contact)
