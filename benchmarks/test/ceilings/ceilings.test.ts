import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { measureCompute } from '../../src/ceilings/compute-ceiling.js'
import { measureJetStream } from '../../src/ceilings/jetstream-ceiling.js'
import { measureWakeups } from '../../src/ceilings/wakeup-ceiling.js'
import { measureWsEcho, startEchoServer } from '../../src/ceilings/ws-echo-ceiling.js'
import { WorkerPool } from '../../src/load/pool.js'
import { Cleanup } from '../../src/system/cleanup.js'

t.test('the JetStream ceiling appends to a temporary stream like a shard, and removes it', async (t) => {
  const tn = await createTestNamespace({ shards: 1 })
  t.teardown(tn.cleanup)
  const c = await measureJetStream({
    nc: tn.nc,
    names: tn.names,
    textBytes: 100,
    durationMs: 400,
    window: 8,
    conversations: 10,
  })
  t.ok(c.floor.count > 0 && c.atMax.count > 0, 'both measures have samples')
  t.ok(c.maxRate > 0)
  t.equal(c.window, 8)
  t.ok(c.msgBytes > 100, 'the payload is a whole event, larger than its text')
  const { jetstreamManager } = await import('@chatapp/kit')
  const jsm = await jetstreamManager(tn.nc)
  await t.rejects(jsm.streams.info(`${tn.ns}-ceiling`), 'the temporary stream is gone')
})

t.test('the WebSocket ceiling echoes through uWebSockets.js from the load workers', async (t) => {
  const cleanup = new Cleanup()
  t.teardown(() => cleanup.run())
  const echo = await startEchoServer(cleanup)
  t.ok(echo.port > 0)
  const pool = new WorkerPool(2, cleanup)
  const c = await measureWsEcho(pool, echo.port, { connections: 3, depth: 2, msgBytes: 100, durationMs: 300 })
  t.equal(c.connections, 3)
  t.ok(c.maxRate > 0 && c.rtt.count > 0, `echoed ${c.rtt.count}`)
})

t.test('the wake-up price: two processes exchange messages with a sleep between them', async (t) => {
  const c = await measureWakeups({ messages: 60, gapMs: 1 })
  t.equal(c.messages, 60, 'the warm-up round trip is not counted')
  t.equal(c.gapMs, 1)
  // Both sides' CPU, per message; the answering side's alone per message it answered.
  t.ok(c.usPerMessage > 0 && c.echoUsPerMessage > 0, `${c.usPerMessage} µs, echo ${c.echoUsPerMessage} µs`)
  t.ok(c.usPerMessage < 10_000, 'a message costs far less than 10 ms of CPU')
})

t.test('a wake-up probe that cannot run: a clear rejection, not a hang', async (t) => {
  const started = Date.now()
  await t.rejects(
    measureWakeups({ messages: 10, gapMs: 1, probe: '/nonexistent/wakeup-probe.js' }),
    /wake-up probe \(echo\) exited \(1\) without a result: .*Cannot find module/,
  )
  t.ok(Date.now() - started < 10_000, 'well within its bound')
})

t.test(
  'the compute price: a stored chat message decoded, checked and written again, per event',
  async (t) => {
    const c = await measureCompute({ events: 5_000 })
    t.equal(c.events, 5_000, 'the warm-up is not counted')
    t.ok(c.usPerEvent > 0, `${c.usPerEvent} µs per event`)
    t.ok(c.usPerEvent < 1_000, 'an event costs far less than a millisecond')
  },
)

t.test('a compute probe that cannot run, or is given no events: a clear rejection', async (t) => {
  await t.rejects(
    measureCompute({ events: 10, probe: '/nonexistent/compute-probe.js' }),
    /compute probe exited \(1\) without a result: .*Cannot find module/,
  )
  await t.rejects(measureCompute({ events: 0 }), /compute probe exited \(2\) without a result: usage/)
})
