import type { ChatEvent, ErrorCode, EventData, EventType } from '@chatapp/contracts'
import type { DecideContext } from './decide.js'
import type { Stored } from './evolve.js'
import { isOneEmoji, targetMessage } from './message-target.js'
import type { ConversationState, MemberState } from './state.js'

/**
 * Commands on one message of a conversation (ADR 0211, 0212). `found` is what the shell read from
 * the log at `seq` (undefined when nothing is there): the message's fixed facts.
 */
export type MessageCommand =
  | { type: 'message.edit'; actor: string; seq: number; text: string; found: Stored | undefined }
  | {
      type: 'message.delete'
      actor: string
      seq: number
      for: 'me' | 'everyone'
      found: Stored | undefined
    }
  | { type: 'message.react'; actor: string; seq: number; emoji: string | null; found: Stored | undefined }

export interface MessageLimits {
  maxTextLength: number
  maxCaptionLength: number
  editWindowMs: number
  deleteWindowMs: number
}

export type MessageDecision =
  | { ok: true; events: ChatEvent[] }
  | { ok: false; code: ErrorCode; message?: string }

const no = (code: ErrorCode, message?: string): MessageDecision =>
  message === undefined ? { ok: false, code } : { ok: false, code, message }

/**
 * Who may do what to a message: its sender edits it (text or caption, within the edit window) and
 * deletes it for everyone (within the delete window); a group admin deletes any message at any
 * time; every member who can see it reacts to it or hides it for themselves. Windows are operator
 * settings, so they are the writer's to apply; the log's readers re-judge only what can change
 * under a race (membership, role: `admit`).
 */
export const decideMessage = (
  s: ConversationState,
  me: MemberState,
  c: MessageCommand,
  ctx: DecideContext,
): MessageDecision => {
  const { now, limits } = ctx
  const build = <T extends EventType>(type: T, data: EventData<T>): ChatEvent =>
    ({ v: 1, type, id: ctx.newId(), conversationId: s.id, actor: c.actor, at: now, data }) as ChatEvent
  if (c.type === 'message.delete' && c.for === 'me') {
    // A tombstone may be hidden too; anything the member cannot see may not.
    const t = targetMessage(s, me, c.seq, c.found)
    if (!t.ok && t.code !== 'MESSAGE_DELETED') return no(t.code)
    return { ok: true, events: [build('message.hidden', { seq: c.seq })] }
  }
  if (c.type === 'message.delete' && s.deleted.has(c.seq)) {
    const t = targetMessage(s, me, c.seq, c.found)
    return t.ok || t.code === 'MESSAGE_DELETED' ? { ok: true, events: [] } : no(t.code)
  }
  const t = targetMessage(s, me, c.seq, c.found)
  if (!t.ok) return no(t.code)
  const m = t.target.event
  const mine = m.actor === c.actor
  const age = now - m.at
  // Exhaustive without a default: the compiler refuses a command type left out (no return at the
  // end), so there is no unreachable branch to keep.
  switch (c.type) {
    case 'message.edit': {
      if (!mine) return no('NOT_AUTHOR')
      // Its text is someone else's words: a forward is not the forwarder's to rewrite.
      if (m.data.forwarded) return no('NOT_EDITABLE', 'a forwarded message cannot be edited')
      if (m.data.text === undefined && m.data.kind === 'text') return no('NOT_EDITABLE')
      const max = m.data.kind === 'text' ? limits.maxTextLength : limits.maxCaptionLength
      if (c.text.length > max) return no('TEXT_TOO_LONG')
      if (age > limits.editWindowMs) return no('WINDOW_CLOSED', 'the edit window has passed')
      return { ok: true, events: [build('message.edited', { seq: c.seq, text: c.text })] }
    }
    case 'message.delete': {
      const admin = s.kind === 'group' && me.role === 'admin'
      if (!mine && !admin) return no(s.kind === 'group' ? 'NOT_ADMIN' : 'NOT_AUTHOR')
      if (mine && !admin && age > limits.deleteWindowMs)
        return no('WINDOW_CLOSED', 'the delete window has passed')
      const mediaId = m.data.media?.mediaId
      return {
        ok: true,
        events: [
          build('message.deleted', { seq: c.seq, senderId: m.actor, ...(mediaId ? { mediaId } : {}) }),
        ],
      }
    }
    case 'message.react':
      if (c.emoji !== null && !isOneEmoji(c.emoji)) return no('INVALID_EMOJI')
      return {
        ok: true,
        events: [build('message.reacted', { seq: c.seq, senderId: m.actor, emoji: c.emoji })],
      }
  }
}
