import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { freePort, repoRoot } from '@chatapp/infra'
import t from 'tap'
import type { AuditReport } from '../../src/audit/auditor.js'
import { type CliIo, runCli } from '../../src/cli-run.js'
import { created, ev, GROUP, sent, U } from '../support/events.js'
import { append, waitFor } from '../support/log.js'
import { viewsNamespace } from '../support/views-namespace.js'

/**
 * `chatapp-ops audit` against a real namespace: a clean history first, then violations injected
 * the way only a writer that bypasses the gateway (or a hand in PostgreSQL) could make them.
 * Each is reported with its stable code, the one-shot audit exits 1, and the continuous audit's
 * metrics show it.
 */
t.setTimeout(120_000)
const v = await viewsNamespace(2)
const projector = await v.start()
t.teardown(() => projector.stop())
const { js, n } = v

const cli = async (...argv: string[]) => {
  let out = ''
  let err = ''
  const io: CliIo = {
    out: (s) => (out += s),
    err: (s) => (err += s),
    isTTY: false,
    env: { ...v.tn.env, LOG_LEVEL: 'silent' },
  }
  const code = await runCli(argv, io)
  return { code, out, err }
}
const audit = async (...argv: string[]) => {
  const r = await cli('audit', '--once', '--json', ...argv)
  return { code: r.code, report: JSON.parse(r.out) as AuditReport, err: r.err }
}
const settled = (conversationId: string, seq: number) =>
  waitFor(async () => (await v.offsetOf(n.shardOf(conversationId))) >= seq, 10_000, `projection of ${seq}`)

// A clean history: a group with messages and receipts, a direct conversation.
const DIRECT = 'd_audit0001'
await append(js, n, created(GROUP))
const first = await append(js, n, sent(GROUP, U.bob, 1))
await append(js, n, ev('receipt.delivered', GROUP, U.cat, { upTo: first }))
const second = await append(js, n, sent(GROUP, U.cat, 2))
const read = await append(js, n, ev('receipt.read', GROUP, U.ann, { upTo: second }))
await append(js, n, created(DIRECT, [U.ann, U.dan]))
const lastDirect = await append(js, n, sent(DIRECT, U.dan, 1))
await settled(GROUP, read)
await settled(DIRECT, lastDirect)

t.test('a clean log and views: exit 0, nothing found, the whole log read', async (t) => {
  const { code, report } = await audit('--full')
  t.equal(code, 0)
  t.match(report, { clean: true, conversations: 2, events: 7, messages: 3, violations: 0, notices: 0 })
  t.same(report.findings, [])
  t.same(report.counts, {})
  const sampled = await cli('audit', '--once', '--sample', '1')
  t.equal(sampled.code, 0)
  t.match(sampled.out, /views of 1 conversation\(s\) compared with the log\n.*\nclean/)
})

t.test(
  'a duplicate n appended past the gateway is a rejected event, not a hole in the history',
  async (t) => {
    const dup = await append(js, n, sent(GROUP, U.ann, 2, 'a second number 2'))
    const third = await append(js, n, sent(GROUP, U.bob, 3))
    await settled(GROUP, third)
    const { code, report } = await audit()
    t.equal(code, 1, 'not clean: a notice over the default bound of 0')
    t.equal(report.counts.EVENT_REJECTED, 1)
    t.match(
      report.findings.find((f) => f.code === 'EVENT_REJECTED'),
      {
        severity: 'notice',
        conversationId: GROUP,
        seq: dup,
        detail: /message.sent: numbered 2 where 3 comes next/,
      },
    )
    t.equal(report.messages, 4, 'the message after it is accepted as n 3')
    t.ok(
      report.reasons.some((r) => /^1 notice\(s\), more than --max-notices 0$/.test(r)),
      'the notice is why',
    )
    // Every reader skips a rejected event (ADR 0080); a projector whose fold does not judge `n`
    // puts it in the history view, and the audit says so.
    const shown = (
      await v.q('SELECT 1 FROM V.messages WHERE conversation_id = $1 AND seq = $2', [GROUP, dup])
    ).length
    t.equal(report.counts.VIEW_SHOWS_REJECTED ?? 0, shown, 'a view showing it is a violation')
    if (shown) t.match(report.findings[0], { code: 'VIEW_SHOWS_REJECTED', severity: 'violation', seq: dup })
    const tolerated = await audit('--max-notices', '1', '--max-dead-letters', '10')
    t.equal(tolerated.report.violations, shown)
    t.equal(tolerated.code, shown ? 1 : 0, 'an operator who has looked at the notice raises its bound')
  },
)

