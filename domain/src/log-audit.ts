import { evolve, type Stored, type Verdict } from './evolve.js'
import { receiptEntries } from './receipts.js'
import { type ConversationState, emptyState } from './state.js'

/**
 * The checks an auditor runs on a conversation's log, read in order: the one home for them,
 * shared by `chatapp-ops audit` and the chaos run. Pure; the caller reads the log.
 *
 * What the log must satisfy is judged the way every reader judges it (ADR 0080): the fold
 * (`evolve`, which calls `admit`) accepts a message only with `n` = last accepted `n` + 1 and
 * folds watermarks only forward, capped at the receipt's own sequence, read implying delivered.
 * So the accepted history has a dense, unique `n` and monotonic receipts by construction, and an
 * event that would break them (a second `n`, a hole, a message from a non-member) is *rejected*:
 * reported as such, never as a hole in the accepted history. What the fold cannot rule out is
 * checked here: the same send accepted twice, and receipts a correct writer never appends.
 */
export type LogFindingCode =
  | 'EVENT_REJECTED'
  | 'SEND_ACCEPTED_TWICE'
  | 'RECEIPT_BACKWARDS'
  | 'RECEIPT_BEYOND_LOG'

/**
 * `violation`: the accepted history is wrong; never expected. `notice`: the log holds something
 * every reader neutralises (skips, or folds as a no-op), which has an innocent explanation and
 * is still worth a look.
 */
export type Severity = 'violation' | 'notice'

export interface FindingKind {
  severity: Severity
  meaning: string
}

export const LOG_FINDINGS: Record<LogFindingCode, FindingKind> = {
  EVENT_REJECTED: {
    severity: 'notice',
    meaning:
      'an event the rules refuse at its place (a repeated or skipped n, a non-member, a second creation): every reader skips it. Appended past a change during a stream leader election (ADR 0080), or by a writer that bypassed the gateway.',
  },
  SEND_ACCEPTED_TWICE: {
    severity: 'violation',
    meaning:
      'the same send (sender and clientMsgId) is an accepted message twice: a client would show it twice.',
  },
  RECEIPT_BACKWARDS: {
    severity: 'notice',
    meaning:
      "a member's receipt below one of theirs of the same kind stored before it: it moves nothing. Two receipt batches of one conversation appended out of order (ADR 0070), two devices racing, or a writer that bypassed the gateway.",
  },
  RECEIPT_BEYOND_LOG: {
    severity: 'notice',
    meaning:
      'a receipt acknowledging past its own sequence (more than was stored): readers cap it, a correct writer never appends it.',
  },
}

export interface LogFinding {
  code: LogFindingCode
  conversationId: string
  seq: number
  detail: string
}

/** What the auditor keeps of one conversation between events. */
export interface ConversationAudit {
  state: ConversationState
  /** `<sender>/<clientMsgId>` of every accepted message. */
  sends: Set<string>
  /** Accepted messages and rejected events so far. */
  messages: number
  rejected: number
  /**
   * Per member, the highest delivered / read each has acknowledged by a receipt since they
   * (last) joined. Their own messages move their watermarks too, without a receipt; a receipt
   * below such a watermark but not below their own earlier receipts is how a client that sends
   * and acknowledges at once behaves, not a step back.
   */
  acknowledged: Map<string, { joinedSeq: number; delivered: number; read: number }>
}

export const startAudit = (conversationId: string): ConversationAudit => ({
  state: emptyState(conversationId),
  sends: new Set(),
  messages: 0,
  rejected: 0,
  acknowledged: new Map(),
})

const receiptFindings = (a: ConversationAudit, x: Stored): LogFinding[] => {
  const out: LogFinding[] = []
  const s = a.state
  for (const r of receiptEntries(x.event)) {
    const at = { conversationId: s.id, seq: x.seq }
    if (r.upTo > x.seq)
      out.push({
        code: 'RECEIPT_BEYOND_LOG',
        ...at,
        detail: `${r.kind} up to ${r.upTo} for ${r.userId}, stored at ${x.seq}`,
      })
    const m = s.members.get(r.userId)
    // A receipt of someone who has just left moves nothing by design (admit); not a finding.
    if (!m) continue
    let acked = a.acknowledged.get(r.userId)
    if (acked?.joinedSeq !== m.joinedSeq) {
      acked = { joinedSeq: m.joinedSeq, delivered: 0, read: 0 }
      a.acknowledged.set(r.userId, acked)
    }
    const upTo = Math.min(r.upTo, x.seq)
    if (upTo < acked[r.kind])
      out.push({
        code: 'RECEIPT_BACKWARDS',
        ...at,
        detail: `${r.kind} up to ${r.upTo} for ${r.userId}, who acknowledged ${r.kind} up to ${acked[r.kind]} before`,
      })
    acked[r.kind] = Math.max(acked[r.kind], upTo)
  }
  return out
}

/**
 * Folds one stored event into the audit (MUTATES it, like `evolve`) and returns what it found.
 * Feed each conversation's events in stream order, both lanes; an event at or below what was
 * folded already (a second read) is stale and finds nothing.
 */
export const auditEvent = (a: ConversationAudit, x: Stored): { verdict: Verdict; findings: LogFinding[] } => {
  // Receipts are judged against the watermarks before the fold moves them.
  const before = x.lane === 'r' && x.seq > a.state.lastR ? receiptFindings(a, x) : []
  const verdict = evolve(a.state, x)
  if (verdict.kind === 'stale') return { verdict, findings: [] }
  const at = { conversationId: a.state.id, seq: x.seq }
  if (verdict.kind === 'rejected') {
    a.rejected++
    return {
      verdict,
      findings: [{ code: 'EVENT_REJECTED', ...at, detail: `${x.event.type}: ${verdict.reason}` }],
    }
  }
  if (x.event.type !== 'message.sent') return { verdict, findings: before }
  a.messages++
  const send = `${x.event.actor}/${x.event.data.clientMsgId}`
  if (!a.sends.has(send)) {
    a.sends.add(send)
    return { verdict, findings: [] }
  }
  return {
    verdict,
    findings: [
      { code: 'SEND_ACCEPTED_TWICE', ...at, detail: `${send} accepted again as n ${x.event.data.n}` },
    ],
  }
}
