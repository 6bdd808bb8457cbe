import { type ChatEvent, encodeJson, HEADERS } from '@chatapp/contracts'
import { type Command, messageEventId } from '@chatapp/domain'
import { createTestNamespace, type TestNamespace } from '@chatapp/infra'
import { createConversationLog } from '@chatapp/kit'
import { Kvm } from '@nats-io/kv'
import { headers } from '@nats-io/nats-core'
import t from 'tap'
import { createCommandRunner, nextAfterUnconfirmed } from '../../src/conversation/command-runner.js'
import { directConversationId } from '../../src/conversation/conversation-ids.js'
import { createStateStore } from '../../src/conversation/state-store.js'
import { RUNNER_LIMITS } from '../support/gateway.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const C = 'u_cccccccc'
const known = new Set([A, B, C])
const limits = RUNNER_LIMITS

/** An independent shell over the namespace's log: one gateway's runner and store. */
const shell = async (tn: TestNamespace, snapshotEvery = 3) => {
  const log = await createConversationLog(tn.nc, tn.names)
  const store = await createStateStore(tn.nc, tn.names, log, { snapshotEvery })
  return { log, store, runner: createCommandRunner(log, store, { limits }) }
}
/** A fresh namespace with A and B's direct conversation opened through one shell. */
const openedDirect = async (t: { teardown(f: () => unknown): void }) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  const g = await shell(tn)
  const d = directConversationId(A, B)
  await g.runner.run(d, { type: 'direct.open', actor: A, peerId: B, known })
  return { tn, g, d }
}
const waitFor = async (check: () => Promise<boolean>, what: string, timeoutMs = 5_000) => {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
const send = (actor: string, i: number | string): Command => ({
  type: 'send',
  actor,
  deviceId: 'dev',
  clientMsgId: `cm_${actor}_${i}`,
  kind: 'text',
  text: `m${i}`,
})

t.test('two gateways append to one conversation with dense numbers and de-duplication', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  const g1 = await shell(tn)
  const g2 = await shell(tn)
  const d = directConversationId(A, B)
  const o1 = await g1.runner.run(d, { type: 'direct.open', actor: A, peerId: B, known })
  const o2 = await g2.runner.run(d, { type: 'direct.open', actor: B, peerId: A, known })
  t.ok(o1.ok && o1.seq === 1, 'the first open creates the conversation')
  t.ok(o2.ok && o2.seq === undefined, 'the second open finds it (expected sequence 0 refused)')

  const outs = await Promise.all(
    Array.from({ length: 10 }, (_, i) => {
      const who = i % 2 ? A : B
      return (i % 2 ? g1 : g2).runner.run(d, send(who, i), { msgId: `${d}:${who}:cm_${i}` })
    }),
  )
  const ns = outs
    .map((o) => (o.ok && o.event?.type === 'message.sent' ? o.event.data.n : -1))
    .sort((a, b) => a - b)
  t.same(ns, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'concurrent sends from two gateways get dense n')

  const again = await g2.runner.run(d, send(B, 0), { msgId: `${d}:${B}:cm_0` })
  const first = outs[0]!
  t.ok(again.ok && again.duplicate, 'a retried send is a duplicate')
  t.equal(again.ok && again.seq, first.ok && first.seq, 'and returns the original sequence')
  t.ok(again.ok && again.event?.type === 'message.sent' && again.event.data.n === 1, 'with its original n')
  t.same(await g1.runner.run(d, send(C, 1)), { ok: false, code: 'NOT_A_MEMBER' })

  const g = 'c_grouptest1'
  t.ok(
    (
      await g1.runner.run(g, {
        type: 'group.create',
        actor: A,
        title: 'g',
        memberIds: [B],
        known,
        addable: known,
      })
    ).ok,
  )
  // g2 has a stale cache that does not know the group yet, and still sees the add correctly.
  await g2.store.get(g)
  t.ok((await g2.runner.run(g, { type: 'group.add', actor: A, userId: C, known, addable: known })).ok)
  t.ok((await g1.runner.run(g, { type: 'group.remove', actor: A, userId: B })).ok)
  t.same(await g1.runner.run(g, send(B, 99)), { ok: false, code: 'NOT_A_MEMBER' }, 'removed member refused')

  // A cold gateway loads from the snapshot plus the tail.
  const g3 = await shell(tn)
  const s = await g3.store.get(d)
  t.equal(s.n, 10)
  t.same([...s.members.keys()].sort(), [A, B])
})

