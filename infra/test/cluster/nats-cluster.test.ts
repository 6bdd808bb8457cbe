import { createServer } from 'node:net'
import { join } from 'node:path'
import { encodeJson, kvSpecs, names, streamSpecs } from '@chatapp/contracts'
import { connectNats, createLogger, jetstreamManager } from '@chatapp/kit'
import { jetstream } from '@nats-io/jetstream'
import t, { type Test } from 'tap'
import {
  allocateNatsNodes,
  launchNatsNodes,
  localClusterName,
  localNatsConfig,
  natsClusterUrl,
  natsNodeDefs,
  startNatsNodes,
  streamLeader,
  untilPlaceable,
  waitJetStream,
  waitMetaLeader,
  writeLocalNatsConfig,
} from '../../src/cluster/nats-cluster.js'
import { ProcessSet } from '../../src/cluster/process-set.js'
import { productionNatsServer } from '../../src/cluster/production-nats-server.js'
import { readInfraConfig } from '../../src/config.js'
import { natsServerGoEnv } from '../../src/nats-go-env.js'
import { waitFor } from '../../src/probe.js'
import { processEnv } from '../../src/process-env.js'
import { provision } from '../../src/provision.js'
import { readyz } from '../../src/service-kinds.js'
import { findExecutable } from '../../src/system-packages.js'
import { bringBack, dropNamespaceData, newTestNamespaceName, testStack } from '../../src/test-support.js'
import { nodeDir } from '../support/nats-nodes.js'

t.test('the production NATS config loses only what the local nats-server is too old to know', async (t) => {
  const prod = 'jetstream {\n  store_dir: $STORE_DIR\n  sync_interval: always\n}\n'
  t.same(localNatsConfig(prod, [2, 9, 10]), {
    text: 'jetstream {\n  store_dir: $STORE_DIR\n}\n',
    dropped: ['sync_interval: always'],
  })
  t.same(localNatsConfig(prod, [2, 10, 0]), { text: prod, dropped: [] })
  t.same(localNatsConfig(prod, [3, 0, 1]).dropped, [])
  const named = localNatsConfig(
    'server_name: $SERVER_NAME\ncluster {\n  name: chatapp\n}\n',
    [2, 9, 10],
    [],
    'c1',
  )
  t.equal(named.text, 'server_name: $SERVER_NAME\ncluster {\n  name: c1\n}\n', 'the cluster name is replaced')
  t.not(localClusterName('/a'), localClusterName('/b'), 'two directories, two names')
  t.equal(localClusterName('/a'), localClusterName('/a'), 'a restart on the same stores keeps its name')
})

// Local clusters run side by side on ports found free, and a node dials its routes for ever: a
// route that reaches another cluster's node (its port was free when this node's was picked) must
// not merge the two. Under one shared name they merged, and a CI run's cluster never became
// ready ("three JetStream peers").
t.test(
  "a node whose routes reach another local cluster's nodes does not join that cluster",
  { skip: !findExecutable('nats-server') && 'no nats-server' },
  async (t) => {
    const { dir, set } = nodeDir(t)
    const bin = await productionNatsServer(() => {})
    const { nodes } = await startNatsNodes(set, join(dir, 'a'), join(dir, 'log'), () => {})

    const lines: string[] = []
    const strays = new ProcessSet({ onLine: (_name, line) => lines.push(line) })
    t.teardown(() => strays.stopAll(['nats']))
    const [stray] = await allocateNatsNodes(join(dir, 'b'), 1)
    const config = writeLocalNatsConfig(bin, join(dir, 'b'), [])
    const [def] = natsNodeDefs(bin, config.path, [stray!, ...nodes.slice(0, 2)], join(dir, 'log'))
    // Alone it never becomes healthy (no JetStream quorum): its monitor answering is the start.
    strays.add({
      ...def!,
      name: 'stray',
      logFile: join(dir, 'log', 'stray.log'),
      ready: () => readyz(stray!.monitor, '/varz'),
    })
    await strays.start('stray')
    const json = <T>(port: number, path: string) =>
      fetch(`http://127.0.0.1:${port}/${path}`).then((r) => r.json() as Promise<T>)
    // Either outcome ends the wait: both routes refused (logged by the stray), or it joined.
    await waitFor(
      'the stray node to be refused by both routes, or to join',
      async () =>
        lines.filter((l) => /Cluster Name Conflict/i.test(l)).length >= 2 ||
        (await json<{ num_routes: number }>(stray!.monitor, 'routez')).num_routes > 0,
      30_000,
    )
    const ids = await Promise.all(nodes.map((n) => json<{ server_id: string }>(n.monitor, 'varz')))
    for (const [i, node] of nodes.entries()) {
      // A route both sides dialled at once is listed twice while one copy closes: count peers.
      const routez = await json<{ routes: { remote_id: string }[] }>(node.monitor, 'routez')
      const peers = new Set(routez.routes.map((r) => r.remote_id))
      t.same(
        [...peers].sort(),
        ids
          .filter((_, k) => k !== i)
          .map((v) => v.server_id)
          .sort(),
        `${node.name} is routed to its two peers only`,
      )
    }
  },
)

