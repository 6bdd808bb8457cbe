import { startTestNatsCluster, waitFor as waitUntil } from '@chatapp/infra'
import t from 'tap'
import { created, sent, U } from './support/events.js'
import { append } from './support/log.js'
import { viewsNamespace } from './support/views-namespace.js'

/**
 * Issue 9: an R1 consumer delivers from its own node's copy of the stream, and nats-server 2.9 can
 * leave a follower's copy holding events its leader never committed (the chaos run's stream fork:
 * the projector followed the fork and `verify`, reading the leader, found 1,012 differences). The
 * projector's consumer must sit on the stream's leader, and move when the leadership moves.
 */
const cluster = await startTestNatsCluster()
t.teardown(cluster.stop)
const { tn, n, jsm, js, offsetOf, start, verify } = await viewsNamespace(1, {
  natsUrl: cluster.url,
  settings: { replicas: 3 },
})
const stream = n.convStream(0)
const consumerNode = async () =>
  (await jsm.consumers.info(stream, n.projectorConsumer(0)).catch(() => undefined))?.cluster?.leader
const streamLeaderNow = async () => (await jsm.streams.info(stream)).cluster?.leader
const offset = () => offsetOf(0)
const run = () => start({ watchMs: 200 })

await waitUntil(
  'the stream on three current replicas',
  async () => {
    const si = await jsm.streams.info(stream)
    return si.cluster?.replicas?.filter((r) => r.current).length === 2
  },
  30_000,
)

t.test('every time the projector positions its consumer, it is on the stream leader', async (t) => {
  const conv = 'c_leader001'
  let last = await append(js, n, created(conv))
  for (let i = 1; i <= 5; i++) last = await append(js, n, sent(conv, U.ann, i))
  // Random placement lands on the leader a third of the time: six starts in a row on the leader
  // by chance is 1 in 729.
  for (let round = 1; round <= 6; round++) {
    const leaderBefore = await streamLeaderNow()
    const p = await run()
    await waitUntil('caught up', async () => (await offset()) >= last, 15_000)
    const leader = await streamLeaderNow()
    if (leader === leaderBefore)
      t.equal(await consumerNode(), leader, `start ${round}: consumer on the leader`)
    else {
      // The leadership moved during the round (a starved machine misses raft heartbeats; the
      // likely cause of two CI failures): where the start placed the consumer cannot be judged,
      // only that it follows.
      await waitUntil(
        'the consumer to follow the new leader',
        async () => (await consumerNode()) === (await streamLeaderNow()),
        15_000,
      )
      t.pass(`start ${round}: the leader moved (${leaderBefore} → ${leader}); the consumer followed`)
    }
    last = await append(js, n, sent(conv, U.ann, 5 + round))
    await p.stop()
  }
})

t.test('when the stream leader steps down, the consumer follows it and nothing is missed', async (t) => {
  const conv = 'c_leader002'
  const leaderAtStart = await streamLeaderNow()
  const p = await run()
  t.teardown(p.stop)
  let last = await append(js, n, created(conv))
  await waitUntil('caught up', async () => (await offset()) >= last, 15_000)
  // The start's placement is the first test's; here the consumer only has to be on the leader
  // before the step-down. Twice in CI it was found off the leader right after a start (not
  // reproduced here); a leader that moved by itself under load, before the watch moved the
  // consumer after it, is the likely cause, and the comment below says when that happened.
  await waitUntil(
    'the consumer on the stream leader',
    async () => (await consumerNode()) === (await streamLeaderNow()),
    15_000,
  )
  const before = await streamLeaderNow()
  t.ok(before, `on the leader (${before}) at first`)
  if (before !== leaderAtStart)
    t.comment(`the stream leader moved during the start: ${leaderAtStart} → ${before}`)
  await tn.nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, { timeout: 5000 })
  await waitUntil(
    'a new stream leader',
    async () => {
      const now = await streamLeaderNow()
      return now !== undefined && now !== '' && now !== before
    },
    30_000,
  )
  for (let i = 1; i <= 20; i++) last = await append(js, n, sent(conv, U.bob, i))
  await waitUntil(
    'the consumer on the new leader',
    async () => (await consumerNode()) === (await streamLeaderNow()),
    15_000,
  )
  t.not(await consumerNode(), before, 'it moved off the old leader')
  await waitUntil('every event projected', async () => (await offset()) >= last, 15_000)
  const r = await verify()
  t.same(r.differences, [], 'views equal the log')
})
