import type { ServerFrameOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { testGateways } from '../support/gateway.js'
import { noticesStored, startProjectorProcess } from '../support/projector.js'
import { isType, TestClient } from '../support/ws-client.js'

const A = 'u_alice0001'
const B = 'u_bob000001'
const C = 'u_carol0001'
const D = 'u_dave00001'

t.test('users on two gateways chat 1:1 and in a group, with receipts, sync and cut-off', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  // Users learn of new conversations from notices the projector's reactors publish (ADR 0150).
  const projector = await startProjectorProcess(tn)
  t.teardown(projector.kill)
  const gws = await testGateways(tn)
  const g1 = await gws.start()
  const g2 = await gws.start()
  t.teardown(() => Promise.all([g1.close(), g2.close()]))

  const connect = async (url: string, user: string, device = 'dev1') => {
    const c = await TestClient.open(url, { token: await gws.token(user, device) })
    t.teardown(() => c.close())
    await c.waitFor(isType('hello'))
    return c
  }
  const syncNow = async (c: TestClient, cursors?: Record<string, number>) => {
    const from = c.frames.length
    const rid = c.nextRid()
    c.send({ type: 'sync', rid, ...(cursors ? { cursors } : {}) })
    return c.waitFor(isType('synced'), 5000, from)
  }

  await gws.token(C)
  await gws.token(D)
  const a = await connect(g1.url, A)
  const b = await connect(g2.url, B)
  await syncNow(a)
  await syncNow(b)

  // 1:1 across gateways
  const opened = await a.request({ type: 'direct.open', peerId: B })
  t.equal(opened.type, 'ok')
  const dm = (opened as ServerFrameOf<'ok'>).conversationId!
  const again = await b.request({ type: 'direct.open', peerId: A })
  t.equal(again.type === 'ok' && again.conversationId, dm, 'the other side opens the same conversation')

  const sent = (await a.request({
    type: 'send',
    conversationId: dm,
    clientMsgId: 'cm_hello001',
    kind: 'text',
    text: 'hi bob',
  })) as ServerFrameOf<'sent'>
  t.equal(sent.type, 'sent')
  t.equal(sent.n, 1)
  const got = await b.waitFor((f): f is ServerFrameOf<'event'> => f.type === 'event' && f.seq === sent.seq)
  t.equal(
    got.event.type === 'message.sent' && got.event.data.text,
    'hi bob',
    'B on gateway 2 receives it live',
  )
  t.ok(got.prev < got.seq, 'with the previous sequence of its lane')

  // retried send: same clientMsgId → same seq, nothing new stored
  const retried = (await a.request({
    type: 'send',
    conversationId: dm,
    clientMsgId: 'cm_hello001',
    kind: 'text',
    text: 'hi bob',
    retry: true,
  })) as ServerFrameOf<'sent'>
  t.equal(retried.seq, sent.seq)
  t.equal(retried.duplicate, true)

  // receipts reach the sender
  b.send({ type: 'receipt', conversationId: dm, kind: 'read', upTo: sent.seq })
  const receipt = await a.waitFor(
    (f): f is ServerFrameOf<'event'> =>
      f.type === 'event' && f.event.type === 'receipt.read' && f.event.actor === B,
  )
  t.equal(receipt.lane, 'r')

  // a non-member is refused
  const d = await connect(g2.url, D)
  await syncNow(d)
  const refused = await d.request({
    type: 'send',
    conversationId: dm,
    clientMsgId: 'cm_intrude1',
    kind: 'text',
    text: 'x',
  })
  t.equal(refused.type === 'error' && refused.code, 'NOT_A_MEMBER')

  // group with C, who is offline
  const created = (await a.request({
    type: 'group.create',
    title: 'trip',
    memberIds: [B, C, D],
  })) as ServerFrameOf<'ok'>
  t.equal(created.type, 'ok')
  const grp = created.conversationId!
  await b.waitFor((f): f is ServerFrameOf<'event'> => f.type === 'event' && f.conversationId === grp)
  const texts = ['one', 'two', 'three']
  for (const [i, text] of texts.entries()) {
    const who = i % 2 ? b : a
    const r = await who.request({
      type: 'send',
      conversationId: grp,
      clientMsgId: `cm_grp0000${i}`,
      kind: 'text',
      text,
    })
    t.equal(r.type, 'sent')
  }
  // a removed member is cut off: receives the removal and nothing after
  const removed = await a.request({ type: 'group.remove', conversationId: grp, userId: D })
  t.equal(removed.type, 'ok')
  await d.waitFor((f): f is ServerFrameOf<'event'> => f.type === 'event' && f.event.type === 'member.removed')
  const after = (await a.request({
    type: 'send',
    conversationId: grp,
    clientMsgId: 'cm_grp00009',
    kind: 'text',
    text: 'after',
  })) as ServerFrameOf<'sent'>
  await b.waitFor((f): f is ServerFrameOf<'event'> => f.type === 'event' && f.seq === after.seq)
  t.notOk(
    d.events(grp).some((e) => e.seq >= after.seq),
    'D gets nothing after the removal',
  )
  const dSend = await d.request({
    type: 'send',
    conversationId: grp,
    clientMsgId: 'cm_grp00010',
    kind: 'text',
    text: 'x',
  })
  t.equal(dSend.type === 'error' && dSend.code, 'NOT_A_MEMBER')

  // C comes online on gateway 2 and gets everything, in order (its index knows the group once the
  // projector published C's notice)
  await noticesStored(tn, C, 1)
  const c = await connect(g2.url, C)
  const synced = await syncNow(c)
  const inbox = c.frames.find(isType('inbox'))!
  const entry = inbox.conversations.find((x) => x.conversationId === grp)
  t.equal(entry?.unread, 4, 'inbox counts four unread messages')
  t.equal(entry?.lastMessage?.text, 'after')
  const msgs = c.events(grp).filter((e) => e.event.type === 'message.sent')
  t.same(
    msgs.map((e) => (e.event.type === 'message.sent' ? e.event.data.text : '')),
    [...texts, 'after'],
  )
  const seqs = c.events(grp).map((e) => e.seq)
  t.same(
    seqs,
    [...seqs].sort((x, y) => x - y),
    'in order',
  )
  t.equal(synced.cursors[grp], Math.max(...seqs))
  t.notOk(
    c.events().some((e) => e.conversationId === dm),
    'C sees nothing of the direct conversation',
  )

  // live after sync, and no duplicates
  const live = (await b.request({
    type: 'send',
    conversationId: grp,
    clientMsgId: 'cm_grp00011',
    kind: 'text',
    text: 'live',
  })) as ServerFrameOf<'sent'>
  await c.waitFor((f): f is ServerFrameOf<'event'> => f.type === 'event' && f.seq === live.seq)
  const all = c.events(grp).map((e) => e.seq)
  t.equal(new Set(all).size, all.length, 'no event twice')

  // C reconnects with its cursor: gets only what came after
  const c2 = await connect(g1.url, C, 'dev2')
  await syncNow(c2, { [grp]: after.seq })
  t.same(
    c2.events(grp).map((e) => e.seq),
    [live.seq],
    'a device with a cursor gets only the events after it',
  )
})
