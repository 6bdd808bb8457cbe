import { isChatError } from '@chatapp/contracts'
import { startTestNatsCluster, waitJetStream, waitFor as waitUntil } from '@chatapp/infra'
import t from 'tap'
import { readLog } from '../src/log-reader.js'
import { created, sent, U } from './support/events.js'
import { append } from './support/log.js'
import { viewsNamespace } from './support/views-namespace.js'

/**
 * Issue 9: an R1 consumer delivers from its own node's copy of the stream, and nats-server 2.9 can
 * leave a follower's copy holding events its leader never committed (the chaos run's stream fork:
 * the projector followed the fork and `verify`, reading the leader, found 1,012 differences). The
 * projector's consumer must sit on the stream's leader, and move when the leadership moves.
 */
// The last two tests kill nodes, restart them and wait for the cluster to be whole again.
t.setTimeout(120_000)
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
/**
 * Where a log read's consumer runs: the stream's consumer, besides the projector's, that starts
 * at `fromSeq` (a consumer the previous test's read left on a dead node lingers for minutes).
 */
const readersNode = async (fromSeq: number) => {
  for await (const ci of jsm.consumers.list(stream))
    if (ci.name !== n.projectorConsumer(0) && ci.config.opt_start_seq === fromSeq) return ci.cluster?.leader
  return undefined
}
const run = () => start({ watchMs: 200 })

/**
 * After a node's restart: the meta group can place an R3 stream again (all three peers back), and
 * every stream of the namespace has a leader and three current replicas (a teardown run while the
 * restarted node was catching up timed out deleting a stream still electing one).
 */
const clusterWhole = async () => {
  await waitJetStream(jsm)
  await waitUntil(
    'every stream led, on three current replicas',
    async () => {
      try {
        for await (const si of jsm.streams.list())
          if (!si.cluster?.leader || si.cluster.replicas?.filter((r) => r.current).length !== 2) return false
        return true
      } catch {
        return false
      }
    },
    30_000,
  )
}

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

t.test(
  'a log read goes on when the node holding its consumer is killed, nothing missed or repeated',
  async (t) => {
    // verify, replay, rebuild and the audit read through readLog: a NATS failover in the middle of
    // one must not become an error for the operator (a CI run saw a 503 from a fetch right after a
    // leader change) nor cut the read short.
    const conv = 'c_leader003'
    let last = await append(js, n, created(conv))
    for (let i = 1; i <= 40; i++) last = await append(js, n, sent(conv, U.ann, i))
    const seqs: number[] = []
    let killed: string | undefined
    for await (const batch of readLog(js, jsm, { stream, fromSeq: 1, untilSeq: last, batch: 10 })) {
      seqs.push(...batch.map((e) => e.seq))
      if (killed) continue
      // Between two fetches of the read: the node serving its consumer dies.
      killed = await readersNode(1)
      t.ok(killed, `the read's consumer is on ${killed}`)
      await cluster.set.kill9(killed!)
    }
    t.same(
      seqs,
      Array.from({ length: last }, (_, i) => i + 1),
      'every stored event once, in order',
    )
    // Whole again before the next test and the file's teardown, which deletes the namespace's streams.
    await cluster.revive([killed!])
    await clusterWhole()
  },
)

t.test(
  'a log read that cannot go on within its bound fails as UNAVAILABLE, not with what NATS threw',
  async (t) => {
    const conv = 'c_leader004'
    const first = await append(js, n, created(conv))
    let last = first
    for (let i = 1; i <= 20; i++) last = await append(js, n, sent(conv, U.ann, i))
    const seqs: number[] = []
    const killed: string[] = []
    const started = Date.now()
    const err = await (async () => {
      try {
        const range = { stream, fromSeq: first, untilSeq: last, batch: 10 }
        for await (const batch of readLog(js, jsm, range, 3_000)) {
          seqs.push(...batch.map((e) => e.seq))
          if (killed.length > 0) continue
          // Between two fetches: the node serving the read's consumer and one more die, and the
          // stream has no quorum left (the survivor can neither serve the consumer nor make another).
          const node = await readersNode(first)
          t.ok(node, `the read's consumer is on ${node}`)
          killed.push(node!, cluster.nodes.map((o) => o.name).find((o) => o !== node)!)
          for (const name of killed) await cluster.set.kill9(name)
        }
      } catch (e) {
        return e
      }
      return undefined
    })()
    t.same(
      seqs,
      Array.from({ length: 10 }, (_, i) => first + i),
      'what was read before, once',
    )
    t.ok(isChatError(err) && err.code === 'UNAVAILABLE', `UNAVAILABLE (${String(err)})`)
    // The bound, plus a last request's own timeout (5 s) and a pull's watchdog.
    t.ok(Date.now() - started < 20_000, `gave up after ${Date.now() - started} ms`)
    await cluster.revive(killed)
    await clusterWhole()
  },
)
