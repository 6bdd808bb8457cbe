import t from 'tap'
import { created, sent, U } from '../support/events.js'
import { append, waitFor } from '../support/log.js'
import { viewsNamespace } from '../support/views-namespace.js'
import { testArchive } from './support.js'

/**
 * The archiver reads a stream that keeps growing while it reads. A pass that stopped reading
 * its consumer's fetch early (at the end it saw when the pass began) left the messages stored
 * meanwhile to a pull nobody read: the reader waited for them forever when traffic stopped (the
 * archive stalled, so trimming did; seen once in CI, 3 runs in 12 under load), and lost them
 * when traffic went on (the client's cursor had passed them). Each round appends a burst and
 * then stops, so the last pass of every round races the burst's tail; the archive must reach the
 * end of the stream every time and hold every sequence once, in order.
 */
t.setTimeout(120_000)
const { tn, n, js, jsm, pool } = await viewsNamespace(1)
const archive = testArchive(tn, n, pool)

t.test('an archiver reading a growing stream reaches its end and skips nothing', async (t) => {
  const id = 'c_livetail1'
  await append(js, n, created(id, [U.ann, U.bob]))
  const archivers = await archive.start({ maxAgeMs: 0, maxBytes: 0 }, { maxEvents: 1000, maxAgeMs: 0 })
  let k = 0
  for (let round = 1; round <= 12; round++) {
    // One at a time, as a conversation's sends come: some land between a pass's look at the
    // stream and the end of its read.
    for (let i = 0; i < 20; i++) await append(js, n, sent(id, k % 2 ? U.ann : U.bob, ++k))
    const last = (await jsm.streams.info(n.convStream(0))).state.last_seq
    await waitFor(
      async () => (await archive.reader.archivedTo(0)) >= last,
      10_000,
      `round ${round}: the archive to reach the end of the stream (${last})`,
    )
  }
  await archivers.stop()
  const last = (await jsm.streams.info(n.convStream(0))).state.last_seq
  const seqs: number[] = []
  for await (const m of archive.reader.read(0, 0, last)) seqs.push(m.seq)
  t.equal(seqs.length, last, 'as many archived messages as stored ones')
  t.same(
    seqs,
    Array.from({ length: last }, (_, i) => i + 1),
    'every sequence once, in order',
  )
})
