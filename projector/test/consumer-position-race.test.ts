import { createTestNamespace } from '@chatapp/infra'
import { jetstreamManager } from '@nats-io/jetstream'
import t from 'tap'
import { positionConsumer } from '../src/consumer-position.js'

t.test(
  'positioners racing on one shard all succeed; the consumer ends at one of their offsets',
  async (t) => {
    const tn = await createTestNamespace({ shards: 1 })
    t.teardown(tn.cleanup)
    const jsm = await jetstreamManager(tn.nc)
    const shape = { batch: 50, ackWaitMs: 30_000 }
    // Each positions with delete-then-add; one's add landing between another's delete and add is
    // what a running projector re-creating its consumer does to an operator's (or old version's) call.
    for (let round = 0; round < 20; round++) {
      const starts = [1, 2, 3, 4]
      const results = await Promise.allSettled(
        starts.map((s) => positionConsumer(jsm, tn.names, 0, s, shape)),
      )
      const failed = results.filter((r) => r.status === 'rejected')
      t.same(
        failed.map((r) => String((r as PromiseRejectedResult).reason)),
        [],
        `round ${round}: no positioner failed`,
      )
      const ci = await jsm.consumers.info(tn.names.convStream(0), tn.names.projectorConsumer(0))
      t.ok(starts.includes(ci.config.opt_start_seq ?? 0), `round ${round}: at ${ci.config.opt_start_seq}`)
      if (failed.length > 0) break
    }
  },
)
