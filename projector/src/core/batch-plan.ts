import { PairMap } from './pair-map.js'
import type {
  Change,
  ConversationRow,
  InvitationRow,
  MediaPatch,
  MemberRow,
  MessageRow,
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
  /** By stream sequence: a batch is one shard stream, where a sequence is one event. */
  messages: Map<number, MessageRow>
  media: PairMap<MediaPatch>
  watermarks: PairMap<WatermarkPatch>
}

export const emptyPlan = (): BatchPlan => ({
  conversations: new Map(),
  members: new PairMap(),
  invitations: new PairMap(),
  messages: new Map(),
  media: new PairMap(),
  watermarks: new PairMap(),
})

export const mergeMedia = (old: MediaPatch | undefined, p: MediaPatch): MediaPatch => {
  if (!old) return p
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
              }
            : c.patch,
        )
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
  p.messages.size +
  p.media.size +
  p.watermarks.size
