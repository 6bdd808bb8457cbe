import { PairMap } from './pair-map.js'
import type {
  Change,
  ConversationRow,
  InvitationRow,
  JoinRequestRow,
  MediaPatch,
  MemberRow,
  MessagePatch,
  MessageRow,
  ReactionRow,
  WatermarkPatch,
} from './rows.js'

/**
 * The changes of one batch, coalesced to one row per key, so that each table is written by one
 * multi-row statement (PostgreSQL refuses an INSERT … ON CONFLICT that touches a row twice).
 * Conversation and member rows are absolute (the last one wins); messages are insert-only;
 * media patches merge (a later `pending` never undoes `ready`/`failed`); watermarks take the max.
 */
export interface BatchPlan {
  conversations: Map<string, ConversationRow>
  members: PairMap<MemberRow>
  /** Absolute like members; null: the row goes. */
  invitations: PairMap<InvitationRow | null>
  /** Absolute like invitations; null: the row goes. */
  joinRequests: PairMap<JoinRequestRow | null>
  /** By stream sequence: a batch is one shard stream, where a sequence is one event. */
  messages: Map<number, MessageRow>
  media: PairMap<MediaPatch>
  /** With the member's row, which a watermark is written with unless `members` holds a later one. */
  watermarks: PairMap<MemberMark>
  /**
   * Edits and deletes of messages stored before this batch, by sequence: at most one per message
   * (a delete wins over any edit; of edits, the last). A message of this batch is patched in
   * `messages` instead: its INSERT and an UPDATE in one statement could not see each other.
   */
  messagePatches: Map<number, MessagePatch>
  /** Reactions by message sequence, then user: the last one wins; `emoji` null deletes the row. */
  reactions: Map<number, Map<string, ReactionRow>>
  /** Messages of earlier batches deleted in this one, whose reactions and mentions go (seq → conversation). */
  clearedMessages: Map<number, string>
  /** Delete-for-me rows, by `seq` then user. */
  hides: Map<number, Map<string, string>>
}

/** A watermark patch and the row of its member as the projection held it (rows.ts, Change). */
export type MemberMark = WatermarkPatch & { member: MemberRow }

export const emptyPlan = (): BatchPlan => ({
  conversations: new Map(),
  members: new PairMap(),
  invitations: new PairMap(),
  joinRequests: new PairMap(),
  messages: new Map(),
  media: new PairMap(),
  watermarks: new PairMap(),
  messagePatches: new Map(),
  reactions: new Map(),
  clearedMessages: new Map(),
  hides: new Map(),
})

/** Whether the batch deleted the message at `seq` (stored in it or before it). */
const deletedInPlan = (plan: BatchPlan, seq: number): boolean =>
  plan.messages.get(seq)?.deletedAt != null || plan.messagePatches.get(seq)?.kind === 'delete'

/**
 * The rule of message patches, as rows: an edit of a tombstone changes nothing, a delete empties
 * the message of its content. The same rule is in the UPDATEs of sql-writer.ts for messages of
 * earlier batches (`deleted_at IS NULL`).
 */
const patchMessage = (plan: BatchPlan, p: MessagePatch) => {
  if (deletedInPlan(plan, p.seq)) return
  const row = plan.messages.get(p.seq)
  if (p.kind === 'delete') {
    plan.reactions.delete(p.seq)
    if (!row) plan.clearedMessages.set(p.seq, p.conversationId)
  }
  if (!row) {
    plan.messagePatches.set(p.seq, p)
    return
  }
  plan.messages.set(
    p.seq,
    p.kind === 'edit'
      ? { ...row, text: p.text, editedAt: p.at }
      : {
          ...row,
          text: null,
          media: null,
          mediaId: null,
          replyTo: null,
          mentions: null,
          deletedAt: p.at,
          deletedBy: p.by,
        },
  )
}

export const mergeMedia = (old: MediaPatch | undefined, p: MediaPatch): MediaPatch => {
  if (!old) return p
  if (old.state === 'deleted' || p.state === 'deleted') {
    // Final: the media is no longer shared in this conversation (sql-writer.ts does the same).
    const merged: MediaPatch = {
      ...old,
      ...p,
      ref: p.ref ?? old.ref,
      seq: Math.max(old.seq, p.seq),
      state: 'deleted',
    }
    delete merged.sharedSeq
    return merged
  }
  const state = p.state === 'pending' ? old.state : p.state
  const shared = Math.max(old.sharedSeq ?? 0, p.sharedSeq ?? 0)
  return {
    ...old,
    ...p,
    state,
    ref: p.ref ?? old.ref,
    seq: Math.max(old.seq, p.seq),
    ...(shared > 0 ? { sharedSeq: shared } : {}),
  }
}

export const addChanges = (plan: BatchPlan, changes: readonly Change[]): void => {
  for (const c of changes) {
    switch (c.t) {
      case 'conversation':
        plan.conversations.set(c.row.conversationId, c.row)
        break
      case 'member':
        plan.members.set(c.row.conversationId, c.row.userId, c.row)
        break
      case 'invitation':
        plan.invitations.set(c.conversationId, c.userId, c.row)
        break
      case 'join-request':
        plan.joinRequests.set(c.conversationId, c.userId, c.row)
        break
      case 'message':
        if (!plan.messages.has(c.row.seq)) plan.messages.set(c.row.seq, c.row)
        break
      case 'media': {
        const { conversationId, mediaId } = c.patch
        plan.media.set(conversationId, mediaId, mergeMedia(plan.media.get(conversationId, mediaId), c.patch))
        break
      }
      case 'watermark': {
        const { conversationId, userId } = c.patch
        const old = plan.watermarks.get(conversationId, userId)
        plan.watermarks.set(
          conversationId,
          userId,
          old
            ? {
                ...old,
                delivered: Math.max(old.delivered, c.patch.delivered),
                read: Math.max(old.read, c.patch.read),
                member: c.member,
              }
            : { ...c.patch, member: c.member },
        )
        break
      }
      case 'message-patch':
        patchMessage(plan, c.patch)
        break
      case 'reaction': {
        if (deletedInPlan(plan, c.row.seq)) break
        const byUser = plan.reactions.get(c.row.seq) ?? new Map<string, ReactionRow>()
        plan.reactions.set(c.row.seq, byUser.set(c.row.userId, c.row))
        break
      }
      case 'hide': {
        const byUser = plan.hides.get(c.seq) ?? new Map<string, string>()
        plan.hides.set(c.seq, byUser.set(c.userId, c.conversationId))
        break
      }
      default: {
        const never: never = c
        throw new Error(`unhandled change ${(never as { t: string }).t}`)
      }
    }
  }
}

export const planSize = (p: BatchPlan): number =>
  p.conversations.size +
  p.members.size +
  p.invitations.size +
  p.joinRequests.size +
  p.messages.size +
  p.media.size +
  p.watermarks.size +
  p.messagePatches.size +
  p.reactions.size +
  p.clearedMessages.size +
  p.hides.size
