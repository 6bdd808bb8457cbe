import type { ChatEvent } from '@chatapp/contracts'

/**
 * What a replay of the log (sync's catch-up) sends of an accepted `.m` event once messages were
 * deleted for everyone (ADR 0212): pure, given the deleted sequences of the folded state.
 * - a deleted message: its tombstone (number, sender, kind, time; no text, media or quote). Its
 *   `message.deleted` follows in the same replay, since a delete comes after what it deletes;
 * - a reply quoting a deleted message: without the quote's preview;
 * - an edit of a deleted message: nothing (`skip`), as its text is the deleted content;
 * - an edit a later edit of the same message superseded: nothing (`skip`). The edit history stays
 *   in the log and is not served to members (issue 17, ADR 0211): a device catching up gets the
 *   latest text once, as a member who was online saw it last;
 * - anything else: as stored (`undefined`).
 * Live delivery needs none of this: a delete is sent after what it deletes, and clients drop the
 * content they hold; each edit live is the latest when it is sent.
 */
export const redactForReplay = (
  deleted: ReadonlySet<number>,
  edited: ReadonlyMap<number, number>,
  seq: number,
  e: ChatEvent,
): ChatEvent | 'skip' | undefined => {
  if (e.type === 'message.edited') {
    if (deleted.has(e.data.seq)) return 'skip'
    const latest = edited.get(e.data.seq)
    return latest !== undefined && latest !== seq ? 'skip' : undefined
  }
  if (deleted.size === 0) return undefined
  if (e.type !== 'message.sent') return undefined
  if (deleted.has(seq)) {
    const { clientMsgId, deviceId, n, kind } = e.data
    return { ...e, data: { clientMsgId, deviceId, n, kind } }
  }
  const q = e.data.replyTo
  if (q?.preview !== undefined && deleted.has(q.seq)) {
    const { preview: _, ...rest } = q
    return { ...e, data: { ...e.data, replyTo: rest } }
  }
  return undefined
}
