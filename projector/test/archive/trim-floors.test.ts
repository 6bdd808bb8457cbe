import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream'
import t from 'tap'
import { created, sent, U } from '../support/events.js'
import { append, waitFor } from '../support/log.js'
import { viewsNamespace } from '../support/views-namespace.js'
import { testArchive } from './support.js'

t.setTimeout(60_000)
const { tn, n, js, jsm, pool, offsetOf, start } = await viewsNamespace(1)
const archive = testArchive(tn, n, pool)

t.test('a reader that has not reached a message keeps it in the stream, archived or not', async (t) => {
  const id = 'c_floor0001'
  await append(js, n, created(id, [U.ann, U.bob]))
  for (let i = 1; i <= 15; i++) await append(js, n, sent(id, U.ann, i))
  const stream = n.convStream(0)
  // A reader (an operator's consumer, a long replay) positioned at 6 that has not read on.
  const reader = await jsm.consumers.add(stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: 6,
    ack_policy: AckPolicy.None,
    inactive_threshold: 60_000_000_000,
  })
  const projector = await start()
  t.teardown(() => projector.stop())
  await waitFor(async () => (await offsetOf(0)) === 16, 20_000, 'the projector')
  const archivers = await archive.start({ maxAgeMs: 200, maxBytes: 0 }, { maxEvents: 4 })
  await waitFor(
    async () => (await jsm.streams.info(stream)).state.first_seq === 6,
    20_000,
    'the trim up to the reader',
  )
  t.equal(await archive.reader.archivedTo(0), 16, 'everything is archived')
  await new Promise((r) => setTimeout(r, 500))
  t.equal((await jsm.streams.info(stream)).state.first_seq, 6, 'and still nothing past the reader left')
  await jsm.consumers.delete(stream, reader.name)
  await waitFor(async () => (await jsm.streams.info(stream)).state.first_seq === 17, 20_000, 'the rest')
  await archivers.stop()
})
