import type { Change, ConversationRow, MediaPatch, MemberRow, MessageRow, WatermarkPatch } from './rows.js'

/**
 * The changes of one batch, coalesced to one row per key, so that each table is written by one
 * multi-row statement (PostgreSQL refuses an INSERT … ON CONFLICT that touches a row twice).
 * Conversation and member rows are absolute (the last one wins); messages are insert-only;
 * media patches merge (a later `pending` never undoes `ready`/`failed`); watermarks take the max.
 */
export interface BatchPlan {
  conversations: Map<string, ConversationRow>
  members: Map<string, MemberRow>
  messages: Map<string, MessageRow>
  media: Map<string, MediaPatch>
  watermarks: Map<string, WatermarkPatch>
}

export const emptyPlan = (): BatchPlan => ({
  conversations: new Map(),
  members: new Map(),
  messages: new Map(),
  media: new Map(),
  watermarks: new Map(),
})

/** A plan's map key: two parts of a row's primary key (ids never hold U+0000). */
export const planKey = (a: string, b: string | number): string => `${a}\u0000${b}`

export const mergeMedia = (old: MediaPatch | undefined, p: MediaPatch): MediaPatch => {
  if (!old) return p
  const state = p.state === 'pending' ? old.state : p.state
  return { ...old, ...p, state, ref: p.ref ?? old.ref, seq: Math.max(old.seq, p.seq) }
}

export const addChanges = (plan: BatchPlan, changes: readonly Change[]): void => {
  for (const c of changes) {
    switch (c.t) {
      case 'conversation':
        plan.conversations.set(c.row.conversationId, c.row)
        break
      case 'member':
        plan.members.set(planKey(c.row.conversationId, c.row.userId), c.row)
        break
      case 'message': {
        const k = planKey(c.row.conversationId, c.row.seq)
        if (!plan.messages.has(k)) plan.messages.set(k, c.row)
        break
      }
      case 'media': {
        const k = planKey(c.patch.conversationId, c.patch.mediaId)
        plan.media.set(k, mergeMedia(plan.media.get(k), c.patch))
        break
      }
      case 'watermark': {
        const k = planKey(c.patch.conversationId, c.patch.userId)
        const old = plan.watermarks.get(k)
        plan.watermarks.set(
          k,
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
  p.conversations.size + p.members.size + p.messages.size + p.media.size + p.watermarks.size
