import type { GroupAdds, MediaRef } from '@chatapp/contracts'

/**
 * The seams between the gateway's modules. Each is implemented by one module against the real
 * service and consumed by others; memory twins are for unit tests only.
 *
 *   accounts/      → TokenVerifier, UserDirectory, GroupQuota
 *   conversations/ → MembershipPort
 *   media/         → MediaPort
 *   views/         → SentMessageLookup
 */

/** Who a verified access token belongs to. */
export interface Principal {
  userId: string
  deviceId: string
  /** The token's `jti`: identifies this login session (refresh-token family). */
  sessionId: string
  /** Milliseconds since the epoch. */
  expiresAt: number
}

export interface TokenVerifier {
  /** Rejects with ChatError UNAUTHENTICATED (bad/unknown/revoked) or TOKEN_EXPIRED. */
  verifyAccessToken(token: string): Promise<Principal>
}

export interface UserDirectory {
  /** The subset of `userIds` that are registered users. One round trip for any number of ids. */
  existing(userIds: readonly string[]): Promise<Set<string>>
  /**
   * Who may add each registered user among `userIds` to groups directly (their setting); unknown
   * ids are absent, so this also answers `existing`. One round trip.
   */
  groupAdds(userIds: readonly string[]): Promise<Map<string, GroupAdds>>
}

export interface GroupQuota {
  /**
   * Takes one group creation from the user's allowance, counted across every gateway: 0 when the
   * user may create a group now, else how many ms until they may.
   */
  takeGroupCreation(userId: string): Promise<number>
}

export interface MembershipPort {
  /**
   * Whether the user is a member of the conversation now, from the log (not a lagging view).
   * False for unknown conversations.
   */
  isMember(conversationId: string, userId: string): Promise<boolean>
  /**
   * The stream sequence of the event that (last) made the user a member, from the log; undefined
   * when they are not a member now.
   */
  joinedAt(conversationId: string, userId: string): Promise<number | undefined>
}

export interface MediaPort {
  /** The media as `userId` may attach it to a message: undefined when unknown or not theirs. */
  forAttach(mediaId: string, userId: string): Promise<MediaRef | undefined>
}

export interface SentMessageLookup {
  /** The stored message a client message id produced, from the durable record; undefined if none. */
  find(
    conversationId: string,
    senderId: string,
    clientMsgId: string,
  ): Promise<{ seq: number; n: number; at: number } | undefined>
}
