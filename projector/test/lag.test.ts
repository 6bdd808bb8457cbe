import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream'
import t from 'tap'
import { lag } from '../src/lag.js'
import { created, sent, U } from './support/events.js'
import { append } from './support/log.js'
import { viewsNamespace } from './support/views-namespace.js'

/** `chatapp-ops lag` counts what the stream holds after the stored offset, whatever the consumer says. */
const { n, js, jsm, pool } = await viewsNamespace(1)
const stream = n.convStream(0)

t.test('events acknowledged by the consumer but never applied read as pending, not as lag 0', async (t) => {
  const conv = 'c_lagging01'
  await append(js, n, created(conv))
  let last = 0
  for (let i = 1; i <= 9; i++) last = await append(js, n, sent(conv, U.ann, i))
  // A consumer whose ack floor is past everything (what a restarted old projector left behind).
  await jsm.consumers.add(stream, {
    durable_name: n.projectorConsumer(0),
    ack_policy: AckPolicy.All,
    deliver_policy: DeliverPolicy.All,
  })
  const c = await js.consumers.get(stream, n.projectorConsumer(0))
  for await (const m of await c.fetch({ max_messages: 10, expires: 2000 }))
    if (m.seq === last) {
      await m.ackAck()
      break
    }
  const ci = await jsm.consumers.info(stream, n.projectorConsumer(0))
  t.equal(ci.num_pending + ci.num_ack_pending, 0, 'the consumer believes everything was handled')
  const [row] = await lag(jsm, pool, n)
  t.match(row, { lastSeq: last, appliedSeq: 0, pending: 10, exists: true })
  t.ok(row!.oldestAgeSeconds >= 0)
})

t.test('a deleted message is not pending', async (t) => {
  const before = (await lag(jsm, pool, n))[0]!
  await jsm.streams.deleteMessage(stream, before.lastSeq - 1)
  t.equal((await lag(jsm, pool, n))[0]!.pending, before.pending - 1)
})
