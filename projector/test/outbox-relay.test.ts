import { storedByMsgId } from '@chatapp/infra'
import { jetstreamManager } from '@nats-io/jetstream'
import { Registry } from 'prom-client'
import t from 'tap'
import type { OutboxRow } from '../src/core/outbox-rows.js'
import { jetStreamSink } from '../src/outbox-relay.js'
import { rebuild } from '../src/rebuild.js'
import { created, ev, sent, U } from './support/events.js'
import { append, waitFor } from './support/log.js'
import { viewsNamespace } from './support/views-namespace.js'

/**
 * The reactors of ADR 0150: the effects of admitted events reach their subjects exactly once per
 * effect id, through the outbox written with the views; a publication that fails waits in the
 * outbox for the next drain; a rebuild publishes nothing again.
 */
const { tn, n, js, pool, q, offsetOf, start } = await viewsNamespace(1)
const jsm = await jetstreamManager(tn.nc)
const userEffects = () => storedByMsgId(jsm, n.userStream, `${n.ns}.user.>`)
const jobs = () => storedByMsgId(jsm, n.mediaJobStream, n.mediaJobsAll)
const outbox = async () =>
  (await q('SELECT id FROM V.effect_outbox ORDER BY seq, id')).map((r) => r.id as string)

const photo = { mediaId: 'm_relay0001', kind: 'image' as const, mime: 'image/jpeg', size: 10 }

t.test(
  'each effect of an admitted event is published once, under its id, and leaves the outbox',
  async (t) => {
    const registry = new Registry()
    const p = await start({ registry })
    t.teardown(p.stop)
    const conv = 'c_relay0001'
    const c1 = await append(js, n, { ...created(conv), data: { ...created(conv).data, invited: [U.dan] } })
    const c2 = await append(js, n, ev('member.removed', conv, U.ann, { userId: U.cat }))
    // Rejected (cat is no member any more): it has no effect.
    await append(js, n, ev('member.left', conv, U.cat, { userId: U.cat }))
    const c4 = await append(js, n, ev('member.joined', conv, U.dan, { userId: U.dan }))
    const c5 = await append(
      js,
      n,
      ev('message.sent', conv, U.ann, {
        clientMsgId: 'cm-photo',
        deviceId: 'd',
        n: 1,
        kind: 'image',
        media: photo,
      }),
    )
    const expected = [
      ...[U.ann, U.bob, U.cat].map((u) => `${conv}:${c1}:${u}`),
      `${conv}:${c1}:${U.dan}:invitation`,
      `${conv}:${c2}:${U.cat}`,
      `${conv}:${c4}:${U.dan}`,
      `${conv}:${c4}:${U.dan}:invitation`,
    ].sort()
    const stored = await waitFor(
      async () => {
        const s = await userEffects()
        return s.size >= expected.length ? s : undefined
      },
      10_000,
      'every notice',
    )
    t.same([...stored!.keys()].sort(), expected)
    t.ok(
      [...stored!.values()].every((k) => k === 1),
      'each once',
    )
    t.same([...(await jobs())], [[`m_relay0001:${conv}`, 1]], 'the media job, once')
    const pushJobs = [...(await storedByMsgId(jsm, n.pushJobStream, n.pushJobsAll))]
    t.equal(pushJobs.length, 1, 'the message’s batch has one push job (ADR 0193)')
    const [id, count] = pushJobs[0]!
    t.equal(count, 1, 'stored once')
    const first = Number(/^push:0:(\d+):0$/.exec(id)?.[1])
    t.ok(first >= c1 && first <= c5, 'named by its batch’s first sequence')
    await waitFor(async () => (await outbox()).length === 0, 10_000, 'an empty outbox')
    t.match(await registry.metrics(), /projector_effects_published_total\{path="commit"\} 9/)
    await p.stop()
    t.ok((await offsetOf(0)) >= c5)
  },
)

t.test('a publication that fails waits in the outbox and is published by a later drain', async (t) => {
  const registry = new Registry()
  let failing = true
  const real = jetStreamSink(tn.nc)
  const p = await start({
    registry,
    outboxDrainMs: 200,
    sink: {
      publish: async (row: OutboxRow) => {
        if (failing) throw new Error('NATS is away')
        await real.publish(row)
      },
    },
  })
  t.teardown(p.stop)
  const conv = 'c_relay0002'
  const before = await userEffects()
  const seq = await append(js, n, created(conv, [U.ann, U.bob]))
  await waitFor(async () => (await outbox()).length === 2, 10_000, 'the effects in the outbox')
  await waitFor(
    async () => /projector_effect_publish_failures_total [1-9]/.test(await registry.metrics()),
    10_000,
    'a failed round',
  )
  t.equal((await userEffects()).size, before.size, 'nothing published while failing')
  failing = false
  await waitFor(async () => (await outbox()).length === 0, 10_000, 'the drain')
  const after = await userEffects()
  t.equal(after.get(`${conv}:${seq}:${U.ann}`), 1)
  t.equal(after.get(`${conv}:${seq}:${U.bob}`), 1)
  t.match(await registry.metrics(), /projector_effects_published_total\{path="drain"\} 2/)
  t.match(await registry.metrics(), /projector_outbox_rows\{shard="0"\} 0/)
})

t.test('a rebuild publishes nothing again, and carries the effects still waiting', async (t) => {
  const p = await start()
  const conv = 'c_relay0003'
  const seq = await append(js, n, created(conv, [U.ann, U.cat]))
  await waitFor(async () => (await offsetOf(0)) >= seq && (await outbox()).length === 0, 10_000, 'relayed')
  await p.stop()
  const before = await userEffects()
  // What a crash would leave: an effect committed and not yet published.
  await q(
    `INSERT INTO V.effect_outbox (id, shard, seq, subject, payload) VALUES ('waiting', 0, $1, 'x', '{}')`,
    [seq],
  )
  const { jetstream } = await import('@nats-io/jetstream')
  await rebuild({
    js: jetstream(tn.nc),
    jsm,
    pool,
    databaseUrl: tn.stack.databaseUrl,
    names: n,
    batch: 100,
  })
  t.same(await userEffects(), before, 'no notice published twice by the refill from sequence 1')
  t.same(await outbox(), ['waiting'], 'the waiting effect moved with the switch-over')
  await q(`DELETE FROM V.effect_outbox WHERE id = 'waiting'`)
  t.equal((await q('SELECT count(*)::int AS c FROM V.members WHERE conversation_id = $1', [conv]))[0].c, 2)
})

t.test('sent text messages add no work to the outbox', async (t) => {
  const p = await start()
  t.teardown(p.stop)
  const conv = 'c_relay0004'
  const seq = await append(js, n, created(conv, [U.ann, U.bob]))
  await waitFor(
    async () => (await offsetOf(0)) >= seq && (await outbox()).length === 0,
    10_000,
    'the creation relayed',
  )
  await waitFor(async () => (await userEffects()).has(`${conv}:${seq}:${U.bob}`), 10_000, 'its notices')
  const before = await userEffects()
  let last = 0
  for (let i = 1; i <= 20; i++) last = await append(js, n, sent(conv, U.bob, i))
  await waitFor(async () => (await offsetOf(0)) >= last, 10_000, 'messages projected')
  t.same(await userEffects(), before)
  t.same(await outbox(), [])
})