// The committed production config, run for real: three nodes on loopback.
t.test(
  'a 3-node cluster from deploy/nats/cluster.conf',
  { skip: !findExecutable('nats-server') && 'no nats-server' },
  async (t) => {
    const { dir, set } = nodeDir(t)
    const { url, nodes } = await startNatsNodes(set, dir, join(dir, 'log'), () => {})
    const { GOGC } = natsServerGoEnv()
    for (const node of nodes)
      t.ok(
        processEnv(set.get(node.name).pid!).includes(`GOGC=${GOGC}`),
        `${node.name} runs with the drop-in's GOGC=${GOGC} (ADR 0229)`,
      )
    const nc = await connectNats(url, 'cluster-test', createLogger('test', 'silent'))
    t.teardown(() => nc.close())
    const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 3000 })
    await t.resolves(
      jsm.streams.add({ name: 'placed', subjects: ['placed.x'], num_replicas: 3 }),
      'an R3 stream can be placed as soon as startNatsNodes resolves',
    )

    await t.test(
      'provisioning applies NATS_REPLICAS and NATS_DUPLICATE_WINDOW_MS to every stream and bucket, and scales R1 up to R3',
      async (t) => {
        const stack = await testStack()
        const ns = newTestNamespaceName()
        t.teardown(() => dropNamespaceData(stack, ns))
        const n = names(ns, 2)
        const run = async (env: Record<string, string>) => {
          const cfg = readInfraConfig({ CHATAPP_NS: ns, CHATAPP_SHARDS: '2', ...env })
          await provision({
            nc,
            databaseUrl: stack.databaseUrl,
            s3: stack.s3,
            ns,
            shards: 2,
            settings: cfg.settings,
          })
        }
        await run({})
        const all = [...streamSpecs(n).map((s) => s.name), ...kvSpecs(n).map((k) => `KV_${k.bucket}`)]
        for (const s of all) t.equal((await jsm.streams.info(s)).config.num_replicas, 1, `${s} starts at R1`)
        const js = jetstream(nc, { timeout: 5000 })
        const subject = n.convSubject('c_scaleup01', 'm')
        for (let k = 1; k <= 5; k++) await js.publish(subject, encodeJson({ k }), { msgID: `s${k}` })

        // The same namespace provisioned again with the cluster's settings: the update is in place.
        await run({ NATS_REPLICAS: '3', NATS_DUPLICATE_WINDOW_MS: '45000' })
        for (const s of all) {
          await waitFor(
            `${s} on three nodes`,
            async () => {
              const si = await jsm.streams.info(s)
              return (
                si.config.num_replicas === 3 && si.cluster?.replicas?.filter((r) => r.current).length === 2
              )
            },
            30_000,
          )
        }
        t.pass('every stream and KV bucket of the namespace has three current replicas')
        for (const s of streamSpecs(n))
          t.equal(
            (await jsm.streams.info(s.name)).config.duplicate_window,
            45_000 * 1e6,
            `${s.name} duplicate window`,
          )
        const conv = await jsm.streams.info(n.convStream(n.shardOf('c_scaleup01')))
        t.equal(conv.state.messages, 5, 'the messages stored at R1 are all there at R3')
        const again = await js.publish(subject, encodeJson({ k: 5 }), { msgID: 's5' })
        t.ok(again.duplicate, 'a retried send inside the window is recognised')
      },
    )

    await t.test('R3 conversation streams stay writable when the stream leader dies', async (t) => {
      const n = names('cl', 1)
      const jsmStreams = streamSpecs(n, {
        replicas: 3,
        duplicateWindowMs: 120_000,
        maxMsgSize: 65536,
        presenceTtlMs: 60_000,
      })
      const { ensureStreams } = await import('@chatapp/kit')
      await ensureStreams(jsm, jsmStreams)
      const js = jetstream(nc, { timeout: 5000 })
      const subject = n.convSubject('c_cluster01', 'm')
      const publish = async (k: number) =>
        (await js.publish(subject, encodeJson({ k }), { msgID: `k${k}` })).seq
      for (let k = 1; k <= 10; k++) await publish(k)

      const leader = await streamLeader(jsm, n.convStream(0))
      t.ok(set.get(leader).running, `stream leader ${leader} is one of ours`)
      await set.kill9(leader)
      // Appends resume once the remaining two elect a new leader; retry each until acknowledged.
      for (let k = 11; k <= 20; k++) {
        await waitFor(
          `append ${k} after failover`,
          () =>
            publish(k).then(
              () => true,
              () => false,
            ),
          20_000,
        )
      }
      const after = await jsm.streams.info(n.convStream(0))
      t.equal(after.state.messages, 20, 'every acknowledged append is there, none twice')
      t.not(
        await streamLeader(jsm, n.convStream(0), (s) => set.get(s).running),
        leader,
        'a new leader took over',
      )
      const last = await jsm.streams.getMessage(n.convStream(0), { last_by_subj: subject })
      t.same(last?.json(), { k: 20 })

      // The killed node comes back on its ports and data and catches up; one that stays unready
      // gets one more restart, as an operator would (bringBack). What this asserts is the rejoin.
      await bringBack(set, leader, 'restart', (m) => t.comment(m))
      await waitFor(
        `${leader} current again`,
        async () =>
          (await jsm.streams.info(n.convStream(0))).cluster?.replicas?.some(
            (r) => r.name === leader && r.current,
          ) ?? false,
        30_000,
      )
      t.pass(`${leader} rejoined`)
    })
  },
)

