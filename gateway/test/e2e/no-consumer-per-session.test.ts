import type { ServerFrameOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { jetstreamManager } from '@chatapp/kit'
import t from 'tap'
import { testGateways, UNTHROTTLED } from '../support/gateway.js'
import { startProjectorProcess } from '../support/projector.js'
import { isType, TestClient } from '../support/ws-client.js'

const HUB = 'u_hub000001'
const user = (i: number) => `u_user${String(i).padStart(5, '0')}`

t.test(
  'sessions, syncs, long catch-ups and presence leave no JetStream consumer behind, however many there are',
  async (t) => {
    const tn = await createTestNamespace({ shards: 2 })
    t.teardown(tn.cleanup)
    // Users learn of new conversations from notices the projector's reactors publish (ADR 0150).
    const projector = await startProjectorProcess(tn)
    t.teardown(projector.kill)
    const jsm = await jetstreamManager(tn.nc)
    // Consumers without a durable name: what reads and sessions could leave behind. Unfiltered
    // ones on conversation streams are the projector's shard readers (O(shards), re-created when
    // it re-positions under load): every read of the gateway names its subject.
    const consumers = async () => {
      let total = 0
      for await (const s of jsm.streams.list()) {
        if (!s.config.name.startsWith(`${tn.ns}-`) && !s.config.name.startsWith(`KV_${tn.ns}-`)) continue
        for await (const c of jsm.consumers.list(s.config.name)) {
          const projectors = !c.config.filter_subject && s.config.name.startsWith(`${tn.ns}-conv-`)
          if (!c.config.durable_name && !projectors) total++
        }
      }
      return total
    }
    const gws = await testGateways(tn)
    const gw = await gws.start({
      limits: UNTHROTTLED,
    })
    t.teardown(() => gw.close())
    const hub = await TestClient.open(gw.url, { token: await gws.token(HUB) })
    t.teardown(() => hub.close())
    await hub.waitFor(isType('hello'))
    const N = 24
    const dms: string[] = []
    for (let i = 0; i < N; i++) {
      await gws.token(user(i))
      dms.push(
        ((await hub.request({ type: 'direct.open', peerId: user(i) })) as ServerFrameOf<'ok'>)
          .conversationId!,
      )
    }
    // One conversation long enough that catching up on it goes through a consumer.
    for (let k = 0; k < 150; k++)
      await hub.request({
        type: 'send',
        conversationId: dms[0],
        clientMsgId: `cm_long${String(k).padStart(4, '0')}`,
        kind: 'text',
        text: `m${k}`,
      })

    // Counted once the projector is at work (the notices of these conversations came from it):
    // its shard consumers start on their own schedule after its readiness, and are O(shards).
    const before = await consumers()
    const session = async (i: number, cursor?: number) => {
      const c = await TestClient.open(gw.url, { token: await gws.token(user(i), `dev${cursor ?? 'x'}`) })
      await c.waitFor(isType('hello'))
      c.send({
        type: 'sync',
        rid: 's',
        ...(cursor !== undefined ? { cursors: { [dms[i]!]: cursor } } : { tail: 500 }),
      })
      const synced = await c.waitFor(isType('synced'), 20_000)
      c.send({ type: 'presence.subscribe', rid: 'p', userIds: [HUB, user((i + 1) % N)] })
      await c.waitFor((f) => f.type === 'ok' && f.rid === 'p')
      return { c, synced }
    }
    for (let round = 0; round < 3; round++) {
      const all = await Promise.all(
        Array.from({ length: N }, (_, i) => session(i, round === 2 ? 0 : undefined)),
      )
      t.ok(all[0]!.synced.cursors[dms[0]!]! > 150, 'the long conversation was caught up in full')
      for (const { c } of all) c.close()
      await Promise.all(all.map(({ c }) => c.waitClosed()))
    }
    // Presence keeps no consumer (ADR 0174: the gateways answer queries); long reads delete
    // theirs when they end (ADR 0081).
    t.ok(
      (await consumers()) - before <= 1,
      `consumers after ${3 * N} sessions: ${(await consumers()) - before}`,
    )
  },
)
