import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_LOG_SETTINGS, encodeJson, names, streamSpecs } from '@chatapp/contracts'
import { connectNats, createLogger, ensureStreams, jetstreamManager } from '@chatapp/kit'
import { jetstream } from '@nats-io/jetstream'
import t from 'tap'
import { tcpAnswers, waitFor } from '../src/probe.js'
import { findExecutable } from '../src/system-packages.js'

// The committed production config, run for real: three nodes on loopback, R3 shard streams,
// one node killed mid-way; acknowledged appends survive and appends go on.
const config = join(import.meta.dirname, '../deploy/nats/cluster.conf')
const natsServer = findExecutable('nats-server')

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })

t.test(
  'a 3-node cluster from deploy/nats/cluster.conf keeps R3 conversation streams writable when a node dies',
  { skip: natsServer ? false : 'nats-server is not installed' },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'chatapp-cluster-'))
    const nodes = await Promise.all(
      [1, 2, 3].map(async (i) => ({
        i,
        client: await freePort(),
        cluster: await freePort(),
        monitor: await freePort(),
      })),
    )
    const procs: ChildProcess[] = nodes.map((n) => {
      const others = nodes.filter((o) => o !== n).map((o) => `nats://127.0.0.1:${o.cluster}`)
      return spawn(natsServer!, ['-c', config], {
        stdio: 'ignore',
        env: {
          ...process.env,
          SERVER_NAME: `nats-${n.i}`,
          CLIENT_HOST: '127.0.0.1',
          CLIENT_PORT: String(n.client),
          CLUSTER_PORT: String(n.cluster),
          MONITOR_PORT: String(n.monitor),
          STORE_DIR: join(dir, `n${n.i}`),
          ROUTE_A: others[0]!,
          ROUTE_B: others[1]!,
        },
      })
    })
    t.teardown(() => {
      for (const p of procs) p.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    })
    for (const n of nodes) await waitFor(`nats-${n.i}`, () => tcpAnswers('127.0.0.1', n.client), 15_000)

    const urls = nodes.map((n) => `nats://127.0.0.1:${n.client}`).join(',')
    const nc = await connectNats(urls, 'cluster-test', createLogger('test', 'silent'))
    t.teardown(() => nc.close())
    // JetStream answers once the three nodes have elected a meta leader.
    const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 2000 })
    await waitFor(
      'JetStream meta leader',
      () =>
        jsm.getAccountInfo().then(
          () => true,
          () => false,
        ),
      20_000,
    )

    const n = names('cl', 1)
    await ensureStreams(jsm, streamSpecs(n, { ...DEFAULT_LOG_SETTINGS, replicas: 3 }))
    const info = await jsm.streams.info(n.convStream(0))
    t.equal(info.config.num_replicas, 3)

    const js = jetstream(nc, { timeout: 5000 })
    const subject = n.convSubject('c_cluster01', 'm')
    const publish = async (k: number) =>
      (await js.publish(subject, encodeJson({ k }), { msgID: `k${k}` })).seq
    for (let k = 1; k <= 10; k++) await publish(k)

    // Kill the node that leads the stream: the hardest case for the raft group.
    const leader = (await jsm.streams.info(n.convStream(0))).cluster?.leader
    const victim = nodes.findIndex((node) => `nats-${node.i}` === leader)
    t.ok(victim >= 0, `stream leader ${leader} is one of ours`)
    procs[victim]!.kill('SIGKILL')

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
    t.not(after.cluster?.leader, leader, 'a new leader took over')
    const last = await jsm.streams.getMessage(n.convStream(0), { last_by_subj: subject })
    t.same(last?.json(), { k: 20 })
  },
)
