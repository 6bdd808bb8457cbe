import { connectNats, createLogger, jetstreamManager } from '@chatapp/kit'
import t from 'tap'
import { startCluster } from '../../src/cluster/cluster.js'
import { isAlive } from '../../src/daemon.js'
import { waitFor } from '../../src/probe.js'
import { findExecutable } from '../../src/system-packages.js'
import { Socket, signUp } from '../support/chat.js'

// The production layout on this machine, through its front door (haproxy), with a NATS node (the
// stream's leader) and a gateway killed with -9: the system still stores and delivers.
t.test(
  'a message goes through haproxy to a gateway and on through a 3-node R3 cluster, with the stream leader and a gateway killed -9',
  { skip: !findExecutable('nats-server') && 'no nats-server' },
  async (t) => {
    const started = Date.now()
    const exits: string[] = []
    const cluster = await startCluster({ shards: 2, onExit: (name) => exits.push(name) })
    t.teardown(() => cluster.stop())
    t.same(
      cluster.processes.map((p) => p.name),
      [
        'nats-1',
        'nats-2',
        'nats-3',
        'gateway-1',
        'gateway-2',
        'projector-1',
        'projector-2',
        'media-worker-1',
        'media-worker-2',
        'haproxy',
      ],
    )
    t.ok(
      cluster.processes.every((p) => p.running && p.pid !== undefined),
      'every process runs',
    )
    t.comment(`cluster up in ${Date.now() - started} ms`)

    const base = cluster.httpUrl
    const suffix = cluster.ns.slice(-6)
    const alice = await signUp(base, `alice${suffix}`)
    const bob = await signUp(base, `bob${suffix}`)
    const a1 = await Socket.open(cluster.wsUrl, alice.token)
    const opened = await a1.request({ type: 'direct.open', rid: 'o1', peerId: bob.userId })
    t.equal(opened.type, 'ok')
    const conversationId = String(opened.conversationId)
    const send = (s: Socket, rid: string, clientMsgId: string, text: string, retry = false) =>
      s.request({
        type: 'send',
        rid,
        conversationId,
        clientMsgId,
        kind: 'text',
        text,
        ...(retry ? { retry } : {}),
      })
    const first = await send(a1, 's1', 'cm_cluster_1', 'before the kills')
    t.equal(first.type, 'sent')

    // The node killed here leads none of the raft groups a connection and a send need (the
    // meta group, the user index, the conversation's shard, the KV buckets) when there is such a
    // node: the point here is the cluster machinery and haproxy's failover. Killing leaders, and
    // the pause it causes, is the chaos scenario's subject (issue 9); nats-cluster.test.ts kills
    // a stream leader at the NATS level.
    const stream = cluster.names.convStream(cluster.names.shardOf(conversationId))
    const n = cluster.names
    const leaders = new Set([
      await cluster.metaLeader(),
      ...(await Promise.all(
        [stream, n.userStream, `KV_${n.presenceBucket}`, `KV_${n.convStateBucket}`].map((s) =>
          cluster.streamLeader(s),
        ),
      )),
    ])
    const nats = ['nats-1', 'nats-2', 'nats-3']
    const streamLead = await cluster.streamLeader(stream)
    const victim = nats.find((x) => !leaders.has(x)) ?? nats.find((x) => x !== streamLead)!
    t.comment(`leaders: ${[...leaders].join(', ')}; killing ${victim}`)
    await cluster.kill9(victim)
    await cluster.kill9('gateway-1')
    t.notOk(cluster.process(victim).running, `${victim} is down`)
    t.equal(cluster.process('gateway-1').pid, undefined, 'gateway-1 is down')

    // Whichever gateway alice was on, haproxy takes a new socket to the live one; the send is
    // retried with the same clientMsgId, as the client library does.
    const failures: string[] = []
    let second: Record<string, unknown> | undefined
    let a2: Socket | undefined
    await waitFor(
      'a send acknowledged after the kills',
      async () => {
        try {
          if (!a2 || a2.closed !== undefined) a2 = await Socket.open(cluster.wsUrl, alice.token)
          const r = await send(a2, `s2-${Date.now()}`, 'cm_cluster_2', 'after the kills', true)
          if (r.type === 'sent') second = r
          else failures.push(`send: ${r.code}`)
          return r.type === 'sent'
        } catch (e) {
          failures.push(`send: ${(e as Error).message}`)
          return false
        }
      },
      30_000,
    )
    t.ok(second, 'stored with a node and a gateway down')
    t.match(await cluster.streamLeader(stream), /^nats-[123]$/, 'the stream has a live leader')

    a1.close()
    a2?.close()

    // Both come back on their ports and data.
    await cluster.restart(victim)
    await cluster.restart('gateway-1')
    t.ok(cluster.process(victim).running && cluster.process('gateway-1').running, 'restarted')

    // Both are in the log, in order, numbered densely, on every live replica's say-so.
    const nc = await connectNats(cluster.natsUrl, 'cluster-test', createLogger('test', 'silent'))
    t.teardown(() => nc.close())
    const jsm = await jetstreamManager(nc)
    const stored = await Promise.all(
      [first.seq, second!.seq].map(async (seq) => {
        const m = await jsm.streams.getMessage(stream, { seq: Number(seq) })
        const e = m!.json<{ type: string; data: { n: number; text: string } }>()
        return [e.type, e.data.n, e.data.text]
      }),
    )
    t.same(stored, [
      ['message.sent', 1, 'before the kills'],
      ['message.sent', 2, 'after the kills'],
    ])
    t.equal((await jsm.streams.info(stream)).config.num_replicas, 3)

    // A new device connects through haproxy once both are back (any gateway may take it).
    const b = await Socket.open(cluster.wsUrl, bob.token)
    t.equal(b.frames[0]?.type, 'hello', 'a new connection is served')
    b.close()
    t.comment(`retries the clients needed: ${failures.length ? failures.join('; ') : 'none'}`)
    t.same(exits, [], 'nothing exited that was not killed on purpose')

    const pids = cluster.processes.map((p) => p.pid!)
    await cluster.stop()
    t.same(pids.filter(isAlive), [], 'stop() leaves no process')
    t.comment(`whole test ${Date.now() - started} ms`)
  },
)
