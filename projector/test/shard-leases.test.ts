import t from 'tap'
import { created, sent, U } from './support/events.js'
import { append, waitFor } from './support/log.js'
import { viewsNamespace } from './support/views-namespace.js'

/** Two projector processes on one namespace: each shard has one writer; a survivor takes over. */
const { n, js, pool, offsetOf, start: startOn } = await viewsNamespace(4)
const start = () => startOn({ leaseRetryMs: 200 })

t.test('each shard is projected by exactly one of two projectors, and a survivor takes over', async (t) => {
  const a = await start()
  const b = await start()
  t.teardown(a.stop)
  t.teardown(b.stop)
  t.same(a.shards(), [0, 1, 2, 3], 'the first to start leases every shard')
  t.same(b.shards(), [])
  await a.stop()
  await waitFor(async () => b.shards().length === 4, 10_000, 'takeover')
  // Events appended now are projected by the survivor.
  const convs = ['c_lease0001', 'c_lease0002', 'c_lease0003', 'c_lease0004', 'c_lease0005']
  for (const c of convs) {
    await append(js, n, created(c))
    const seq = await append(js, n, sent(c, U.ann, 1))
    await waitFor(async () => (await offsetOf(n.shardOf(c))) >= seq, 10_000, `projection of ${c}`)
  }
  const r = await pool.query(`SELECT count(*)::int AS c FROM "${n.dbSchemas.views}".messages`)
  t.equal(r.rows[0].c, convs.length)
})
