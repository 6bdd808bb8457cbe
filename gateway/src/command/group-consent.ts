import { addsDirectly, hasWrittenIn } from '@chatapp/domain'
import { directConversationId } from '../conversation/conversation-ids.js'
import type { StateStore } from '../conversation/state-store.js'
import type { UserDirectory } from '../ports.js'

/** Direct conversations read at once when many named users let only their contacts add them. */
const PARALLEL = 16

/**
 * Which of `userIds` exist (`known`), and which of those `actor` may add to a group directly
 * (`addable`); `decide` invites the others. A user's setting comes from the accounts module; for
 * `contacts`, whether they have written to the actor comes from the log of the two's direct
 * conversation, folded up to now (a reply sent a moment ago on another gateway counts).
 */
export const groupConsent = async (
  directory: UserDirectory,
  store: StateStore,
  actor: string,
  userIds: readonly string[],
): Promise<{ known: Set<string>; addable: Set<string> }> => {
  const settings = await directory.groupAdds(userIds.filter((u) => u !== actor))
  const addable = new Set<string>()
  const contactsOnly: string[] = []
  for (const [userId, setting] of settings) {
    if (setting === 'contacts') contactsOnly.push(userId)
    else if (addsDirectly(setting, false)) addable.add(userId)
  }
  for (let i = 0; i < contactsOnly.length; i += PARALLEL) {
    await Promise.all(
      contactsOnly.slice(i, i + PARALLEL).map(async (userId) => {
        const direct = await store.refresh(directConversationId(actor, userId), 'm')
        if (addsDirectly('contacts', hasWrittenIn(direct, userId))) addable.add(userId)
      }),
    )
  }
  return { known: new Set(settings.keys()), addable }
}
