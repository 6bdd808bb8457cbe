import { type FindingKind, LOG_FINDINGS, type LogFindingCode, type Severity } from '@chatapp/domain'

/**
 * Every code `chatapp-ops audit` reports, with its severity and meaning: the log's (from the
 * domain, shared with the chaos run) and the views' and the projection's (here). Codes are
 * stable: they are the `code` of `--json` output and a label of the `audit_findings` metric.
 */
export type AuditCode =
  | LogFindingCode
  | 'EVENT_UNDECODABLE'
  | 'VIEW_ROW_MISSING'
  | 'VIEW_ROW_UNEXPECTED'
  | 'VIEW_ROW_DIFFERS'
  | 'VIEW_SHOWS_REJECTED'
  | 'VIEW_WATERMARK_ORDER'
  | 'VIEW_WATERMARK_BACKWARDS'
  | 'DEAD_LETTERS_OVER_BOUND'
  | 'LAG_OVER_BOUND'

export const AUDIT_FINDINGS: Record<AuditCode, FindingKind> = {
  ...LOG_FINDINGS,
  EVENT_UNDECODABLE: {
    severity: 'notice',
    meaning:
      'a stored message that is not a valid event on a conversation subject: readers skip it, the projector dead-letters it.',
  },
  VIEW_ROW_MISSING: {
    severity: 'violation',
    meaning: 'the log says a view row exists and the views have none (verify: missing).',
  },
  VIEW_ROW_UNEXPECTED: {
    severity: 'violation',
    meaning: 'the views hold a row the log does not explain (verify: unexpected).',
  },
  VIEW_ROW_DIFFERS: {
    severity: 'violation',
    meaning: 'a view row differs from the one recomputed from the log (verify: differs).',
  },
  VIEW_SHOWS_REJECTED: {
    severity: 'violation',
    meaning:
      'the messages view holds a message the log rejected (ADR 0080): history shows what live delivery and sync never did.',
  },
  VIEW_WATERMARK_ORDER: {
    severity: 'violation',
    meaning:
      "a member row of the views has read > delivered, or delivered beyond the conversation's last stored sequence.",
  },
  VIEW_WATERMARK_BACKWARDS: {
    severity: 'violation',
    meaning: 'a delivered or read watermark of the views is lower than when the audit last sampled it.',
  },
  DEAD_LETTERS_OVER_BOUND: {
    severity: 'violation',
    meaning: 'more dead letters than --max-dead-letters (chatapp-ops dead-letters lists them).',
  },
  LAG_OVER_BOUND: {
    severity: 'violation',
    meaning: 'the oldest event the views have not applied is older than --max-lag-seconds.',
  },
}

export interface Finding {
  code: AuditCode
  severity: Severity
  conversationId?: string
  shard?: number
  seq?: number
  detail: string
}

export const finding = (
  code: AuditCode,
  detail: string,
  where: Omit<Finding, 'code' | 'severity' | 'detail'> = {},
): Finding => ({
  code,
  severity: AUDIT_FINDINGS[code].severity,
  ...where,
  detail,
})

export interface Bounds {
  /** Notices (rejected events, stale receipts …) tolerated before the audit is not clean. */
  maxNotices: number
  maxDeadLetters: number
  maxLagSeconds: number
}

export const DEFAULT_BOUNDS: Bounds = { maxNotices: 0, maxDeadLetters: 0, maxLagSeconds: 60 }

export type Counts = Partial<Record<AuditCode, number>>

/**
 * Whether a pass is clean: no violation, and no more notices than the bound. Notices stay in the
 * log for good (it is append-only), so an operator who has looked at them raises the bound
 * rather than living with an audit that always fails. Pure.
 */
export const judge = (
  counts: Counts,
  bounds: Bounds,
): { clean: boolean; violations: number; notices: number; reasons: string[] } => {
  let violations = 0
  let notices = 0
  for (const [code, n] of Object.entries(counts) as [AuditCode, number][])
    if (AUDIT_FINDINGS[code].severity === 'violation') violations += n
    else notices += n
  const reasons: string[] = []
  if (violations > 0) reasons.push(`${violations} violation(s)`)
  if (notices > bounds.maxNotices)
    reasons.push(`${notices} notice(s), more than --max-notices ${bounds.maxNotices}`)
  return { clean: reasons.length === 0, violations, notices, reasons }
}
