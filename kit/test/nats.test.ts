import { kvSpecs, names, streamSpecs } from '@chatapp/contracts'
import t from 'tap'
import { createLogger } from '../src/logger.js'
import {
  connectNats,
  deleteNamespaceStreams,
  ensureKv,
  ensureStreams,
  jetstreamManager,
  natsUp,
} from '../src/nats.js'

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const ns = `k${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`

t.test('creates streams and KV buckets idempotently, with RePublish on conversation shards', async (t) => {
  const nc = await connectNats(url, 'kit-test', createLogger('test', 'silent'))
  t.teardown(() => nc.close())
  const jsm = await jetstreamManager(nc)
  t.teardown(() => deleteNamespaceStreams(jsm, ns))
  t.ok(natsUp(nc)())
  const n = names(ns, 2)
  await ensureStreams(jsm, streamSpecs(n))
  await ensureStreams(jsm, streamSpecs(n)) // second run updates in place
  await ensureKv(nc, kvSpecs(n))
  await ensureKv(nc, kvSpecs(n))
  const conv = await jsm.streams.info(n.convStream(1))
  t.equal(conv.config.republish?.dest, `${ns}.live.conv.1.>`)
  t.equal(conv.config.allow_direct, true)
  const jobs = await jsm.streams.info(n.mediaJobStream)
  t.equal(jobs.config.retention, 'workqueue')
  const kv = await jsm.streams.info(`KV_${n.presenceBucket}`)
  t.equal(kv.config.max_age, 60_000 * 1e6)
  const removed = await deleteNamespaceStreams(jsm, ns)
  t.equal(removed, streamSpecs(n).length + kvSpecs(n).length)
})