t.test(
  'a send that raced past a change is never reported as sent: it is decided again on the state that won',
  async (t) => {
    const { tn, g, d } = await openedDirect(t)
    const m1 = await g.runner.run(d, send(A, 1), { msgId: 'm1' })
    t.ok(m1.ok)
    // What a leader change can let through (nats-server 4320/8469): another writer's message
    // numbered like the next one, stored without honouring any expectation. Every reader rejects
    // it (n repeats), so nobody may ever be told it was sent.
    const state = await g.store.refresh(d)
    const raced: ChatEvent = {
      v: 1,
      type: 'message.sent',
      id: messageEventId(d, B, 'cm_raced_1'),
      conversationId: d,
      actor: B,
      at: 2,
      data: { clientMsgId: 'cm_raced_1', deviceId: 'x', n: state.n, kind: 'text', text: 'dup n' },
    }
    const h = headers()
    h.set(HEADERS.eventType, raced.type)
    await tn.nc.request(tn.names.convSubject(d, 'm'), encodeJson(raced), { headers: h, timeout: 5_000 })
    // The runner's cache does not know the raced event; its append expects the old end, fails, and
    // the refreshed state numbers the next message after the accepted ones only.
    const m2 = await g.runner.run(d, send(A, 2), { msgId: 'm2' })
    t.ok(m2.ok && m2.event?.type === 'message.sent' && m2.event.data.n === 2, 'n stays dense: 2, not 3')
    const after = await g.store.refresh(d)
    t.equal(after.rejected.size, 1, 'the raced event is rejected')
    t.equal(after.n, 2)

    // A writer whose expectation is not enforced — what a leader change can do to the check — and
    // whose cache is stale: its append is stored after a message it never saw, the verdict rejects
    // it, and the runner decides and appends again (under a chained Msg-Id, so a resend finds the
    // accepted copy) instead of reporting the rejected one.
    const log = await createConversationLog(tn.nc, tn.names)
    const unchecked = {
      ...log,
      append: (e: ChatEvent, o: { msgId?: string } = {}) => log.append(e, o.msgId ? { msgId: o.msgId } : {}),
    }
    const store = await createStateStore(tn.nc, tn.names, log)
    const stale = createCommandRunner(unchecked, store, { limits })
    t.equal((await store.get(d)).n, 2, 'caches n = 2')
    const other = await shell(tn)
    t.ok((await other.runner.run(d, send(B, 3), { msgId: 'm3' })).ok)
    const m4 = await stale.run(d, send(A, 4), { msgId: 'm4' })
    t.ok(m4.ok && m4.event?.type === 'message.sent' && m4.event.data.n === 4, 'reported with the n it holds')
    const final = await g.store.refresh(d)
    t.equal(final.rejected.size, 2, 'the stale copy was rejected by every reader')
    t.equal(final.n, 4)
    const resend = await stale.run(d, send(A, 4), { msgId: 'm4' })
    t.ok(
      resend.ok && resend.duplicate && resend.seq === (m4.ok && m4.seq),
      'a resend finds the accepted copy',
    )
  },
)

t.test('a connection guard refuses inside the queue and learns how each command ended', async (t) => {
  const { g, d } = await openedDirect(t)
  const seen: string[] = []
  let blocked = false
  const guard = (name: string) => ({
    before: () => (blocked ? { ok: false as const, code: 'UNAVAILABLE' as const } : undefined),
    after: (r: { outcome: { ok: boolean } } | { error: unknown }) => {
      seen.push(`${name}:${'outcome' in r ? r.outcome.ok : 'error'}`)
      if (name === 'first') blocked = true
    },
  })
  const [a, b] = await Promise.all([
    g.runner.run(d, send(A, 'g1'), { guard: guard('first') }),
    g.runner.run(d, send(A, 'g2'), { guard: guard('second') }),
  ])
  t.ok(a.ok)
  t.same(b, { ok: false, code: 'UNAVAILABLE' }, 'the second saw what the first left, in the same queue')
  t.same(seen, ['first:true'])
  const thrown = await g.runner
    .run(
      d,
      async () => {
        throw new Error('media lookup failed')
      },
      { guard: { before: () => undefined, after: (r) => seen.push('error' in r ? 'threw' : 'ok') } },
    )
    .catch((e: Error) => e.message)
  t.equal(thrown, 'media lookup failed')
  t.same(seen.at(-1), 'threw')
})

