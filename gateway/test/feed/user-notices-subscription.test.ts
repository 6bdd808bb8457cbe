import type { ServerFrameOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { connectNats, createLogger } from '@chatapp/kit'
import t from 'tap'
import { testGateways } from '../support/gateway.js'
import { startProjectorProcess } from '../support/projector.js'
import { isType, TestClient } from '../support/ws-client.js'

/** Subscriptions a nats.js connection holds (its protocol's table: what the server is told of). */
const subscriptions = (nc: object): number =>
  (nc as { protocol: { subscriptions: { size(): number } } }).protocol.subscriptions.size()

const user = (i: number) => `u_sub${String(i).padStart(5, '0')}`

t.test(
  'online users cost the NATS server no subscription each: one gateway-wide subscription carries every membership notice, and a user still learns of a new conversation at once',
  async (t) => {
    const tn = await createTestNamespace()
    t.teardown(tn.cleanup)
    const projector = await startProjectorProcess(tn)
    t.teardown(projector.kill)
    // The gateway on a connection of its own, so what it subscribes is all that is counted.
    const nc = await connectNats(tn.stack.natsUrl, 'gw-subs', createLogger('t', 'silent'))
    t.teardown(() => nc.close())
    const gws = await testGateways(tn)
    const gw = await gws.start({}, { nc })
    t.teardown(() => gw.close())
    const before = subscriptions(nc)
    const N = 20
    const clients = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const c = await TestClient.open(gw.url, { token: await gws.token(user(i)) })
        t.teardown(() => c.close())
        await c.waitFor(isType('hello'))
        c.send({ type: 'sync', rid: 's' })
        await c.waitFor(isType('synced'))
        return c
      }),
    )
    t.ok(subscriptions(nc) - before <= 0, `subscriptions added by ${N} users: ${subscriptions(nc) - before}`)
    // The notices still arrive: a conversation opened by user 0 with user 1 reaches user 1 live.
    const ok = (await clients[0]!.request({ type: 'direct.open', peerId: user(1) })) as ServerFrameOf<'ok'>
    await clients[1]!.waitFor((f) => f.type === 'event' && f.conversationId === ok.conversationId, 10_000)
    t.pass('the new conversation reached the other user through the shared subscription')
  },
)
