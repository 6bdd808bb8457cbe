import type { ConversationKind, MediaRef, MessageKind, ReplyRef, Role, Variant } from '@chatapp/contracts'

/**
 * The rows of the views, as the pure core produces them. Column names are the snake_case of these
 * fields (see migrations/0001-views.ts). Times are milliseconds since the epoch; `seq` values are
 * stream sequences of the conversation's shard stream.
 */

export interface ConversationRow {
  conversationId: string
  kind: ConversationKind
  title: string | null
  /** A group's description and avatar, and its settings (ADR 0215). */
  description: string | null
  avatar: MediaRef | null
  editInfo: 'admins' | 'everyone'
  sendMessages: 'admins' | 'everyone'
  /** Live invite links by id (ADR 0216): read back so `admit` can judge joins by link. */
  links: Record<string, { hash: string; by: string; seq: number; approval?: true }>
  createdSeq: number
  createdAt: number
  /** Last event on the conversation's `.m` lane (receipts never move it). */
  lastSeq: number
  lastAt: number
  lastMsgSeq: number | null
  /** `n` of the last message: unread counts are differences of `n`. */
  lastN: number
  memberCount: number
}

export interface MemberRow {
  conversationId: string
  userId: string
  role: Role
  active: boolean
  /** Stream sequence of the event that (last) made them a member, and their order within it. */
  joinedSeq: number
  joinOrd: number
  leftSeq: number | null
}

/**
 * A user's standing with a group's invitations (ADR 0140), kept so the projector can judge the
 * next invitation event with the domain's `admit`: pending (`invited`) or `declined` (final for
 * that group). Neither is no row. `by`, `seq`, `at`: who made it so, with which event, when.
 */
export interface InvitationRow {
  conversationId: string
  userId: string
  state: 'invited' | 'declined'
  by: string
  seq: number
  at: number
}

/**
 * A user's standing with a group's join requests (ADR 0217), kept so the projector judges the
 * next request event with the domain's `admit`: `pending` (through `link`) or `denied` (final
 * until they become a member). Neither is no row. `by`, `seq`, `at`: who made it so, with which
 * event, when; the admins' list of requests to answer is the pending rows.
 */
export interface JoinRequestRow {
  conversationId: string
  userId: string
  state: 'pending' | 'denied'
  /** The link a pending request came through; null for a denial. */
  link: string | null
  by: string
  seq: number
  at: number
}

export interface MessageRow {
  conversationId: string
  seq: number
  n: number
  senderId: string
  deviceId: string
  clientMsgId: string
  kind: MessageKind
  text: string | null
  mediaId: string | null
  media: MediaRef | null
  at: number
  replyTo: ReplyRef | null
  /** Members it mentions (ADR 0214); each also gets a row of the `mentions` view. */
  mentions: string[] | null
  /** How many forwards led to it; null: not forwarded. */
  forwarded: number | null
  /** When its text was last edited. */
  editedAt: number | null
  /** Deleted for everyone: when and by whom. Text, media and quote are gone (a tombstone). */
  deletedAt: number | null
  deletedBy: string | null
}

/** A later change to a stored message: an edit of its text, or its deletion for everyone. */
export type MessagePatch =
  | { kind: 'edit'; conversationId: string; seq: number; text: string; at: number }
  | { kind: 'delete'; conversationId: string; seq: number; by: string; at: number }

/** A member's reaction to a message; `emoji` null: removed. */
export interface ReactionRow {
  conversationId: string
  seq: number
  userId: string
  emoji: string | null
  at: number
}

/**
 * `deleted`: the message carrying it in this conversation was deleted for everyone; final (a later
 * `media.ready` does not make it reachable again) and no longer shared there (ADR 0212).
 */
export type MediaState = 'pending' | 'ready' | 'failed' | 'deleted'

/**
 * A change to a media record. `pending` comes from the message that shares it and never
 * overwrites a later state; `ready` and `failed` come from the media worker.
 */
export interface MediaPatch {
  conversationId: string
  mediaId: string
  state: MediaState
  seq: number
  /**
   * The sequence of a message of the conversation that carries the media (the latest one, when
   * several do): the media is shared there, and members who joined before it may download it.
   */
  sharedSeq?: number
  ref?: MediaRef
  variants?: Variant[]
  width?: number
  height?: number
  durationMs?: number
  placeholder?: string
  waveform?: number[]
  failureCode?: string
  failureReason?: string
}

/** A receipt watermark moves only forward: stored as GREATEST(old, new). */
export interface WatermarkPatch {
  conversationId: string
  userId: string
  delivered: number
  read: number
}

export type Change =
  | { t: 'conversation'; row: ConversationRow }
  | { t: 'member'; row: MemberRow }
  /** `row` null: the user has no standing with the group's invitations any more. */
  | { t: 'invitation'; conversationId: string; userId: string; row: InvitationRow | null }
  /** `row` null: the user has no standing with the group's join requests any more. */
  | { t: 'join-request'; conversationId: string; userId: string; row: JoinRequestRow | null }
  | { t: 'message'; row: MessageRow }
  | { t: 'media'; patch: MediaPatch }
  /**
   * `member`: the member's row as the projection holds it when the watermark moves. The views
   * write the watermark with it, as an upsert keyed by the primary key (sql-writer.ts), not as an
   * UPDATE joined to the batch's keys: the planner turned that join into a scan of the table.
   */
  | { t: 'watermark'; patch: WatermarkPatch; member: MemberRow }
  | { t: 'message-patch'; patch: MessagePatch }
  | { t: 'reaction'; row: ReactionRow }
  /** Delete for me: `userId` no longer sees the message at `seq`. */
  | { t: 'hide'; conversationId: string; userId: string; seq: number }
