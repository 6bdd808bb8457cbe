import { createServer } from 'node:net'
import { join } from 'node:path'
import { connectNats, createLogger, jetstreamManager } from '@chatapp/kit'
import t from 'tap'
import { allocateNatsNodes, startNatsNodes } from '../../src/cluster/nats-cluster.js'
import { findExecutable } from '../../src/system-packages.js'
import { nodeDir } from '../support/nats-nodes.js'

// A cluster that cannot place an R3 stream is restarted on its nodes' own ports (nats-cluster.test),
// free while they are down: another process may bind one meanwhile (seen under load: "bind: address
// already in use", and the cluster start failed). Here the test holds nats-3's client port before
// the restart; the start begins again on other ports, with the same stores. Its own file: it takes
// half a minute, and the NATS-cluster file needs its time for a slow restart.
t.test(
  'a node that cannot restart on its port sends the start back to the beginning, on other ports',
  { skip: !findExecutable('nats-server') && 'no nats-server' },
  async (t) => {
    const { dir, set } = nodeDir(t)
    // Bound, never talking: a NATS client still dialling the old ports is hung up on at once (an
    // accepted connection left open kept this file running until its timeout).
    const held = createServer((socket) => socket.destroy())
    t.teardown(() => held.close())
    let launches = 0
    const lines: string[] = []
    const started = await startNatsNodes(set, dir, join(dir, 'log'), (m) => lines.push(m), {
      placeTimeoutMs: 3_000,
      // Two of three each launch: placement fails, and the restart is what starts the third.
      running: 2,
      allocate: async (d) => {
        const nodes = await allocateNatsNodes(d)
        if (++launches === 1) {
          const port = nodes[2]!.client
          await new Promise<void>((resolve, reject) => {
            held.once('error', reject)
            held.listen(port, '127.0.0.1', () => resolve())
          })
        }
        return nodes
      },
    })
    t.equal(launches, 2, 'launched again after the failed restart')
    const log = lines.join('\n')
    t.match(
      log,
      /a restarted NATS node did not start \(nats-3 exited before it was ready.*address already in use/s,
    )
    t.match(log, /starting the nodes again on other ports/)
    t.notOk(started.url.includes(`:${(held.address() as { port: number }).port}`), 'not on the held port')
    const nc = await connectNats(started.url, 'cluster-test', createLogger('test', 'silent'))
    t.teardown(() => nc.close())
    const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 3000 })
    await t.resolves(
      jsm.streams.add({ name: 'placed', subjects: ['placed.x'], num_replicas: 3 }),
      'an R3 stream is placed',
    )
  },
)
