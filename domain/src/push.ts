import {
  type ChatEvent,
  PUSH_JOB_ITEMS,
  PUSH_JOB_RECIPIENTS,
  PUSH_PREVIEW_CHARS,
  type PushItem,
  type PushJob,
  type PushMessageItem,
} from '@chatapp/contracts'

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

const titleOf = (c: PushContext) => (c.title === null ? null : c.title.slice(0, 200))

/**
 * What one accepted event asks the push worker to tell (ADR 0190, 0194), as an item naming every
 * recipient (`part` 0; `pushJobsOfBatch` collapses and splits). A message: its members other
 * than the sender when it was stored, and which of them it mentions. A reaction set or replaced:
 * the reacted message's author, when someone else reacted and the author is still a member; a
 * removed reaction tells nobody. Who of them is offline, muted or has a target is the worker's
 * question, asked when it sends: those change without an event.
 */
export const pushItemOf = (e: ChatEvent, seq: number, c: PushContext): PushItem | undefined => {
  if (e.type !== 'message.sent' && e.type !== 'message.reacted') return undefined
  const common = {
    conversationId: e.conversationId,
    conversationKind: c.kind,
    title: titleOf(c),
    seq,
    firstSeq: seq,
    senderId: e.actor,
    part: 0,
    at: e.at,
    firstAt: e.at,
  }
  if (e.type === 'message.sent') {
    const recipients = [...c.members].filter((u) => u !== e.actor).sort()
    if (recipients.length === 0) return undefined
    const preview = pushPreview(e.data.text)
    // `admit` keeps mentions to other members; a member removed in between is not told anyway.
    const mentioned = (e.data.mentions ?? []).filter((u) => recipients.includes(u)).sort()
    return {
      type: 'message',
      ...common,
      recipients,
      count: 1,
      kind: e.data.kind,
      ...(preview !== undefined ? { preview } : {}),
      ...(mentioned.length > 0 ? { mentioned } : {}),
    }
  }
  const author = e.data.senderId
  if (e.data.emoji === null || author === e.actor || ![...c.members].includes(author)) return undefined
  return { type: 'reaction', ...common, recipients: [author], emoji: e.data.emoji, messageSeq: e.data.seq }
}

/** Whether `next` may fold into `prev`: the same sender and recipients, nobody mentioned. */
const collapsible = (prev: PushItem | undefined, next: PushItem): prev is PushMessageItem =>
  prev?.type === 'message' &&
  next.type === 'message' &&
  prev.mentioned === undefined &&
  next.mentioned === undefined &&
  prev.senderId === next.senderId &&
  prev.recipients.length === next.recipients.length &&
  prev.recipients.every((u, i) => u === next.recipients[i])

/**
 * The items of one batch, grouped by conversation (in the order each first appears) and with a
 * conversation's consecutive messages collapsed to the newest, its count, and the oldest's `at`.
 */
export const collapsePushItems = (items: readonly PushItem[]): PushItem[] => {
  const byConversation = new Map<string, PushItem[]>()
  for (const item of items) {
    const list = byConversation.get(item.conversationId) ?? []
    byConversation.set(item.conversationId, list)
    const prev = list[list.length - 1]
    if (collapsible(prev, item) && item.type === 'message')
      list[list.length - 1] = {
        ...item,
        firstSeq: prev.firstSeq,
        firstAt: prev.firstAt,
        count: prev.count + item.count,
      }
    else list.push(item)
  }
  return [...byConversation.values()].flat()
}

/**
 * A projector batch's push jobs (ADR 0193): its collapsed items packed in order into jobs of at
 * most PUSH_JOB_ITEMS items and PUSH_JOB_RECIPIENTS recipients, an item with more recipients than
 * a job has room for split into parts. `batch` names the batch (`push:<shard>:<first seq>`: a
 * batch is committed once, so its first stream sequence identifies it); job `i` is
 * `<batch>:<i>`, the Msg-Id. Pure: the same batch always yields the same jobs.
 */
export const pushJobsOfBatch = (
  batch: string,
  items: readonly PushItem[],
): { id: string; job: PushJob }[] => {
  const out: { id: string; job: PushJob }[] = []
  let current: PushItem[] = []
  let room = PUSH_JOB_RECIPIENTS
  const close = () => {
    if (current.length === 0) return
    const id = `${batch}:${out.length}`
    out.push({ id, job: { v: 2, batch: id, items: current } })
    current = []
    room = PUSH_JOB_RECIPIENTS
  }
  for (const item of collapsePushItems(items)) {
    let from = 0
    for (let part = 0; from < item.recipients.length; part++) {
      if (room === 0 || current.length === PUSH_JOB_ITEMS) close()
      const take = Math.min(room, item.recipients.length - from)
      current.push(
        from === 0 && take === item.recipients.length
          ? item
          : { ...item, recipients: item.recipients.slice(from, from + take), part },
      )
      from += take
      room -= take
    }
  }
  close()
  return out
}