t.test('retries answered from the durable record keep their order and return the original', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  const { runner } = await shell(tn)
  const d = directConversationId(A, B)
  await runner.run(d, { type: 'direct.open', actor: A, peerId: B, known })
  const stored = await runner.run(d, send(A, 'order0'), { msgId: `${d}:${A}:cm_order_0` })
  // The first retry's lookup is slow; the second's would answer at once. The second must not
  // overtake the first, or pipelined resends after a reconnect would be stored out of order.
  let releaseFirst: (seq: number | undefined) => void = () => {}
  const firstLookup = new Promise<number | undefined>((resolve) => {
    releaseFirst = resolve
  })
  let secondAsked = false
  const first = runner.run(d, send(A, 'order1'), {
    msgId: `${d}:${A}:cm_order_1`,
    recorded: () => firstLookup,
  })
  const second = runner.run(d, send(A, 'order2'), {
    msgId: `${d}:${A}:cm_order_2`,
    recorded: async () => {
      secondAsked = true
      return undefined
    },
  })
  await new Promise((r) => setImmediate(r))
  t.notOk(secondAsked, 'the second retry waits in the queue behind the first')
  releaseFirst(undefined)
  const [o1, o2] = await Promise.all([first, second])
  t.ok(o1.ok && o2.ok && o1.seq! < o2.seq!, 'stored in the order sent')
  // After JetStream's window only the durable record knows: it answers with the original event.
  const late = await runner.run(d, send(A, 'order0'), {
    msgId: `${d}:${A}:cm_order_0_late`,
    recorded: async () => (stored.ok ? stored.seq : undefined),
  })
  t.ok(late.ok && late.duplicate && late.seq === (stored.ok && stored.seq), 'the original sequence')
  t.ok(late.ok && late.event?.type === 'message.sent' && late.event.data.text === 'morder0', 'and its event')
})

t.test(
  'a 1:1 conversation is snapshotted every few dozen events, so a cold gateway folds little of the log',
  async (t) => {
    const tn = await createTestNamespace()
    t.teardown(tn.cleanup)
    const log = await createConversationLog(tn.nc, tn.names)
    const store = await createStateStore(tn.nc, tn.names, log) // the default cadence
    const runner = createCommandRunner(log, store, { limits })
    const d = directConversationId(A, B)
    await runner.run(d, { type: 'direct.open', actor: A, peerId: B, known })
    for (let i = 0; i < 100; i++) {
      const who = i % 2 ? A : B
      await runner.run(d, send(who, i), { msgId: `${d}:${who}:cm_${i}` })
    }
    const last = await log.lastSeq(d, 'm')
    const kv = await new Kvm(tn.nc).open(tn.names.convStateBucket)
    await waitFor(async () => {
      const snap = await kv.get(d)
      const at = snap ? (snap.json() as { lastM: number }).lastM : 0
      return last - at <= 32
    }, 'a snapshot within 32 events of the head')
    t.pass('a cold load folds at most 32 events by gets')
  },
)

// nats-server acknowledges a Msg-Id whose original is proposed but not yet stored as a duplicate
// with sequence 0 (a resend during a leader change), and keeps doing so if that proposal was lost;
// the log reports it as an unconfirmed duplicate (kit's conversation-log.test). The runner once
// read "the original at 0", which the server refuses as a bad request: the send failed with
// INTERNAL at every resend, for as long as the answer lasted (a chaos run: 30 sends stuck).
const unconfirmed = { ok: false as const, reason: 'unconfirmed-duplicate' as const, uncertain: true as const }

t.test('an unconfirmed duplicate is looked for in the log, never read at 0', async (t) => {
  const { tn, g, d } = await openedDirect(t)
  const log = await createConversationLog(tn.nc, tn.names)
  // The original lands while this gateway's append is answered "duplicate, seq 0": another
  // writer's copy of the same Msg-Id, stored a moment later.
  let inFlight = 0
  const racing = {
    ...log,
    append: async (e: ChatEvent, o: { expectLastSeq?: number; msgId?: string } = {}) => {
      if (o.msgId === 'm-inflight' && inFlight++ === 0) {
        const stored = await log.append(e, o)
        t.ok(stored.ok && stored.seq > 0, 'the original is stored')
        return unconfirmed
      }
      return log.append(e, o)
    },
  }
  const store = await createStateStore(tn.nc, tn.names, log)
  const runner = createCommandRunner(racing, store, { limits })
  const r = await runner.run(d, send(A, 'inflight'), { msgId: 'm-inflight' })
  t.ok(r.ok && r.duplicate && (r.seq ?? 0) > 0, 'answered with the original’s sequence')
  t.equal((await g.store.refresh(d)).n, 1, 'stored once')

  // A proposal that was lost: every append of its Msg-Id is answered "duplicate, seq 0" until the
  // duplicate window (two minutes) drops it, and so was the next id of the chain (a second lost
  // proposal). The event is stored under the chain's third id, not left to BUSY for two minutes
  // (a chaos run: sends unsettled for 60 s), and a resend finds it there.
  const lostIds = new Set(['m-lost', 'm-lost~2'])
  const tried: string[] = []
  const lost = {
    ...log,
    append: async (e: ChatEvent, o: { expectLastSeq?: number; msgId?: string } = {}) => {
      if (o.msgId?.startsWith('m-lost')) tried.push(o.msgId)
      return o.msgId && lostIds.has(o.msgId) ? unconfirmed : log.append(e, o)
    },
  }
  const lostRunner = createCommandRunner(lost, store, { limits })
  const r2 = await lostRunner.run(d, send(A, 'lost'), { msgId: 'm-lost' })
  t.ok(r2.ok && !r2.duplicate && (r2.seq ?? 0) > 0, `stored: ${JSON.stringify(r2)}`)
  t.same(tried, ['m-lost', 'm-lost~2', 'm-lost~3'], 'the chain of ids, in order')
  t.equal((await g.store.refresh(d)).n, 2, 'stored once')
  const again = await lostRunner.run(d, send(A, 'lost'), { msgId: 'm-lost' })
  t.ok(again.ok && again.duplicate && again.seq === (r2.ok ? r2.seq : -1), 'a resend: the stored one')
  t.equal((await g.store.refresh(d)).n, 2, 'still once')
})

