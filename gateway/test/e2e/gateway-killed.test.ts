import type { ServerFrame, ServerFrameOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { generatePrivateKeyPem } from '../../src/accounts/token-service.js'
import { testGateways } from '../support/gateway.js'
import { startGatewayProcess } from '../support/gateway-process.js'
import { startProjectorProcess } from '../support/projector.js'
import { isType, TestClient } from '../support/ws-client.js'

const isEvent =
  (seq: number) =>
  (f: ServerFrame): f is ServerFrameOf<'event'> =>
    f.type === 'event' && f.seq === seq

t.test(
  'a gateway killed mid-conversation: its clients reconnect to the other and lose nothing',
  async (t) => {
    const tn = await createTestNamespace()
    t.teardown(tn.cleanup)
    // Users learn of new conversations from notices the projector's reactors publish (ADR 0150).
    const projector = await startProjectorProcess(tn)
    t.teardown(projector.kill)
    const pem = generatePrivateKeyPem()
    const gws = await testGateways(tn, pem)
    const g1 = await gws.start()
    t.teardown(() => g1.close())

    // Gateway 2 is the real main.ts in a child process, on the same namespace and signing key.
    const g2 = await startGatewayProcess(tn, {}, { privateKeyPem: pem })
    const child = g2.proc
    t.teardown(() => g2.stop())
    const port = g2.port
    const g2url = `ws://127.0.0.1:${port}/v1/ws`

    // Real accounts, registered through the HTTP API of the real gateway process.
    const register = async (username: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          username,
          password: 'correct horse battery staple 42',
          displayName: username,
        }),
      })
      t.equal(res.status, 201, `registered ${username}`)
      const { userId } = (await res.json()) as { userId: string }
      gws.users.add(userId)
      return userId
    }
    const A = await register(`alice${tn.ns.slice(-6)}`)
    const B = await register(`bob${tn.ns.slice(-6)}`)

    const connect = async (url: string, user: string, cursors?: Record<string, number>) => {
      const c = await TestClient.open(url, { token: await gws.token(user) })
      t.teardown(() => c.close())
      await c.waitFor(isType('hello'))
      c.send({ type: 'sync', rid: 's', ...(cursors ? { cursors } : {}) })
      await c.waitFor(isType('synced'))
      return c
    }
    const a = await connect(g2url, A)
    const b = await connect(g1.url, B)
    const opened = (await a.request({ type: 'direct.open', peerId: B })) as ServerFrameOf<'ok'>
    const dm = opened.conversationId!
    const m1 = (await a.request({
      type: 'send',
      conversationId: dm,
      clientMsgId: 'cm_kill0001',
      kind: 'text',
      text: 'one',
    })) as ServerFrameOf<'sent'>
    await b.waitFor(isEvent(m1.seq))
    const b1 = (await b.request({
      type: 'send',
      conversationId: dm,
      clientMsgId: 'cm_kill0002',
      kind: 'text',
      text: 'two',
    })) as ServerFrameOf<'sent'>
    await a.waitFor(isEvent(b1.seq))
    const cursor = Math.max(...a.events(dm).map((e) => e.seq))

    // A sends and the gateway dies before A can know whether it was stored.
    a.send({
      type: 'send',
      rid: 'lost',
      conversationId: dm,
      clientMsgId: 'cm_kill0003',
      kind: 'text',
      text: 'three',
    })
    child.kill('SIGKILL')
    await a.waitClosed(10_000)
    // Meanwhile B goes on.
    const b2 = (await b.request({
      type: 'send',
      conversationId: dm,
      clientMsgId: 'cm_kill0004',
      kind: 'text',
      text: 'four',
    })) as ServerFrameOf<'sent'>

    // A reconnects to gateway 1 with its cursor and resends what was not acknowledged.
    const a2 = await connect(g1.url, A, { [dm]: cursor })
    const resent = (await a2.request({
      type: 'send',
      conversationId: dm,
      clientMsgId: 'cm_kill0003',
      kind: 'text',
      text: 'three',
      retry: true,
    })) as ServerFrameOf<'sent'>
    t.equal(resent.type, 'sent')
    await a2.waitFor(isEvent(b2.seq))
    await b.waitFor(isEvent(resent.seq))

    const texts = (c: TestClient) =>
      c.events(dm).flatMap((e) => (e.event.type === 'message.sent' ? [e.event.data.text] : []))
    t.same([...texts(b)].sort(), ['four', 'one', 'three', 'two'], 'B has every message, once')
    t.equal(texts(b).filter((x) => x === 'three').length, 1, 'the resent message is stored once')
    t.ok(texts(a2).includes('four'), 'A got what was sent while it was away')
    t.notOk(texts(a2).includes('two'), 'and nothing at or before its cursor')
    const seqs = a2.events(dm).map((e) => e.seq)
    t.same(
      seqs,
      [...new Set(seqs)].sort((x, y) => x - y),
      'in order, without duplicates',
    )
  },
)
