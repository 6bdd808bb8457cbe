import { connectNats, createLogger, jetstreamManager } from '@chatapp/kit'
import { AckPolicy, jetstream } from '@nats-io/jetstream'
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
) => {
  const batches: Pulled[][] = []
  let current: Pulled[] = []
  let gone = 0
  const p: BatchPull = new BatchPull({
    nc,
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

t.test('a wait the server never answers is issued again after its deadline', async (t) => {
  const stream = await streamFor(t)
  // The server lets the wait expire after 300 ms; its 408 is dropped here (as a reconnect would
  // drop the request itself): only the deadline (300 + 200 ms) can renew it.
  const { p, seqs } = puller(t, stream, { batch: 10, lingerMs: 10, lostMs: 200, waitMs: 300 })
  ;(p as unknown as { status: (m: unknown) => void }).status = () => {}
  p.start()
  await waitFor(async () => (await jsm.consumers.info(stream, 'c')).num_waiting > 0, 5000, 'the first wait')
  await waitFor(async () => (await jsm.consumers.info(stream, 'c')).num_waiting === 0, 5000, 'its expiry')
  // Renewed by the deadline: a message now is still delivered.
  await js.publish(`${stream}.x`, 'after')
  await waitFor(async () => seqs().length >= 1, 5000, 'the message after the lost wait')
  t.same(seqs(), [1])
})