/** Three nodes defined on the production config, the first two started: no R3 placement yet. */
// On ports found free, again on others if one was taken before its node bound it (test files run
// side by side: a start here once failed within 0.1 s of the test's beginning).
const twoOfThree = async (t: Test) => {
  const { dir, set } = nodeDir(t)
  const { nodes } = await launchNatsNodes(set, dir, join(dir, 'log'), () => {}, { running: 2 })
  return { set, nodes }
}

// `make cluster` keeps its nodes' stores in its data directory across restarts. A start whose
// first ports were taken (a port found free is bound by another process before the node binds
// it) starts again on other ports: with the same stores, not emptied ones.
t.test(
  "a start that retries on other ports keeps the data in the nodes' stores",
  { skip: !findExecutable('nats-server') && 'no nats-server' },
  async (t) => {
    const { dir, set } = nodeDir(t)
    const first = await startNatsNodes(set, dir, join(dir, 'log'), () => {})
    const nc = await connectNats(first.url, 'cluster-test', createLogger('test', 'silent'))
    const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 3000 })
    await jsm.streams.add({ name: 'kept', subjects: ['kept.x'], num_replicas: 3 })
    await jetstream(nc).publish('kept.x', encodeJson({ n: 1 }))
    await nc.close()
    await set.stopAll(['nats'])
    for (const node of first.nodes) set.remove(node.name)

    // The first attempt's nats-1 client port is held by this process: that node cannot bind it.
    const held = createServer().listen(0, '127.0.0.1')
    await new Promise((r) => held.once('listening', r))
    t.teardown(() => held.close())
    let attempts = 0
    const lines: string[] = []
    const again = await startNatsNodes(set, dir, join(dir, 'log'), (m) => lines.push(m), {
      allocate: async (d) => {
        const nodes = await allocateNatsNodes(d)
        if (++attempts === 1) nodes[0]!.client = (held.address() as { port: number }).port
        return nodes
      },
    })
    // Usually the second attempt starts; under load a node of it has stayed unhealthy past its
    // minute on nats-server 2.9.10 (see the restart above), and the third did.
    if (attempts !== 2) t.comment(`${attempts} attempts:\n${lines.join('\n').slice(0, 4000)}`)
    t.ok(
      attempts === 2 || attempts === 3,
      `the first attempt failed on the taken port, a later one started (${attempts})`,
    )
    t.match(lines[0], /did not start .*starting the nodes again on other ports/s)
    // The node's own last words are in the message (process-set.ts): here, the port it found taken.
    t.match(lines[0], /nats-1\.log:\n.*bind: address already in use/s)
    const nc2 = await connectNats(again.url, 'cluster-test', createLogger('test', 'silent'))
    t.teardown(() => nc2.close())
    const jsm2 = await jetstreamManager(nc2, { checkAPI: false, timeout: 3000 })
    // The restarted stream elects its leader after the meta group: wait for it to answer.
    let messages = -1
    await waitFor(
      "the stream 'kept' to answer",
      async () => {
        messages = (await jsm2.streams.info('kept').catch(() => undefined))?.state.messages ?? -1
        return messages >= 0
      },
      20_000,
    ).catch(() => {})
    t.equal(messages, 1, 'the stream and its message are still there')
  },
)

