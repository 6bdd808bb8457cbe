import { auditEvent, type LogFindingCode, startAudit } from '@chatapp/domain'
import type { ConversationLog } from '@chatapp/kit'

export interface LogAudit {
  conversations: number
  messages: number
  /** The same send (sender + clientMsgId) accepted twice: must be 0. */
  storedTwice: number
  /** Events every reader rejected (raced past a change during a leader election): explained. */
  rejected: number
  /** Every finding of the domain's log audit, by code (the same checks as `chatapp-ops audit`). */
  findings: Partial<Record<LogFindingCode, number>>
  /** Acknowledged sends whose sequence is not an accepted message with the acknowledged n. */
  ackMismatches: number
  /** Receipts a device sent that the folded watermark does not cover: a receipt vanished. */
  lostReceipts: number
  examples: string[]
}

/**
 * Reads every conversation's log from the start through the domain's log audit (the checks
 * `chatapp-ops audit` runs: n dense and unique as every reader judges it, no send accepted
 * twice), then holds the log against what the clients saw: every acknowledged send must be
 * there with the `n` it was acknowledged with, and every receipt a client sent must be covered
 * by the folded watermark.
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
    storedTwice: 0,
    rejected: 0,
    findings: {},
    ackMismatches: 0,
    lostReceipts: 0,
    examples: [],
  }
  const note = (s: string) => {
    if (a.examples.length < 20) a.examples.push(s)
  }
  for (const id of conversations) {
    const audit = startAudit(id)
    const accepted = new Map<number, number>() // seq → n
    const end = Math.max(await log.lastSeq(id, 'm'), await log.lastSeq(id, 'r'))
    // Both lanes in stream order: a receipt folds after the messages before it.
    for await (const e of log.read(id, 0, end)) {
      const { verdict, findings } = auditEvent(audit, e)
      for (const f of findings) {
        a.findings[f.code] = (a.findings[f.code] ?? 0) + 1
        note(`${id} seq ${f.seq} ${f.code}: ${f.detail}`)
      }
      if (verdict.kind === 'accepted' && e.event.type === 'message.sent') accepted.set(e.seq, e.event.data.n)
    }
    a.messages += audit.messages
    a.rejected += audit.rejected
    for (const ack of acks.get(id) ?? []) {
      if (accepted.get(ack.seq) !== ack.n) {
        a.ackMismatches++
        note(
          `${id} acknowledged seq ${ack.seq} n ${ack.n}, the log says ${accepted.get(ack.seq) ?? 'no message'}`,
        )
      }
    }
    for (const [userId, w] of receiptsSent.get(id) ?? []) {
      const m = audit.state.members.get(userId)
      if (!m) continue
      if (m.delivered < w.delivered || m.read < w.read) {
        a.lostReceipts++
        note(
          `${id} ${userId} sent delivered ${w.delivered} / read ${w.read}, stored ${m.delivered} / ${m.read}`,
        )
      }
    }
  }
  a.storedTwice = a.findings.SEND_ACCEPTED_TWICE ?? 0
  return a
}