// The lost-looking proposal was only slow: the event is stored twice, under two ids of the chain,
// both appended on the same state (the expectation is not serialisable across a leader change).
// The fold accepts the first copy and rejects the second (the same n); the writer of the second
// must answer with the first, not decide again and store the send a second time (a new n).
t.test('a send stored twice answers with its accepted copy, never a third', async (t) => {
  const { tn, g, d } = await openedDirect(t)
  const log = await createConversationLog(tn.nc, tn.names)
  const twice = {
    ...log,
    append: async (e: ChatEvent, o: { expectLastSeq?: number; msgId?: string } = {}) => {
      if (o.msgId !== 'm-twice') return log.append(e, o)
      const slow = await log.append(e, { ...o, msgId: 'm-twice~2' })
      t.ok(slow.ok, 'the slow copy is stored first')
      // The same expectation would fail here on one leader; across a leader change it may not.
      const { expectLastSeq: _, ...withoutExpectation } = o
      return log.append(e, withoutExpectation)
    },
  }
  const store = await createStateStore(tn.nc, tn.names, log)
  const before = await log.lastSeq(d, 'm')
  const r = await createCommandRunner(twice, store, { limits }).run(d, send(A, 'twice'), { msgId: 'm-twice' })
  const s = await g.store.refresh(d)
  t.equal(s.n, 1, 'one message in the fold')
  t.equal(await log.lastSeq(d, 'm'), before + 2, 'two copies in the log, nothing after them')
  t.ok(r.ok && r.duplicate && r.seq === before + 1, `answered with the accepted copy: ${JSON.stringify(r)}`)
})

// The proposal that looked lost lands after all, after its next copy: the fold rejects it (the
// same n), and a resend's duplicate answer names that rejected copy. The resend must find the
// accepted copy before it — it was decided on the state the rejected one names as its Chat-Prev —
// and not decide again (a new n: the send twice).
t.test('a resend answered with a rejected copy finds the accepted one before it', async (t) => {
  const { tn, g, d } = await openedDirect(t)
  const log = await createConversationLog(tn.nc, tn.names)
  let slow: { e: ChatEvent; expected: number } | undefined
  const held = {
    ...log,
    append: async (e: ChatEvent, o: { expectLastSeq?: number; msgId?: string } = {}) => {
      if (o.msgId === 'm-slow' && !slow) {
        slow = { e, expected: o.expectLastSeq ?? 0 }
        return unconfirmed
      }
      return log.append(e, o)
    },
  }
  const store = await createStateStore(tn.nc, tn.names, log)
  const runner = createCommandRunner(held, store, { limits })
  const first = await runner.run(d, send(A, 'slow'), { msgId: 'm-slow' })
  t.ok(first.ok && !first.duplicate && (first.seq ?? 0) > 0, 'stored under the next id')
  // The held proposal is stored now, as a leader that checked its expectation earlier stores it.
  const h = headers()
  h.set(HEADERS.eventType, slow!.e.type)
  h.set(HEADERS.msgId, 'm-slow')
  h.set(HEADERS.prev, String(slow!.expected))
  await tn.nc.request(tn.names.convSubject(d, 'm'), encodeJson(slow!.e), { headers: h, timeout: 5_000 })
  t.equal((await g.store.refresh(d)).n, 1, 'the late copy is rejected: one message')
  const resend = await runner.run(d, send(A, 'slow'), { msgId: 'm-slow' })
  t.ok(
    resend.ok && resend.duplicate && resend.seq === (first.ok ? first.seq : -1),
    `the resend is answered with the accepted copy: ${JSON.stringify(resend)}`,
  )
  t.equal((await g.store.refresh(d)).n, 1, 'still one message')
})

t.test('the chain of Msg-Ids after an unconfirmed duplicate', async (t) => {
  t.equal(nextAfterUnconfirmed('c:u:cm_1'), 'c:u:cm_1~2')
  t.equal(nextAfterUnconfirmed('c:u:cm_1~2'), 'c:u:cm_1~3')
  t.equal(nextAfterUnconfirmed('c:u:cm_1@7~9'), 'c:u:cm_1@7~10')
})
