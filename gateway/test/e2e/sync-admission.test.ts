import type { ServerFrameOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { testGateways, UNTHROTTLED } from '../support/gateway.js'
import { startProjectorProcess } from '../support/projector.js'
import { isType, TestClient } from '../support/ws-client.js'

const HUB = 'u_hub000002'
const user = (i: number) => `u_adm${String(i).padStart(5, '0')}`

t.test(
  'a storm of syncs waits in line: at most SYNC_CONCURRENCY run, past SYNC_QUEUE one is refused UNAVAILABLE with its rid and retryAfterMs, and a retry then syncs everything',
  async (t) => {
    const tn = await createTestNamespace({ shards: 2 })
    t.teardown(tn.cleanup)
    const projector = await startProjectorProcess(tn)
    t.teardown(projector.kill)
    const gws = await testGateways(tn)
    const gw = await gws.start({
      syncConcurrency: 1,
      syncQueue: 2,
      limits: UNTHROTTLED,
    })
    t.teardown(() => gw.close())
    const hub = await TestClient.open(gw.url, { token: await gws.token(HUB) })
    t.teardown(() => hub.close())
    await hub.waitFor(isType('hello'))
    const N = 8
    const dms: string[] = []
    for (let i = 0; i < N; i++) {
      await gws.token(user(i))
      const ok = (await hub.request({ type: 'direct.open', peerId: user(i) })) as ServerFrameOf<'ok'>
      dms.push(ok.conversationId!)
      for (let k = 0; k < 3; k++)
        await hub.request({
          type: 'send',
          conversationId: dms[i],
          clientMsgId: `cm_adm${i}x${k}`,
          kind: 'text',
          text: `m${k}`,
        })
    }
    // The first device catches up on a long history, so its sync holds the one slot while the
    // others arrive.
    for (let k = 0; k < 150; k++)
      await hub.request({
        type: 'send',
        conversationId: dms[0],
        clientMsgId: `cm_long${k}`,
        kind: 'text',
        text: `l${k}`,
      })
    const clients = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const c = await TestClient.open(gw.url, { token: await gws.token(user(i)) })
        t.teardown(() => c.close())
        await c.waitFor(isType('hello'), 10_000)
        return c
      }),
    )
    clients[0]!.send({ type: 'sync', rid: 's0', cursors: { [dms[0]!]: 0 } })
    for (let i = 1; i < N; i++) clients[i]!.send({ type: 'sync', rid: `s${i}`, cursors: { [dms[i]!]: 0 } })
    const outcomes = await Promise.all(
      clients.map((c, i) =>
        c.waitFor(
          (f) => (f.type === 'synced' || f.type === 'error') && 'rid' in f && f.rid === `s${i}`,
          20_000,
        ),
      ),
    )
    const refused = outcomes.flatMap((f, i) => (f.type === 'error' ? [i] : []))
    t.equal(refused.length, N - 3, 'one running and two waiting were admitted; the rest refused at once')
    for (const i of refused) {
      const e = outcomes[i] as ServerFrameOf<'error'>
      t.equal(e.code, 'UNAVAILABLE')
      t.ok((e.retryAfterMs ?? 0) >= 250, `retryAfterMs ${e.retryAfterMs}`)
    }
    // The refused devices sync again, one after another, on the same connections.
    for (const i of refused) {
      clients[i]!.send({ type: 'sync', rid: `again${i}`, cursors: { [dms[i]!]: 0 } })
      await clients[i]!.waitFor((f) => f.type === 'synced' && f.rid === `again${i}`, 20_000)
    }
    for (let i = 0; i < N; i++) {
      const events = clients[i]!.frames.filter(
        (f) => f.type === 'event' && f.conversationId === dms[i] && f.event.type === 'message.sent',
      )
      t.equal(
        events.length,
        i === 0 ? 153 : 3,
        `device ${i} got every message of its conversation (${events.length})`,
      )
    }
  },
)
