import { presenceChangeDecoder, type ServerFrame, type ServerFrameOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { testGateways } from '../support/gateway.js'
import { startProjectorProcess } from '../support/projector.js'
import { isType, TestClient } from '../support/ws-client.js'

const A = 'u_alice0001'
const B = 'u_bob000001'
const C = 'u_carol0001'

type Ev = ServerFrameOf<'event'>
const receiptBy =
  (actor: string, upTo: number) =>
  (f: ServerFrame): f is Ev =>
    f.type === 'event' &&
    f.event.type === 'receipt.read' &&
    f.event.actor === actor &&
    f.event.data.upTo === upTo

t.test(
  'group receipts reach the covered sender and the reader’s devices; typing, presence, resync',
  async (t) => {
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
      const from = c.frames.length
      c.send({ type: 'sync', rid: 'first' })
      await c.waitFor(isType('synced'), 5000, from)
      return c
    }
    const a = await connect(g1.url, A)
    const b = await connect(g2.url, B)
    const b2 = await connect(g1.url, B, 'tablet')
    const c = await connect(g2.url, C)

    const grp = (
      (await a.request({ type: 'group.create', title: 'g', memberIds: [B, C] })) as ServerFrameOf<'ok'>
    ).conversationId!
    const m1 = (await a.request({
      type: 'send',
      conversationId: grp,
      clientMsgId: 'cm_rcpt0001',
      kind: 'text',
      text: 'hi',
    })) as ServerFrameOf<'sent'>
    await c.waitFor((f): f is Ev => f.type === 'event' && f.seq === m1.seq)

    // B reads A's message: A (the sender) and B's tablet see it; C (neither) does not.
    b.send({ type: 'receipt', conversationId: grp, kind: 'read', upTo: m1.seq })
    const toA = await a.waitFor(receiptBy(B, m1.seq))
    t.equal(toA.lane, 'r')
    t.equal(toA.prev, 0, 'the first receipt on this connection has prev 0')
    await b2.waitFor(receiptBy(B, m1.seq))
    // C's own next message proves C's stream moved past the receipt without it.
    const m2 = (await c.request({
      type: 'send',
      conversationId: grp,
      clientMsgId: 'cm_rcpt0002',
      kind: 'text',
      text: 'yo',
    })) as ServerFrameOf<'sent'>
    await c.waitFor((f): f is Ev => f.type === 'event' && f.seq === m2.seq)
    t.notOk(c.frames.some(receiptBy(B, m1.seq)), 'a member who sent nothing covered does not get the receipt')
    // A lower watermark is ignored: no event.
    b.send({ type: 'receipt', conversationId: grp, kind: 'read', upTo: m1.seq - 1 })
    b.send({ type: 'receipt', conversationId: grp, kind: 'read', upTo: m2.seq })
    const toC = await c.waitFor(receiptBy(B, m2.seq))
    t.ok(toC.prev === 0, 'C gets the receipt covering its message, prev chained per connection')
    // A's next message, read by B: the receipt reaches A, chained to the last receipt A was sent.
    const m3 = (await a.request({
      type: 'send',
      conversationId: grp,
      clientMsgId: 'cm_rcpt0003',
      kind: 'text',
      text: 'again',
    })) as ServerFrameOf<'sent'>
    await b.waitFor((f): f is Ev => f.type === 'event' && f.seq === m3.seq)
    b.send({ type: 'receipt', conversationId: grp, kind: 'read', upTo: m3.seq })
    const toA3 = await a.waitFor(receiptBy(B, m3.seq))
    const toAprev = a.frames
      .filter((f): f is Ev => f.type === 'event' && f.lane === 'r' && f.seq < toA3.seq)
      .at(-1)
    t.equal(toA3.prev, toAprev?.seq, 'A’s receipt lane chains by what A was sent')
    t.notOk(a.frames.some(receiptBy(B, m1.seq - 1)))

    // Receipts beyond the end, and on foreign conversations, are refused.
    b.send({ type: 'receipt', conversationId: grp, kind: 'read', upTo: 1_000_000 })
    const beyond = await b.waitFor(isType('error'))
    t.equal(beyond.code, 'INVALID_FRAME', 'a watermark beyond the conversation is refused')

    // Typing goes to the other connected members, not back to the typist.
    a.send({ type: 'typing', conversationId: grp, active: true })
    const typing = await c.waitFor(isType('typing'))
    t.same(typing, { type: 'typing', conversationId: grp, userId: A, active: true })
    await b2.waitFor(isType('typing'))
    t.notOk(a.frames.some(isType('typing')))

    // Presence: C watches A and D; A is online; D (never connected) is offline.
    const from = c.frames.length
    c.send({ type: 'presence.subscribe', rid: 'pr', userIds: [A, 'u_dave00001'] })
    const pa = await c.waitFor(
      (f): f is ServerFrameOf<'presence'> => f.type === 'presence' && f.userId === A,
      5000,
      from,
    )
    t.equal(pa.online, true)
    const pd = await c.waitFor(
      (f): f is ServerFrameOf<'presence'> => f.type === 'presence' && f.userId === 'u_dave00001',
      5000,
      from,
    )
    t.same([pd.online, pd.lastSeen], [false, null])
    a.close()
    const off = await c.waitFor(
      (f): f is ServerFrameOf<'presence'> => f.type === 'presence' && f.userId === A && !f.online,
      5000,
      from,
    )
    t.ok(off.lastSeen && off.lastSeen > 0, 'offline with lastSeen when the last device leaves')

    // B is on two gateways: closing one leaves B online.
    const changes = tn.nc.subscribe(tn.names.presenceChangesSubject)
    b2.close()
    let wroteOffline = false
    const deadline = setTimeout(() => changes.unsubscribe(), 5000)
    for await (const m of changes) {
      const c = presenceChangeDecoder.decode(m.data)
      if (c.ok && c.value.userId === B && !c.value.value.online) {
        wroteOffline = true
        break
      }
    }
    clearTimeout(deadline)
    changes.unsubscribe()
    t.ok(wroteOffline, 'the gateway B left published that B left it')
    const from2 = c.frames.length
    c.send({ type: 'presence.subscribe', rid: 'pr2', userIds: [B] })
    const pb = await c.waitFor(
      (f): f is ServerFrameOf<'presence'> => f.type === 'presence' && f.userId === B,
      5000,
      from2,
    )
    t.equal(pb.online, true, 'still online through the other gateway')

    // A later sync on a live connection replays from the cursor it names (a client filling a hole).
    const before = c.frames.length
    c.send({ type: 'sync', rid: 'hole', cursors: { [grp]: m1.seq - 1 } })
    const synced = await c.waitFor(isType('synced'), 5000, before)
    const replay = c.frames.slice(before).filter(isType('event'))
    t.same(
      replay.filter((e) => e.lane === 'm').map((e) => e.seq),
      [m1.seq, m2.seq, m3.seq],
      'the replay has every m event after the cursor',
    )
    t.equal(synced.rid, 'hole')
    t.ok(synced.cursors[grp]! >= m3.seq)
  },
)
