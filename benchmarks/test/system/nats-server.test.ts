import { createServer } from 'node:net'
import { availableParallelism } from 'node:os'
import { natsServerGoEnv } from '@chatapp/infra'
import t from 'tap'
import { Cleanup } from '../../src/system/cleanup.js'
import {
  listeningInodes,
  pidListeningOn,
  sharedNats,
  startPrivateNats,
} from '../../src/system/nats-server.js'
import { readGoGc } from '../../src/system/proc-stat.js'

const TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:107E 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:107E 0100007F:A2C4 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0`

t.test('finds the listening socket of a port in /proc/net/tcp, not its connections', async (t) => {
  t.same([...listeningInodes([TABLE], 4222)], ['4242'])
  t.same([...listeningInodes([TABLE], 8080)], ['4444'])
  t.same([...listeningInodes([TABLE, ''], 9999)], [])
})

t.test('finds the process listening on a port (this one)', async (t) => {
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  t.teardown(() => server.close())
  const port = (server.address() as { port: number }).port
  t.equal(pidListeningOn(port), process.pid)
  t.equal(sharedNats(`nats://127.0.0.1:${port}`).pid(), process.pid)
  t.equal(pidListeningOn(1), 0, 'nothing listens there')
})

t.test("the run's private nats-server runs on every core, or on what --nats-procs says", async (t) => {
  for (const [procs, expected] of [
    [0, String(availableParallelism())],
    [3, '3'],
  ] as const) {
    const cleanup = new Cleanup()
    t.teardown(() => cleanup.run())
    const nats = await startPrivateNats(cleanup, () => {}, procs)
    const varz = (await (await fetch(`${nats.monitorUrl}/varz`)).json()) as { gomaxprocs: number }
    t.equal(String(varz.gomaxprocs), expected, `--nats-procs ${procs}`)
    await cleanup.run()
  }
})

t.test("the run's private nats-server runs with production's GOGC, and the probe reads it", async (t) => {
  const cleanup = new Cleanup()
  t.teardown(() => cleanup.run())
  const nats = await startPrivateNats(cleanup, () => {})
  t.equal(readGoGc(nats.pid()), natsServerGoEnv().GOGC, 'the drop-in’s value (ADR 0229)')
  t.equal(readGoGc(process.pid), process.env.GOGC ?? '100', 'unset: Go’s default')
  t.equal(readGoGc(2 ** 22 + 1), undefined, 'no such process: unknown')
})
