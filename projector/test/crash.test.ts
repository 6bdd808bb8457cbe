import t from 'tap'
import { pendingAfter } from '../src/stream-pending.js'
import { created, sent, U } from './support/events.js'
import { append, waitFor } from './support/log.js'
import { killHard, spawnProjector } from './support/projector-process.js'
import { viewsNamespace } from './support/views-namespace.js'

/**
 * Issue 9: kill -9 of the projector mid-stream, several times, while events keep arriving. The
 * views must end equal to the log, without a rebuild: nothing fetched by a dead process and not
 * committed may be acknowledged or skipped by the next one.
 */
t.setTimeout(120_000)
const { tn, n, schema, js, jsm, pool, verify } = await viewsNamespace(2)
// Batches with fetch-ahead (two batches are pulled at a time): a killed process holds deliveries
// it never committed, fewer than the consumer's max_ack_pending, so newer ones keep flowing.
const SETTINGS = { PROJECTOR_BATCH: '100', PROJECTOR_LINGER_MS: '0' }

const appliedTotal = async () =>
  Number(
    (
      await pool
        .query(`SELECT coalesce(sum(last_seq), 0)::int8 AS s FROM "${schema}".projector_offsets`)
        .catch(() => ({
          rows: [{ s: 0 }],
        }))
    ).rows[0].s,
  )

t.test('kill -9 of the projector while events arrive loses no view row, without a rebuild', async (t) => {
  const convs = Array.from({ length: 20 }, (_, i) => `c_crash${String(i).padStart(4, '0')}`)
  for (const c of convs) await append(js, n, created(c, [U.ann, U.bob]))
  let sentMessages = 0
  let writing = true
  const counters = new Map<string, number>()
  // A steady stream of messages, from before the first start to after the last kill.
  const writer = (async () => {
    while (writing) {
      const burst = []
      for (let i = 0; i < 20; i++) {
        const c = convs[(sentMessages + i) % convs.length]!
        const k = (counters.get(c) ?? 0) + 1
        counters.set(c, k)
        burst.push(append(js, n, sent(c, k % 2 ? U.ann : U.bob, k)))
      }
      await Promise.all(burst)
      sentMessages += burst.length
      await new Promise((r) => setTimeout(r, 30))
    }
  })()
  t.teardown(async () => {
    writing = false
    await writer
  })

  const kills = 4
  for (let k = 0; k < kills; k++) {
    const child = spawnProjector(tn.env, SETTINGS)
    t.teardown(() => killHard(child))
    // Let it start and get well into the stream, then kill it mid-batch.
    const from = await appliedTotal()
    await waitFor(async () => (await appliedTotal()) >= from + 100, 20_000, `progress of projector ${k}`)
    await new Promise((r) => setTimeout(r, 200 + 150 * k))
    await killHard(child)
  }
  writing = false
  await writer

  const last = spawnProjector(tn.env, SETTINGS)
  t.teardown(() => killHard(last))
  const offsets = async () =>
    (await pool.query(`SELECT shard, last_seq FROM "${schema}".projector_offsets`)).rows.map((r) => [
      Number(r.shard),
      Number(r.last_seq),
    ])
  const caughtUp = await waitFor(
    async () => {
      for (const [shard, seq] of await offsets())
        if ((await pendingAfter(jsm, n.convStream(shard!), seq!)).pending > 0) return false
      return (await offsets()).length === n.shards
    },
    45_000,
    'lag 0 on every shard',
  ).then(
    () => true,
    () => false,
  )
  t.ok(caughtUp, 'lag 0 on every shard: the stream holds nothing after the stored offsets')
  const messages = await pool.query(`SELECT count(*)::int AS c FROM "${schema}".messages`)
  t.equal(messages.rows[0].c, sentMessages, `every one of the ${sentMessages} messages is in the views`)
  const dead = await pool.query(`SELECT count(*)::int AS c FROM "${schema}".dead_letters`)
  t.equal(dead.rows[0].c, 0, 'nothing dead-lettered')
  await killHard(last)
  const r = await verify()
  t.same(r.differences, [], 'verify: the views equal the log')
})
