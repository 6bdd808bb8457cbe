import { emptyState, evolve } from '@chatapp/domain'
import type { ConversationLog } from '@chatapp/kit'

export interface LogAudit {
  conversations: number
  messages: number
  /** Accepted messages whose `n` is not the next one (a hole or a repeat): must be 0. */
  denseViolations: number
  /** The same send (sender + clientMsgId) accepted twice: must be 0. */
  storedTwice: number
  /** Events every reader rejected (raced past a change during a leader election): explained. */
  rejected: number
  /** Acknowledged sends whose sequence is not an accepted message with the acknowledged n. */
  ackMismatches: number
  /** Receipts a device sent that the folded watermark does not cover: a receipt vanished. */
  lostReceipts: number
  examples: string[]
}

/**
 * Reads every conversation's log from the start and folds it with the domain's rules, as every
 * reader does: `n` of accepted messages must be 1, 2, 3 … with no repeat, no send may be
 * accepted twice, every acknowledged send must be there with the `n` it was acknowledged with,
 * and every receipt a client sent must be covered by the folded watermark.
 */
export const auditLog = async (
  log: ConversationLog,
  conversations: readonly string[],
  acks: ReadonlyMap<string, { seq: number; n: number }[]>,
  receiptsSent: ReadonlyMap<string, Map<string, { delivered: number; read: number }>>,
): Promise<LogAudit> => {
  const a: LogAudit = {
    conversations: conversations.length,
    messages: 0,
    denseViolations: 0,
    storedTwice: 0,
    rejected: 0,
    ackMismatches: 0,
    lostReceipts: 0,
    examples: [],
  }
  const note = (s: string) => {
    if (a.examples.length < 20) a.examples.push(s)
  }
  for (const id of conversations) {
    const s = emptyState(id)
    const accepted = new Map<number, number>() // seq → n
    const sends = new Set<string>()
    const end = Math.max(await log.lastSeq(id, 'm'), await log.lastSeq(id, 'r'))
    // Both lanes in stream order: a receipt folds after the messages before it.
    for await (const e of log.read(id, 0, end)) {
      const v = evolve(s, e)
      if (v.kind === 'rejected') {
        a.rejected++
        note(`${id} seq ${e.seq} ${e.event.type} rejected: ${v.reason}`)
        continue
      }
      if (e.event.type !== 'message.sent' || v.kind !== 'accepted') continue
      a.messages++
      accepted.set(e.seq, e.event.data.n)
      // The fold admits only n = last + 1; checked again here, as every client relies on it.
      if (e.event.data.n !== accepted.size) {
        a.denseViolations++
        note(`${id} seq ${e.seq} numbered ${e.event.data.n} after ${accepted.size - 1} messages`)
      }
      const send = `${e.event.actor}/${e.event.data.clientMsgId}`
      if (sends.has(send)) {
        a.storedTwice++
        note(`${id} ${send} accepted twice`)
      }
      sends.add(send)
    }
    for (const ack of acks.get(id) ?? []) {
      if (accepted.get(ack.seq) !== ack.n) {
        a.ackMismatches++
        note(
          `${id} acknowledged seq ${ack.seq} n ${ack.n}, the log says ${accepted.get(ack.seq) ?? 'no message'}`,
        )
      }
    }
    for (const [userId, w] of receiptsSent.get(id) ?? []) {
      const m = s.members.get(userId)
      if (!m) continue
      if (m.delivered < w.delivered || m.read < w.read) {
        a.lostReceipts++
        note(
          `${id} ${userId} sent delivered ${w.delivered} / read ${w.read}, stored ${m.delivered} / ${m.read}`,
        )
      }
    }
  }
  return a
}
