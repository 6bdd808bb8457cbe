import { type ChatEvent, PUSH_JOB_RECIPIENTS, PUSH_PREVIEW_CHARS, type PushJob } from '@chatapp/contracts'

/** What the fold knows of a conversation right after an event, for the push effect. */
export interface PushContext {
  kind: 'direct' | 'group'
  title: string | null
  /** Active members after the event. */
  members: Iterable<string>
}

/**
 * The preview a notification may carry: the text (or a media's caption) on one line, cut at
 * PUSH_PREVIEW_CHARS UTF-16 units (what the schema's maxLength counts) without splitting a
 * surrogate pair; none for media without a caption (the kind says what it is).
 */
export const pushPreview = (text: string | undefined): string | undefined => {
  if (text === undefined) return undefined
  const line = text.replace(/\s+/g, ' ').trim()
  if (line.length === 0) return undefined
  if (line.length <= PUSH_PREVIEW_CHARS) return line
  let cut = ''
  for (const ch of line) {
    if (cut.length + ch.length > PUSH_PREVIEW_CHARS - 1) break
    cut += ch
  }
  return `${cut}…`
}

/**
 * The push jobs of an accepted message (ADR 0190): its members other than the sender when it was
 * stored, PUSH_JOB_RECIPIENTS per job. Who of them is offline, muted or has a target is the push
 * worker's question, asked when it sends: those change without an event.
 */
export const pushJobsOf = (e: ChatEvent, seq: number, c: PushContext): { id: string; job: PushJob }[] => {
  if (e.type !== 'message.sent') return []
  const recipients = [...c.members].filter((u) => u !== e.actor).sort()
  const preview = pushPreview(e.data.text)
  const out: { id: string; job: PushJob }[] = []
  for (let part = 0; part * PUSH_JOB_RECIPIENTS < recipients.length; part++) {
    out.push({
      id: `${e.conversationId}:${seq}:push:${part}`,
      job: {
        v: 1,
        conversationId: e.conversationId,
        conversationKind: c.kind,
        title: c.title === null ? null : c.title.slice(0, 200),
        seq,
        senderId: e.actor,
        kind: e.data.kind,
        ...(preview !== undefined ? { preview } : {}),
        recipients: recipients.slice(part * PUSH_JOB_RECIPIENTS, (part + 1) * PUSH_JOB_RECIPIENTS),
        part,
        at: e.at,
      },
    })
  }
  return out
}
