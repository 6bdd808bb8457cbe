import {
  type ChatEvent,
  type ErrorCode,
  type EventOf,
  REPLY_PREVIEW_LENGTH,
  type ReplyRef,
} from '@chatapp/contracts'
import type { Stored } from './evolve.js'
import type { ConversationState, MemberState } from './state.js'

/** A message as a command on it finds it: its `message.sent` event and where it is stored. */
export interface TargetMessage {
  seq: number
  event: EventOf<'message.sent'>
}

/**
 * The message at `seq` as `me` may act on it (quote, edit, delete, react), from what the shell
 * read at `seq` (`found`, a direct get of the log). Its fixed facts (sender, kind, time, first
 * text) come from the log itself; what can change later is judged on the folded state: that the
 * fold accepted it (a rejected send is no message) and whether it was deleted for everyone.
 * A message from before `me` joined is one they cannot see: the same MESSAGE_NOT_FOUND as none.
 */
export const targetMessage = (
  s: ConversationState,
  me: MemberState,
  seq: number,
  found: Stored | undefined,
): { ok: true; target: TargetMessage } | { ok: false; code: ErrorCode } => {
  const e: ChatEvent | undefined = found?.event
  if (
    !found ||
    !e ||
    found.seq !== seq ||
    found.lane !== 'm' ||
    e.type !== 'message.sent' ||
    e.conversationId !== s.id ||
    seq > s.lastM ||
    s.rejected.has(seq) ||
    seq <= me.joinedSeq
  )
    return { ok: false, code: 'MESSAGE_NOT_FOUND' }
  if (s.deleted.has(seq)) return { ok: false, code: 'MESSAGE_DELETED' }
  return { ok: true, target: { seq, event: e } }
}

/** The start of a text, at most `max` UTF-16 units, never ending inside a surrogate pair. */
export const previewOf = (text: string, max = REPLY_PREVIEW_LENGTH): string => {
  if (text.length <= max) return text
  const cut = text.charCodeAt(max - 1)
  return text.slice(0, cut >= 0xd800 && cut <= 0xdbff ? max - 1 : max)
}

/** What a reply to `t` carries of it. */
export const replyRef = (t: TargetMessage): ReplyRef => ({
  seq: t.seq,
  senderId: t.event.actor,
  kind: t.event.data.kind,
  ...(t.event.data.text ? { preview: previewOf(t.event.data.text) } : {}),
})

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' })
const EMOJI_START = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|[#*0-9]\uFE0F?\u20E3)/u

/** A reaction is one emoji: a single grapheme that starts as an emoji does. */
export const isOneEmoji = (s: string): boolean => {
  if (s.length === 0 || s.length > 32 || !EMOJI_START.test(s)) return false
  let n = 0
  for (const _ of graphemes.segment(s)) if (++n > 1) return false
  return true
}

/**
 * The message at `found` as it stands after its latest edit (`edit`, the `message.edited` the fold
 * names in `state.edited`): what a quote previews and a forward copies.
 */
export const withLatestText = (found: Stored | undefined, edit: Stored | undefined): Stored | undefined => {
  const e = found?.event
  const x = edit?.event
  if (!found || e?.type !== 'message.sent' || x?.type !== 'message.edited' || x.data.seq !== found.seq)
    return found
  return { ...found, event: { ...e, data: { ...e.data, text: x.data.text } } }
}
