import { Counter, Gauge, type Registry } from 'prom-client'
import type { AuditReport } from './auditor.js'
import { AUDIT_FINDINGS, type AuditCode, type Counts } from './findings.js'

/** What a continuous audit exports (docs/operators.md, infra/deploy/observability/). */
export interface AuditMetrics {
  passFailed(): void
  record(r: AuditReport): void
}

export const createAuditMetrics = (registry: Registry): AuditMetrics => {
  const r = [registry]
  const findings = new Gauge({
    name: 'audit_findings',
    help: 'Findings of the audit as of its last pass, by code and severity (log findings since sequence 1; view findings of the last check of each conversation).',
    labelNames: ['code', 'severity'],
    registers: r,
  })
  const clean = new Gauge({
    name: 'audit_clean',
    help: '1 when the last pass found no violation and no more notices than its bound, else 0.',
    registers: r,
  })
  const conversations = new Gauge({
    name: 'audit_conversations',
    help: 'Conversations the audit has read the log of.',
    registers: r,
  })
  const events = new Gauge({
    name: 'audit_events',
    help: 'Events the audit has read from the log.',
    registers: r,
  })
  const viewsChecked = new Counter({
    name: 'audit_views_checked_total',
    help: 'Conversations whose views were compared with the log (verify).',
    registers: r,
  })
  const deadLetters = new Gauge({
    name: 'audit_dead_letters',
    help: 'Dead letters of the projector, by code.',
    labelNames: ['code'],
    registers: r,
  })
  const lastPass = new Gauge({
    name: 'audit_last_pass_timestamp_seconds',
    help: 'When the last pass ended (a stalled audit stops moving it).',
    registers: r,
  })
  const passSeconds = new Gauge({
    name: 'audit_pass_seconds',
    help: 'How long the last pass took.',
    registers: r,
  })
  const failures = new Counter({
    name: 'audit_pass_failures_total',
    help: 'Passes that failed (NATS or PostgreSQL unreachable); the audit tries again at the next interval.',
    registers: r,
  })
  // Every code is exported, 0 included, so an alert on a code exists before its first finding.
  const setCounts = (c: Counts) => {
    for (const code of Object.keys(AUDIT_FINDINGS) as AuditCode[])
      findings.set({ code, severity: AUDIT_FINDINGS[code].severity }, c[code] ?? 0)
  }
  setCounts({})
  return {
    passFailed: () => failures.inc(),
    record(rep) {
      setCounts(rep.counts)
      clean.set(rep.clean ? 1 : 0)
      conversations.set(rep.conversations)
      events.set(rep.events)
      viewsChecked.inc(rep.views.checked)
      deadLetters.reset()
      for (const [code, k] of Object.entries(rep.deadLetters.byCode)) deadLetters.set({ code }, k)
      lastPass.set(Date.parse(rep.at) / 1000)
      passSeconds.set(rep.seconds)
    },
  }
}
