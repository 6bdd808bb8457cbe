import type { ServerFrameOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { testGateways } from '../support/gateway.js'
import { noticesStored, startProjectorProcess } from '../support/projector.js'
import { isType, TestClient } from '../support/ws-client.js'

const A = 'u_alice0001'
const B = 'u_bob000001'

t.test(
  'a member removed while offline gets what they missed up to the removal, and nothing after',
  async (t) => {
    const tn = await createTestNamespace()
    t.teardown(tn.cleanup)
    // Users learn of new conversations from notices the projector's reactors publish (ADR 0150).
    const projector = await startProjectorProcess(tn)
    t.teardown(projector.kill)
    const gws = await testGateways(tn)
    const g1 = await gws.start()
    t.teardown(() => g1.close())
    const connect = async (user: string, cursors?: Record<string, number>) => {
      const c = await TestClient.open(g1.url, { token: await gws.token(user) })
      t.teardown(() => c.close())
      await c.waitFor(isType('hello'))
      c.send({ type: 'sync', rid: 's', ...(cursors ? { cursors } : {}) })
      return { c, synced: await c.waitFor(isType('synced')) }
    }
    const { c: a } = await connect(A)
    await gws.token(B)
    const grp = (
      (await a.request({ type: 'group.create', title: 'g', memberIds: [B] })) as ServerFrameOf<'ok'>
    ).conversationId!
    await noticesStored(tn, B, 1)
    const { c: b, synced } = await connect(B)
    const cursor = synced.cursors[grp]!
    t.ok(cursor > 0, 'B has the group')
    b.close()
    await b.waitClosed()

    const m1 = (await a.request({
      type: 'send',
      conversationId: grp,
      clientMsgId: 'cm_offrm001',
      kind: 'text',
      text: 'before',
    })) as ServerFrameOf<'sent'>
    const removed = (await a.request({
      type: 'group.remove',
      conversationId: grp,
      userId: B,
    })) as ServerFrameOf<'ok'>
    await a.request({
      type: 'send',
      conversationId: grp,
      clientMsgId: 'cm_offrm002',
      kind: 'text',
      text: 'after',
    })

    await noticesStored(tn, B, 2)
    const { c: back, synced: again } = await connect(B, { [grp]: cursor })
    t.same(
      back.events(grp).map((e) => e.event.type),
      ['message.sent', 'member.removed'],
      'the missed message and the removal, nothing after',
    )
    t.equal(back.events(grp)[0]?.seq, m1.seq)
    t.equal(again.cursors[grp], removed.seq)
    const inbox = back.frames.find(isType('inbox'))!
    t.notOk(
      inbox.conversations.some((x) => x.conversationId === grp),
      'the group is no longer in the inbox',
    )
    const send = await back.request({
      type: 'send',
      conversationId: grp,
      clientMsgId: 'cm_offrm003',
      kind: 'text',
      text: 'x',
    })
    t.equal(send.type === 'error' && send.code, 'NOT_A_MEMBER')
  },
)
