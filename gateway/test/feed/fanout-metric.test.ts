import type { ServerFrameOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { Registry } from 'prom-client'
import t from 'tap'
import { devicesClass } from '../../src/feed/rooms.js'
import { testGateways } from '../support/gateway.js'
import { startProjectorProcess } from '../support/projector.js'
import { openSynced } from '../support/ws-client.js'

const A = 'u_alice0001'
const B = 'u_bob000001'

t.test('room sizes fall into few label values', async (t) => {
  t.same([1, 2, 16, 17, 256, 257, 1024].map(devicesClass), [
    '1',
    '2-16',
    '2-16',
    '17-256',
    '17-256',
    '257+',
    '257+',
  ])
})

/**
 * `live_fanout_seconds`: a message's arrival at the gateway to its last local device, by the
 * room's local devices. The benchmark reads it to split send → last member into the gateway's
 * share and the rest (ADR 0175). A receipt is not a message: it is not counted.
 */
t.test('each message delivered live is timed once, in its room size class; receipts are not', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  const projector = await startProjectorProcess(tn)
  t.teardown(projector.kill)
  const registry = new Registry()
  const gws = await testGateways(tn)
  const gw = await gws.start({}, { registry })
  t.teardown(() => gw.close())
  const open = async (user: string, device = 'dev1') => openSynced(gw.url, await gws.token(user, device), t)
  /** A series of the histogram (`_count`, `_sum`) for one devices class. */
  const series = async (name: string, devices: string): Promise<number> => {
    const values = (await registry.getSingleMetric('live_fanout_seconds')!.get()).values as {
      metricName?: string
      labels: Record<string, string | number>
      value: number
    }[]
    return values.find((v) => v.metricName === name && v.labels.devices === devices)?.value ?? 0
  }
  const count = (devices: string) => series('live_fanout_seconds_count', devices)
  const a = await open(A)
  const b = await open(B)
  await open(B, 'tablet')
  const dm = ((await a.request({ type: 'direct.open', peerId: B })) as ServerFrameOf<'ok'>).conversationId!
  await b.waitFor((f) => f.type === 'event' && f.conversationId === dm)
  const before = await count('2-16')
  for (let i = 1; i <= 3; i++) {
    const sent = (await a.request({
      type: 'send',
      conversationId: dm,
      clientMsgId: `cm_fanout00${i}`,
      kind: 'text',
      text: `m${i}`,
    })) as ServerFrameOf<'event'>
    await b.waitFor((f) => f.type === 'event' && f.seq === sent.seq)
    b.send({ type: 'receipt', conversationId: dm, kind: 'delivered', upTo: sent.seq })
    await a.waitFor((f) => f.type === 'event' && f.lane === 'r' && f.event.actor === B && f.seq > sent.seq)
  }
  t.equal((await count('2-16')) - before, 3, 'three messages in a room of three local devices')
  t.equal(await count('1'), 0, 'nothing in another class')
  const bounds = (
    (await registry.getSingleMetric('live_fanout_seconds')!.get()).values as {
      metricName?: string
      labels: Record<string, string | number>
    }[]
  )
    .filter((v) => v.metricName === 'live_fanout_seconds_bucket' && v.labels.devices === '2-16')
    .map((v) => v.labels.le)
  t.match(
    bounds,
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.05],
    '5-ms steps to 35 ms',
  )
  const sum = await series('live_fanout_seconds_sum', '2-16')
  t.ok(sum > 0 && sum < 3 * 5, `a time was measured (${sum.toFixed(4)} s in all)`)
})