t.test('a receipt going backwards is reported', async (t) => {
  const back = await append(js, n, ev('receipt.read', GROUP, U.ann, { upTo: first }))
  await settled(GROUP, back)
  const { code, report } = await audit('--max-notices', '1', '--max-dead-letters', '10')
  t.equal(code, 1)
  t.match(
    report.findings.find((f) => f.code === 'RECEIPT_BACKWARDS'),
    { seq: back, detail: `read up to ${first} for ${U.ann}, who acknowledged read up to ${second} before` },
  )
})

t.test('a view row deleted in PostgreSQL is a violation, found fully or by a sample', async (t) => {
  await v.q('DELETE FROM V.messages WHERE conversation_id = $1 AND seq = $2', [DIRECT, lastDirect])
  const full = await audit('--full', '--max-notices', '10', '--max-dead-letters', '10')
  t.equal(full.code, 1)
  t.match(
    full.report.findings.find((f) => f.code === 'VIEW_ROW_MISSING'),
    {
      severity: 'violation',
      conversationId: DIRECT,
      detail: `messages conversation_id=${DIRECT} seq=${lastDirect}`,
    },
  )
  const sampled = await audit('--sample', '2', '--max-notices', '10', '--max-dead-letters', '10')
  t.equal(sampled.report.counts.VIEW_ROW_MISSING, 1)
  t.match(sampled.report.reasons, [/violation/])
})

t.test('a watermark lowered in the views breaks read ≤ delivered', async (t) => {
  await v.q('UPDATE V.members SET delivered_up_to = 1 WHERE conversation_id = $1 AND user_id = $2', [
    GROUP,
    U.ann,
  ])
  // The rejected message above is a dead letter EVENT_REJECTED (the projector judges with admit).
  const { report } = await audit('--full', '--max-notices', '10', '--max-dead-letters', '10')
  t.match(report.findings, [
    { code: 'VIEW_WATERMARK_ORDER', detail: new RegExp(`${U.ann} in ${GROUP}: read \\d+ > delivered 1`) },
  ])
  t.ok(report.counts.VIEW_ROW_DIFFERS, 'and verify finds the row differs')
})

t.test('the continuous audit exports every finding on /metrics and stops on SIGTERM', async (t) => {
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'projector/dist/cli.js'), 'audit', '--interval', '1', '--sample', '5'],
    {
      env: { ...process.env, ...v.tn.env, AUDIT_OPS_PORT: String(port), CHATAPP_ENV_FILE: '/nonexistent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let out = ''
  child.stdout!.on('data', (b) => (out += b))
  child.stderr!.on('data', (b) => (out += b))
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const metric = (text: string, name: string) =>
    Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
  const text = await waitFor(
    async () => {
      const r = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined)
      const body = r?.ok ? await r.text() : ''
      return metric(body, 'audit_last_pass_timestamp_seconds\\{service="audit"\\}') > 0 ? body : ''
    },
    30_000,
    'a first pass on /metrics',
  )
  const findings = (code: string, severity: string) =>
    metric(text, `audit_findings\\{code="${code}",severity="${severity}",service="audit"\\}`)
  t.equal(findings('EVENT_REJECTED', 'notice'), 1)
  t.equal(findings('RECEIPT_BACKWARDS', 'notice'), 1)
  t.equal(findings('VIEW_ROW_MISSING', 'violation'), 1)
  t.equal(findings('SEND_ACCEPTED_TWICE', 'violation'), 0, 'every code is exported, 0 included')
  t.equal(metric(text, 'audit_clean\\{service="audit"\\}'), 0)
  t.equal(metric(text, 'audit_conversations\\{service="audit"\\}'), 2)
  child.kill('SIGTERM')
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('hung'), 10_000).unref())])
  t.equal(code, 0, 'SIGTERM ends the audit after its pass')
  t.match(out, /NOT CLEAN/)
})

t.test('dead letters and lag over their bounds are violations', async (t) => {
  await js.publish(n.convSubject(DIRECT, 'm'), new TextEncoder().encode('not json'))
  const after = await append(js, n, sent(DIRECT, U.ann, 2))
  await settled(DIRECT, after)
  await projector.stop()
  await append(js, n, sent(DIRECT, U.dan, 3))
  const { report } = await audit('--max-notices', '10', '--max-lag-seconds', '0', '--sample', '0')
  t.match(report.counts, { EVENT_UNDECODABLE: 1, DEAD_LETTERS_OVER_BOUND: 1, LAG_OVER_BOUND: 1 })
  t.match(
    report.findings.find((f) => f.code === 'LAG_OVER_BOUND'),
    {
      shard: n.shardOf(DIRECT),
      detail: /1 event\(s\) not applied/,
    },
  )
  t.equal(report.deadLetters.byCode.EVENT_INVALID, 1, 'the undecodable event is a dead letter')
})
