import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { createAppender } from '../../src/conversations/appender.js'
import type { Command } from '../../src/conversations/decide.js'
import { directConversationId } from '../../src/conversations/direct-id.js'
import { createConversationLog } from '../../src/conversations/log.js'
import { createConversationStore } from '../../src/conversations/store.js'
import { loadUserConversations } from '../../src/conversations/user-index.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const C = 'u_cccccccc'
const known = new Set([A, B, C])
const limits = { maxTextLength: 100, maxCaptionLength: 100, maxGroupMembers: 10 }

t.test('two gateways append to one conversation with dense numbers, dedupe and notices', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  // Two independent shells over the same log: two gateways.
  const gw = async () => {
    const log = await createConversationLog(tn.nc, tn.names)
    const store = await createConversationStore(tn.nc, tn.names, log, { snapshotEvery: 3 })
    return { log, store, app: createAppender(log.js, tn.names, log, store, { limits }) }
  }
  const g1 = await gw()
  const g2 = await gw()

  const d = directConversationId(A, B)
  const o1 = await g1.app.execute(d, { type: 'direct.open', actor: A, peerId: B, known })
  const o2 = await g2.app.execute(d, { type: 'direct.open', actor: B, peerId: A, known })
  t.ok(o1.ok && o1.seq === 1, 'the first open creates the conversation')
  t.ok(o2.ok && o2.seq === undefined, 'the second open finds it (expected sequence 0 refused)')

  const send = (actor: string, i: number): Command => ({
    type: 'send',
    actor,
    deviceId: 'dev',
    clientMsgId: `cm_${actor}_${i}`,
    kind: 'text',
    text: `m${i}`,
  })
  const outs = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      (i % 2 ? g1 : g2).app.execute(d, send(i % 2 ? A : B, i), { msgId: `${d}:${i % 2 ? A : B}:cm_${i}` }),
    ),
  )
  const ns = outs
    .map((o) => (o.ok && o.event?.type === 'message.sent' ? o.event.data.n : -1))
    .sort((a, b) => a - b)
  t.same(ns, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'concurrent sends from two gateways get dense n')

  const again = await g2.app.execute(d, send(B, 0), { msgId: `${d}:${B}:cm_0` })
  const first = outs[0]!
  t.ok(again.ok && again.duplicate, 'a retried send is a duplicate')
  t.equal(again.ok && again.seq, first.ok && first.seq, 'and returns the original sequence')
  t.ok(again.ok && again.event?.type === 'message.sent' && again.event.data.n === 1, 'with its original n')

  const refused = await g1.app.execute(d, send(C, 1))
  t.same(refused, { ok: false, code: 'NOT_A_MEMBER' })

  const g = 'c_grouptest1'
  const created = await g1.app.execute(g, {
    type: 'group.create',
    actor: A,
    title: 'g',
    memberIds: [B],
    known,
  })
  t.ok(created.ok)
  // g2 has a stale cache that does not know the group yet, and still sees the add correctly.
  await g2.store.get(g)
  t.ok((await g2.app.execute(g, { type: 'group.add', actor: A, userId: C, known })).ok)
  t.ok((await g1.app.execute(g, { type: 'group.remove', actor: A, userId: B })).ok)
  t.same(await g1.app.execute(g, send(B, 99)), { ok: false, code: 'NOT_A_MEMBER' }, 'removed member refused')

  const conv = await loadUserConversations(g1.log.js, g1.log.jsm, tn.names, B)
  t.ok(conv.has(d), 'B is in the direct conversation')
  t.notOk(conv.has(g), 'B left the group by removal')
  t.ok((await loadUserConversations(g1.log.js, g1.log.jsm, tn.names, C)).has(g))

  // A cold gateway loads from the snapshot plus the tail.
  const g3 = await gw()
  const s = await g3.store.get(d)
  t.equal(s.n, 10)
  t.same([...s.members.keys()].sort(), [A, B])
  const events = []
  for await (const e of g3.log.read(d, 0, await g3.log.lastSeq(d, 'm'))) events.push(e.seq)
  t.equal(events.length, 11)
})

t.test('retries answered from the durable record keep their order and return the original', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  const log = await createConversationLog(tn.nc, tn.names)
  const store = await createConversationStore(tn.nc, tn.names, log, {})
  const app = createAppender(log.js, tn.names, log, store, { limits })
  const d = directConversationId(A, B)
  await app.execute(d, { type: 'direct.open', actor: A, peerId: B, known })
  const send = (i: number): Command => ({
    type: 'send',
    actor: A,
    deviceId: 'dev',
    clientMsgId: `cm_order_${i}`,
    kind: 'text',
    text: `r${i}`,
  })
  const stored = await app.execute(d, send(0), { msgId: `${d}:${A}:cm_order_0` })

  // The first retry's lookup is slow; the second's would answer at once. The second must not
  // overtake the first, or pipelined resends after a reconnect would be stored out of order.
  let releaseFirst: (seq: number | undefined) => void = () => {}
  const firstLookup = new Promise<number | undefined>((resolve) => {
    releaseFirst = resolve
  })
  let secondAsked = false
  const first = app.execute(d, send(1), { msgId: `${d}:${A}:cm_order_1`, recorded: () => firstLookup })
  const second = app.execute(d, send(2), {
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
  const late = await app.execute(d, send(0), {
    msgId: `${d}:${A}:cm_order_0_late`,
    recorded: async () => (stored.ok ? stored.seq : undefined),
  })
  t.ok(late.ok && late.duplicate && late.seq === (stored.ok && stored.seq), 'the original sequence')
  t.ok(late.ok && late.event?.type === 'message.sent' && late.event.data.text === 'r0', 'and its event')
})
