import { emptyState, evolve, fromSnapshot, snapshotCadence } from '@chatapp/domain'
import { createTestNamespace } from '@chatapp/infra'
import { createConversationLog } from '@chatapp/kit'
import { Kvm } from '@nats-io/kv'
import t from 'tap'
import { LogSeeder, ringPairs } from '../../src/seed/log-seeder.js'

/** A direct conversation's snapshot cadence (the gateway's). */
const EVERY = snapshotCadence(2)

t.test('a ring gives every user the same number of direct conversations, each pair once', async (t) => {
  const pairs = ringPairs(5, 4)
  t.equal(pairs.length, 10)
  const per = new Map<number, number>()
  for (const [a, b] of pairs) for (const u of [a, b]) per.set(u, (per.get(u) ?? 0) + 1)
  t.same([...per.values()], [4, 4, 4, 4, 4])
  t.equal(new Set(pairs.map(([a, b]) => [a, b].sort().join('-'))).size, 10, 'no pair twice')
})

t.test(
  'seeds a log every reader accepts: created, messages and receipts in order, and the snapshots a gateway leaves',
  async (t) => {
    const tn = await createTestNamespace({ shards: 2 })
    t.teardown(tn.cleanup)
    const users = Array.from({ length: 4 }, (_, i) => `u_seedtest${i}`)
    const seeder = new LogSeeder({
      nc: tn.nc,
      names: tn.names,
      userIds: users,
      conversationsPerUser: 2,
      events: 4 * (EVERY * 3 + 20),
      textBytes: 60,
      tag: 'st',
    })
    const r = await seeder.seed()
    t.equal(r.conversations.length, 4)
    t.equal(r.events, 4 * (EVERY * 3 + 20), 'exactly the events asked for')
    t.equal(r.snapshots, 4 * 3, 'a snapshot per conversation after every 32 events, as a gateway writes them')
    const log = await createConversationLog(tn.nc, tn.names)
    const kv = await new Kvm(tn.nc).open(tn.names.convStateBucket)
    for (const c of r.conversations) {
      // A reader folding the log from scratch reaches the seeder's state, accepting every event.
      const s = emptyState(c.id)
      const types = new Set<string>()
      const notAccepted: string[] = []
      for await (const e of log.read(c.id, 0, Math.max(c.state.lastM, c.state.lastR))) {
        if (evolve(s, e).kind !== 'accepted') notAccepted.push(`${e.event.type} at ${e.seq}`)
        types.add(e.event.type)
      }
      t.same(notAccepted, [], 'every event accepted')
      t.same([...types].sort(), ['conversation.created', 'message.sent', 'receipt.delivered', 'receipt.read'])
      t.same([s.n, s.lastM, s.lastR], [c.state.n, c.state.lastM, c.state.lastR])
      const snap = fromSnapshot((await kv.get(c.id))!.json())
      t.ok(snap && snap.lastM <= s.lastM && snap.n > 0, 'a snapshot a gateway can start from')
    }
    // Devices away meanwhile: more messages, still accepted by every reader.
    const n0 = r.conversations[0]!.state.n
    t.equal(await seeder.addMessages(r.conversations, 3), 12)
    t.equal(r.conversations[0]!.state.n, n0 + 3)
  },
)
