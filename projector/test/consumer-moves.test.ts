import { connectNats, createLogger } from '@chatapp/kit'
import { jetstream } from '@nats-io/jetstream'
import t from 'tap'
import { positionConsumer } from '../src/consumer-position.js'
import { created, sent, U } from './support/events.js'
import { append, waitFor } from './support/log.js'
import { viewsNamespace } from './support/views-namespace.js'

/**
 * Issue 9: messages the server delivered to a consumer connection that then died (a process
 * killed, or its NATS connection moved to another server) without acknowledging them. The
 * consumer thinks they are out for delivery; the views must still get every one of them.
 */
const { tn, n, js, jsm, q, offsetOf, start, verify } = await viewsNamespace(1)
const log = createLogger('test', 'silent')
const stream = n.convStream(0)

/** A projector on a NATS connection of its own, as another process would have. */
const startOwn = async () => {
  const nc = await connectNats(tn.stack.natsUrl, 'projector-under-test', log)
  const p = await start({ nc, ackWaitMs: 30_000 })
  return {
    p,
    stop: async () => {
      await p.stop()
      await nc.close()
    },
  }
}
const offset = () => offsetOf(0)
/** Until the views hold everything the stream holds now. */
const caughtUp = async () => {
  const last = (await jsm.streams.info(stream)).state.last_seq
  await waitFor(async () => (await offset()) >= last, 10_000, 'caught up')
}
const messageCount = async (conv: string): Promise<number> =>
  (await q('SELECT count(*)::int AS c FROM V.messages WHERE conversation_id = $1', [conv]))[0].c
/** Takes up to `max` deliveries of the projector's durable consumer on a connection that then dies. */
const takeAndDie = async (max: number, expires: number): Promise<number[]> => {
  const nc = await connectNats(tn.stack.natsUrl, 'doomed', log)
  const durable = await jetstream(nc).consumers.get(stream, n.projectorConsumer(0))
  const got: number[] = []
  try {
    for await (const m of await durable.fetch({ max_messages: max, expires })) {
      got.push(m.seq)
      if (got.length === max) break
    }
  } catch {
    // The projector saw the gap the theft left and re-created the consumer: the pull ends with a
    // "consumer deleted" status. What was taken is what the test needs; the error is expected.
  }
  await nc.close() // never acknowledged
  return got
}

t.test(
  'deliveries held by a connection that died are projected when another process takes over',
  async (t) => {
    const conv = 'c_moved0001'
    await append(js, n, created(conv))
    for (let i = 1; i <= 5; i++) await append(js, n, sent(conv, U.ann, i))
    const first = await startOwn()
    await waitFor(async () => (await offset()) >= 6, 10_000, 'the first events')
    await first.stop()
    // The first process's consumer hands the next events to a connection that dies with them.
    for (let i = 6; i <= 15; i++) await append(js, n, sent(conv, U.ann, i))
    const lost = await takeAndDie(5, 2000)
    t.same(lost, [7, 8, 9, 10, 11], 'the doomed connection got deliveries it never acked')
    // Another process takes over while events keep arriving.
    const second = await startOwn()
    t.teardown(second.stop)
    let last = 0
    for (let i = 16; i <= 25; i++) last = await append(js, n, sent(conv, U.ann, i))
    await waitFor(async () => (await offset()) >= last, 10_000, 'every event')
    t.equal(await messageCount(conv), 25, 'all 25 messages, those of the dead connection included')
    await second.stop()
    const r = await verify()
    t.same(r.differences, [])
  },
)

t.test(
  'deliveries taken from a running projector’s consumer by a connection that dies are not lost',
  async (t) => {
    const conv = 'c_moved0002'
    await append(js, n, created(conv))
    const p = await startOwn()
    t.teardown(p.stop)
    await caughtUp()
    // While the projector waits for events, a second pull on the same durable consumer takes some
    // of them (as a projector whose connection moved would), and dies without acknowledging.
    const thief = takeAndDie(3, 3000)
    await new Promise((r) => setTimeout(r, 200))
    let last = 0
    for (let i = 1; i <= 30; i++) last = await append(js, n, sent(conv, U.bob, i))
    const stolen = await thief
    t.ok(stolen.length > 0, `the dying connection took deliveries ${stolen.join(', ')}`)
    await waitFor(async () => (await offset()) >= last, 15_000, 'every event')
    t.equal(await messageCount(conv), 30)
    await p.stop()
    const r = await verify()
    t.same(r.differences, [])
  },
)

t.test('a consumer deleted under a running projector is re-created at the stored offset', async (t) => {
  const conv = 'c_moved0003'
  await append(js, n, created(conv))
  const p = await startOwn()
  t.teardown(p.stop)
  await caughtUp()
  await jsm.consumers.delete(stream, n.projectorConsumer(0))
  // And re-created by someone else at sequence 1, as an old projector version would: harmless.
  await positionConsumer(jsm, n, 0, 1, { batch: 50, ackWaitMs: 30_000 })
  let last = 0
  for (let i = 1; i <= 5; i++) last = await append(js, n, sent(conv, U.cat, i))
  await waitFor(async () => (await offset()) >= last, 20_000, 'projection after the deletion')
  t.equal(await messageCount(conv), 5)
  await p.stop()
})
