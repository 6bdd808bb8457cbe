import type { ServerFrame, ServerFrameOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { testGateways } from '../support/gateway.js'
import { startProjectorProcess } from '../support/projector.js'
import { openSynced } from '../support/ws-client.js'

const A = 'u_alice0001'
const B = 'u_bob000001'
type Ev = ServerFrameOf<'event'>

t.test(
  'a synced sender gets one frame per event: its message event carries the rid, its own receipts are not echoed',
  async (t) => {
    const tn = await createTestNamespace()
    t.teardown(tn.cleanup)
    // Users learn of new conversations from notices the projector's reactors publish (ADR 0150).
    const projector = await startProjectorProcess(tn)
    t.teardown(projector.kill)
    const gws = await testGateways(tn)
    const gw = await gws.start()
    t.teardown(() => gw.close())
    const open = async (user: string, device = 'dev1') => openSynced(gw.url, await gws.token(user, device), t)
    const a = await open(A)
    const b = await open(B)
    const b2 = await open(B, 'tablet')
    const dm = ((await a.request({ type: 'direct.open', peerId: B })) as ServerFrameOf<'ok'>).conversationId!
    await b.waitFor((f) => f.type === 'event' && f.conversationId === dm)

    const from = a.frames.length
    a.send({
      type: 'send',
      rid: 'm1',
      conversationId: dm,
      clientMsgId: 'cm_frame001',
      kind: 'text',
      text: 'hi',
    })
    const answer = await a.waitFor((f): f is Ev => f.type === 'event' && f.rid === 'm1', 5_000, from)
    t.match(answer, {
      lane: 'm',
      event: { type: 'message.sent', data: { clientMsgId: 'cm_frame001', n: 1 } },
    })
    const toB = await b.waitFor((f): f is Ev => f.type === 'event' && f.seq === answer.seq)
    t.notOk('rid' in toB, 'other connections get the plain event')
    // A ping behind it proves nothing else for the send is on its way.
    await a.request({ type: 'ping' })
    const forSend = (f: ServerFrame) =>
      ('rid' in f && f.rid === 'm1') || (f.type === 'event' && f.seq === answer.seq)
    t.equal(a.frames.slice(from).filter(forSend).length, 1, 'exactly one frame answers and carries the send')

    // B's delivered receipt: A and B's tablet get it, B's phone (which sent it) does not.
    const bFrom = b.frames.length
    b.send({ type: 'receipt', conversationId: dm, kind: 'delivered', upTo: answer.seq })
    const receipt = (f: ServerFrame): f is Ev => f.type === 'event' && f.lane === 'r' && f.event.actor === B
    await a.waitFor(receipt)
    await b2.waitFor(receipt)
    await b.request({ type: 'ping' })
    t.notOk(b.frames.slice(bFrom).some(receipt), 'the device that sent the receipt is not sent it back')

    // A resend (a duplicate) is answered by `sent`, since no new event exists to carry it.
    const dup = await a.request({
      type: 'send',
      conversationId: dm,
      clientMsgId: 'cm_frame001',
      kind: 'text',
      text: 'hi',
      retry: true,
    })
    t.match(dup, { type: 'sent', duplicate: true, seq: answer.seq })
  },
)
