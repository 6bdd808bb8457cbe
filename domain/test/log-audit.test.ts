import type { ChatEvent } from '@chatapp/contracts'
import { laneOf } from '@chatapp/contracts'
import t from 'tap'
import { auditEvent, LOG_FINDINGS, type LogFinding, startAudit } from '../src/log-audit.js'
import { ev } from '../src/testing/given.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const G = 'c_group0001'

/** Audits events stored at 1, 2, 3 … and returns every finding. */
const audit = (...events: ChatEvent[]) => {
  const a = startAudit(G)
  const findings: LogFinding[] = []
  events.forEach((event, i) => {
    findings.push(...auditEvent(a, { seq: i + 1, lane: laneOf(event.type), event }).findings)
  })
  return { a, findings }
}

t.test('a clean log finds nothing', async (t) => {
  const { a, findings } = audit(
    ev.created(G, A, [B]),
    ev.message(G, A, 1),
    ev.delivered(G, B, 2),
    ev.message(G, B, 2),
    ev.read(G, A, 4),
    ev.batch(G, [{ userId: B, upTo: 5 }], [{ userId: A, upTo: 5 }]),
  )
  t.same(findings, [])
  t.equal(a.messages, 2)
  t.equal(a.rejected, 0)
})

t.test('a repeated n is reported as a rejected event, not as a hole in the accepted history', async (t) => {
  const { a, findings } = audit(
    ev.created(G, A, [B]),
    ev.message(G, A, 1),
    ev.message(G, B, 1),
    ev.message(G, B, 2),
  )
  t.match(findings, [
    { code: 'EVENT_REJECTED', seq: 3, detail: /message.sent: numbered 1 where 2 comes next/ },
  ])
  t.equal(findings.length, 1, 'the message after it is accepted: n stays dense')
  t.same([a.messages, a.rejected, a.state.n], [2, 1, 2])
  t.equal(LOG_FINDINGS.EVENT_REJECTED.severity, 'notice')
})

t.test('the same send accepted twice is a violation', async (t) => {
  const { findings } = audit(
    ev.created(G, A, [B]),
    ev.message(G, A, 1, 'hi', 'same'),
    ev.message(G, A, 2, 'hi', 'same'),
  )
  t.match(findings, [{ code: 'SEND_ACCEPTED_TWICE', seq: 3, detail: `${A}/same accepted again as n 2` }])
  t.equal(LOG_FINDINGS.SEND_ACCEPTED_TWICE.severity, 'violation')
})

t.test(
  'a receipt below an earlier one of the same member, or beyond its own sequence, is reported',
  async (t) => {
    const { a, findings } = audit(
      ev.created(G, A, [B]),
      ev.message(G, A, 1),
      ev.read(G, B, 2),
      ev.delivered(G, B, 2), // read implies delivered, but B never acknowledged delivery: not backwards
      ev.read(G, B, 1), // backwards
      ev.batch(G, [], [{ userId: B, upTo: 99 }]), // beyond its sequence (6): capped, and a step forward
      ev.read(G, A, 1), // A sent at 2, so the watermark is 2, but A never acknowledged more: fine
      ev.read(G, 'u_cccccccc', 6), // not a member: moves nothing by design
      ev.read(G, B, 6), // the same as before: a repeat, not a step back
      ev.left(G, B),
      ev.added(G, A, B),
      ev.read(G, B, 2), // after joining again: their earlier receipts no longer count
    )
    t.same(
      findings.map((f) => [f.code, f.seq]),
      [
        ['RECEIPT_BACKWARDS', 5],
        ['RECEIPT_BEYOND_LOG', 6],
      ],
    )
    t.match(findings[0]!.detail, `read up to 1 for ${B}, who acknowledged read up to 2 before`)
    t.equal(a.state.members.get(B)!.read, 2, 'the fold starts a member who joins again afresh')
    t.equal(a.acknowledged.get(B)!.read, 2)
  },
)

t.test('a stale second read finds nothing; a rejected receipt is reported once, as rejected', async (t) => {
  const a = startAudit(G)
  auditEvent(a, { seq: 1, lane: 'm', event: ev.created(G, A, [B]) })
  const msg = { seq: 2, lane: 'm' as const, event: ev.message(G, A, 1) }
  t.same(auditEvent(a, msg).findings, [])
  t.same(auditEvent(a, msg), { verdict: { kind: 'stale' }, findings: [] })
  const r = { seq: 3, lane: 'r' as const, event: ev.read(G, B, 1) }
  auditEvent(a, r)
  t.same(auditEvent(a, r).findings, [], 'the same receipt read again is not stale-reported')
  // A batch must be written by the system: a user's is rejected, its entries are not judged.
  const bogus = { ...ev.batch(G, [], [{ userId: B, upTo: 1 }]), actor: A } as ChatEvent
  t.match(auditEvent(a, { seq: 4, lane: 'r', event: bogus }).findings, [
    { code: 'EVENT_REJECTED', detail: /written by the system/ },
  ])
})
