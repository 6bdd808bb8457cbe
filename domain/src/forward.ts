import type { ErrorCode, EventData } from '@chatapp/contracts'
import type { Stored } from './evolve.js'
import { targetMessage } from './message-target.js'
import type { ConversationState } from './state.js'

/** The source of a forward as the forwarder may see it, or why they may not (ADR 0213). */
export type ForwardSource = { ok: true; event: EventData<'message.sent'> } | { ok: false; code: ErrorCode }

/**
 * Whether `actor` may forward the message at `seq` of the conversation folded in `s` (`found`: what
 * the log holds there): they are a member who can see it, and it is not deleted. Not being a
 * member of the source is told as MESSAGE_NOT_FOUND, like a message from before one joined, so a
 * forward never reveals what a conversation holds.
 */
export const forwardSource = (
  s: ConversationState,
  actor: string,
  seq: number,
  found: Stored | undefined,
): ForwardSource => {
  const me = s.exists ? s.members.get(actor) : undefined
  if (!me) return { ok: false, code: 'MESSAGE_NOT_FOUND' }
  const t = targetMessage(s, me, seq, found)
  return t.ok ? { ok: true, event: t.target.event.data } : { ok: false, code: t.code }
}

/**
 * What a forward sends: the source's content (kind, text or caption, media) marked forwarded one
 * more time, without its sender, quote or mentions. The frame names the kind (the client shows the
 * message it forwards) and nothing else of the content.
 */
export const forwardedContent = (
  src: ForwardSource,
  c: { kind: string; text?: string | undefined; mediaId?: string | undefined; replyTo?: number | undefined },
):
  | { ok: true; data: Omit<EventData<'message.sent'>, 'clientMsgId' | 'deviceId' | 'n'> }
  | { ok: false; code: ErrorCode; message?: string } => {
  if (!src.ok) return src
  if (c.text !== undefined || c.mediaId !== undefined || c.replyTo !== undefined)
    return { ok: false, code: 'INVALID_FRAME', message: 'a forward carries no text, mediaId or replyTo' }
  const e = src.event
  if (c.kind !== e.kind)
    return { ok: false, code: 'INVALID_FRAME', message: `the forwarded message is ${e.kind}` }
  return {
    ok: true,
    data: {
      kind: e.kind,
      ...(e.text !== undefined ? { text: e.text } : {}),
      ...(e.media ? { media: e.media } : {}),
      forwarded: { count: (e.forwarded?.count ?? 0) + 1 },
    },
  }
}