// Two of the three nodes up: they elect a meta leader, so JetStream answers, but an R3 stream
// cannot be placed until the third has joined. Provisioning in that window failed ("no suitable
// peers for placement") when a test's cluster was started on a loaded machine: the readiness
// wait must not end there.
t.test(
  'JetStream is not ready for the cluster until an R3 stream can be placed',
  { skip: !findExecutable('nats-server') && 'no nats-server' },
  async (t) => {
    const { set, nodes } = await twoOfThree(t)
    const nc = await connectNats(
      natsClusterUrl(nodes.slice(0, 2)),
      'cluster-test',
      createLogger('test', 'silent'),
    )
    t.teardown(() => nc.close())
    const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 3000 })
    await waitMetaLeader(jsm)
    await t.rejects(
      waitJetStream(jsm, 3_000),
      /three JetStream peers.*; the last attempt: .*(peers|placement|resources)/i,
      'two nodes of three: not ready, and the error says what the server answered',
    )
    await set.start(nodes[2]!.name)
    await waitJetStream(jsm)
    t.pass('ready once the third node joined')
  },
)

// Twice a fresh cluster elected a meta leader and then could not place an R3 stream for the whole
// wait ("no suitable peers for placement"); restarted, such clusters are ready in about a second.
// Here the third node is not running, so placement cannot happen: the wait gives up within its
// bound, says what each node's /jsz reported, restarts the nodes (all three) and succeeds.
t.test(
  'a cluster that cannot place an R3 stream within the bound is restarted, and the log says why',
  { skip: !findExecutable('nats-server') && 'no nats-server' },
  async (t) => {
    const { set, nodes } = await twoOfThree(t)
    const lines: string[] = []
    await untilPlaceable(set, natsClusterUrl(nodes.slice(0, 2)), nodes, (m) => lines.push(m), 3_000)
    // Usually one restart makes it placeable; a restarted cluster can still miss its wait (make
    // test, 2026-12-06: two restarts with 15 s after the first), and the third attempt is the one
    // that throws. The restarted cluster once got the test's 3-s bound, and missed it twice while
    // the client reconnected: it now gets at least 15 s.
    t.ok(lines.length === 1 || lines.length === 2, `restarted (${lines.length}×), then placeable`)
    t.match(lines[0], /could not place an R3 stream.*the last attempt: .*(peers|placement|resources)/i)
    t.match(lines[0], /nats-1: leader nats-[12]/, "each node's view of the meta group is in the log")
    t.match(lines[0], /nats-3: \/jsz failed/, 'the node that was down did not answer its monitor')
    t.match(lines[0], /restarting the nodes$/)
    t.ok(set.get(nodes[2]!.name).running, 'the restart started every node')
    const nc = await connectNats(natsClusterUrl(nodes), 'cluster-test', createLogger('test', 'silent'))
    t.teardown(() => nc.close())
    const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 3000 })
    await t.resolves(
      jsm.streams.add({ name: 'placed', subjects: ['placed.x'], num_replicas: 3 }),
      'placed at once',
    )
  },
)
