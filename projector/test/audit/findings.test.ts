import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '@chatapp/infra'
import t from 'tap'
import { AUDIT_FINDINGS, type AuditCode, DEFAULT_BOUNDS, judge } from '../../src/audit/findings.js'
import { watermarkFindings } from '../../src/audit/view-checks.js'

t.test('clean means no violation and no more notices than the bound', async (t) => {
  t.match(judge({}, DEFAULT_BOUNDS), { clean: true, violations: 0, notices: 0, reasons: [] })
  t.match(judge({ EVENT_REJECTED: 2 }, DEFAULT_BOUNDS), {
    clean: false,
    notices: 2,
    reasons: ['2 notice(s), more than --max-notices 0'],
  })
  t.match(judge({ EVENT_REJECTED: 2 }, { ...DEFAULT_BOUNDS, maxNotices: 2 }), { clean: true })
  t.match(judge({ VIEW_ROW_MISSING: 1, EVENT_REJECTED: 1 }, { ...DEFAULT_BOUNDS, maxNotices: 5 }), {
    clean: false,
    violations: 1,
    reasons: ['1 violation(s)'],
  })
})

t.test('every code is documented in operators.md with its severity', async (t) => {
  const doc = readFileSync(join(repoRoot, 'docs/operators.md'), 'utf8')
  for (const [code, k] of Object.entries(AUDIT_FINDINGS) as [AuditCode, { severity: string }][])
    t.match(doc, `| \`${code}\` | ${k.severity} |`, code)
})

t.test('view watermarks: read ≤ delivered ≤ stored, and never lower than last sampled', async (t) => {
  const previous = new Map<string, { delivered: number; read: number }>()
  const row = (delivered: number, read: number) => ({
    conversationId: 'c_one000001',
    userId: 'u_a',
    delivered,
    read,
  })
  t.same(
    watermarkFindings([row(5, 4)], () => 9, previous),
    [],
  )
  t.match(
    watermarkFindings([row(5, 6)], () => 9, previous),
    [{ code: 'VIEW_WATERMARK_ORDER', detail: 'u_a in c_one000001: read 6 > delivered 5' }],
  )
  t.match(
    watermarkFindings([row(10, 6)], () => 9, previous),
    [{ code: 'VIEW_WATERMARK_ORDER', detail: /delivered 10 > last stored sequence 9/ }],
  )
  t.match(
    watermarkFindings([row(3, 2)], () => 9, previous),
    [{ code: 'VIEW_WATERMARK_BACKWARDS', severity: 'violation', detail: /delivered 10 → 3, read 6 → 2/ }],
  )
  t.match(
    watermarkFindings([row(1, 0)], () => undefined, new Map()),
    [{ code: 'VIEW_WATERMARK_ORDER', detail: /last stored sequence 0/ }],
    'a conversation the log does not know stores nothing',
  )
})
