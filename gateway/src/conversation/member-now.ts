import { ConversationId } from '@chatapp/contracts'
import type { MembershipPort } from '../ports.js'

const CONVERSATION_ID = new RegExp(ConversationId.pattern!)

/**
 * "Is `userId` a member of `conversationId` now?" for an id taken from a request path: false for
 * an id that is not one (no lookup), else the log's fold (MembershipPort). Routes answer
 * NOT_A_MEMBER alike for a conversation that does not exist and one the caller is not in.
 */
export const memberNow =
  (membership: Pick<MembershipPort, 'isMember'>) =>
  async (conversationId: string | undefined, userId: string): Promise<boolean> =>
    conversationId !== undefined &&
    CONVERSATION_ID.test(conversationId) &&
    (await membership.isMember(conversationId, userId))

export const isConversationId = (id: string | undefined): id is string =>
  id !== undefined && CONVERSATION_ID.test(id)
