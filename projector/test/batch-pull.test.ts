import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, waitFor as infraWaitFor, killChild, spawnChild, tcpAnswers } from '@chatapp/infra'
import { connectNats, createLogger, jetstreamManager, type NatsConnection } from '@chatapp/kit'
import { AckPolicy, jetstream } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import t, { type Test } from 'tap'
import { BatchPull, type Pulled } from '../src/batch-pull.js'
import { waitFor } from './support/log.js'

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const nc = await connectNats(url, 'batch-pull-test', createLogger('test', 'silent'))
const jsm = await jetstreamManager(nc)
const js = jetstream(nc)
t.teardown(() => nc.close())

/** A stream and an AckAll consumer of its own, gone when the test ends. */
const streamFor = async (t: Test) => {
  const name = `batchpull-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  await jsm.streams.add({ name, subjects: [`${name}.>`] })
  await jsm.consumers.add(name, { durable_name: 'c', ack_policy: AckPolicy.All })
  t.teardown(() => jsm.streams.delete(name).catch(() => {}))
  return name
}

/** A BatchPull that records every batch it hands over, and applies them at once. */
const puller = (
  t: Test,
  stream: string,
  o: { batch: number; lingerMs: number; lostMs?: number; waitMs?: number },
  conn: NatsConnection = nc,
) => {
  const batches: Pulled[][] = []
  let current: Pulled[] = []
  let gone = 0
  const p: BatchPull = new BatchPull({
    nc: conn,
    stream,
    consumer: 'c',
    ...o,
    message: (m) => current.push(m),
    ready: () => {
      batches.push(current)
      current.at(-1)?.ack()
      current = []
      // The owner applies, then reads on (after the current callback, as the shard loop does).
      queueMicrotask(() => p.next())
    },
    gone: () => gone++,
  })
  t.teardown(() => p.close())
  return { p, batches, gone: () => gone, seqs: () => batches.flat().map((m) => m.seq) }
}

t.test('messages stored within the linger of the first one arrive as ONE batch', async (t) => {
  const stream = await streamFor(t)
  const { p, batches, seqs } = puller(t, stream, { batch: 100, lingerMs: 150 })
  p.start()
  // Ten messages over about 50 ms: all within the first one's linger.
  for (let i = 0; i < 10; i++) {
    await js.publish(`${stream}.x`, `m${i}`)
    await new Promise((r) => setImmediate(r))
  }
  await waitFor(async () => seqs().length >= 10, 5000, 'ten messages')
  t.same(seqs(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'in stream order, each once')
  t.equal(batches.length, 1, 'one batch: one wake-up of the owner, not ten')
  t.same(
    batches[0]!.map((m) => m.deliverySeq),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    'delivery sequences follow each other',
  )
  t.equal(batches[0]!.at(-1)!.pending, 0, 'nothing left in the stream after the last')
  t.equal(batches[0]![0]!.stream, stream)
  t.equal(new TextDecoder().decode(batches[0]![3]!.data), 'm3')
})

t.test('a backlog is read in full batches back to back, then the pull waits again', async (t) => {
  const stream = await streamFor(t)
  for (let i = 0; i < 25; i++) await js.publish(`${stream}.x`, `m${i}`)
  const { p, batches, seqs } = puller(t, stream, { batch: 10, lingerMs: 20 })
  p.start()
  await waitFor(async () => seqs().length >= 25, 5000, 'the backlog')
  t.same(
    batches.map((b) => b.length),
    [10, 10, 5],
  )
  t.same(
    seqs(),
    Array.from({ length: 25 }, (_, i) => i + 1),
  )
  // After the backlog, a new message is a batch of its own (the wait was renewed).
  await js.publish(`${stream}.x`, 'late')
  await waitFor(async () => seqs().length >= 26, 5000, 'the late message')
  t.same(
    batches.at(-1)!.map((m) => m.seq),
    [26],
  )
  const info = await jsm.consumers.info(stream, 'c')
  t.equal(info.ack_floor.stream_seq, 26, 'AckAll on each batch’s last message acknowledged everything')
})

t.test('a consumer deleted while the pull waits is reported gone', async (t) => {
  const stream = await streamFor(t)
  const { p, gone } = puller(t, stream, { batch: 10, lingerMs: 20 })
  p.start()
  // The wait is outstanding once the server lists it.
  await waitFor(async () => (await jsm.consumers.info(stream, 'c')).num_waiting > 0, 5000, 'the waiting pull')
  await jsm.consumers.delete(stream, 'c')
  await waitFor(async () => gone() > 0, 5000, 'gone')
  t.equal(gone(), 1)
})

t.test('a wait nobody answers, not even with its 408, is reported gone', async (t) => {
  const stream = await streamFor(t)
  // The consumer vanished with its server (an R1 consumer on a killed node): a pull request
  // reaches no one. The 408 that ends a wait never comes, and the deadline says so.
  await jsm.consumers.delete(stream, 'c')
  const { p, gone, seqs } = puller(t, stream, { batch: 10, lingerMs: 10, lostMs: 200, waitMs: 300 })
  const started = performance.now()
  p.start()
  await waitFor(async () => gone() > 0, 5000, 'gone')
  t.ok(performance.now() - started >= 450, 'not before the wait and its grace have passed')
  t.equal(gone(), 1, 'once: the owner re-creates the consumer and starts a new reader')
  t.same(seqs(), [])
})

t.test('a wait that ends normally (408) is issued again, not reported gone', async (t) => {
  const stream = await streamFor(t)
  // The pull requests this reader sends, counted on their way out.
  let requests = 0
  const counting = Object.create(nc) as NatsConnection
  counting.publish = (subject, ...rest) => {
    if (subject.includes('.MSG.NEXT.')) requests++
    return nc.publish(subject, ...rest)
  }
  const { p, gone, seqs } = puller(t, stream, { batch: 10, lingerMs: 10, lostMs: 200, waitMs: 300 }, counting)
  p.start()
  await waitFor(async () => requests >= 4, 5000, 'three expiries of the wait, each followed by a new one')
  t.equal(gone(), 0)
  await js.publish(`${stream}.x`, 'after')
  await waitFor(async () => seqs().length >= 1, 5000, 'the message after three renewals')
  t.same(seqs(), [1])
})

const natsServerBin = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find(
  (p) => existsSync(p),
)

// kill -9 of the nats-server while a shard waits for its first event: the server restarts with
// its store (the durable consumer survives), the connection comes back, and the wait the old
// server held is gone with it. `renew` (called on the reconnect, as projector.ts does) asks
// again at once; without it the next event would wait for the old wait's deadline (32 s).
t.test(
  'after the server was killed and restarted, a renewed wait reads the next event at once',
  { skip: !natsServerBin && 'no nats-server' },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'batch-pull-nats-'))
    const port = await freePort()
    const server = () =>
      spawnChild({
        name: 'nats-server',
        command: natsServerBin!,
        args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      })
    let child = server()
    t.teardown(async () => {
      await killChild(child.process)
      rmSync(dir, { recursive: true, force: true })
    })
    await infraWaitFor('the private nats-server', () => tcpAnswers('127.0.0.1', port), 20_000)
    const own = await connect({
      servers: `nats://127.0.0.1:${port}`,
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
    })
    t.teardown(() => own.close())
    const ownJsm = await jetstreamManager(own)
    await ownJsm.streams.add({ name: 'restarted', subjects: ['restarted.>'] })
    await ownJsm.consumers.add('restarted', { durable_name: 'c', ack_policy: AckPolicy.All })
    const { p, gone, seqs } = puller(t, 'restarted', { batch: 10, lingerMs: 10 }, own)
    let reconnects = 0
    void (async () => {
      for await (const s of own.status())
        if (s.type === 'reconnect') {
          reconnects++
          p.renew()
        }
    })()
    p.start()
    await waitFor(
      async () => (await ownJsm.consumers.info('restarted', 'c')).num_waiting > 0,
      5000,
      'the wait',
    )

    await killChild(child.process)
    child = server()
    await waitFor(async () => reconnects > 0, 20_000, 'the reconnect')
    const sentAt = performance.now()
    await jetstream(own).publish('restarted.x', 'after the restart')
    await waitFor(async () => seqs().length >= 1, 5000, 'the event after the restart')
    t.ok(performance.now() - sentAt < 5000, 'read within seconds, not at the old wait’s deadline')
    t.same(seqs(), [1])
    t.equal(gone(), 0, 'the consumer survived the restart: nothing to re-create')
  },
)
