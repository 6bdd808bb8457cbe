import { mediaKeys } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { jetstream } from '@nats-io/jetstream'
import t from 'tap'
import { type MediaStore, s3MediaStore } from '../src/store.js'
import { png } from './support/fixtures.js'
import { harness } from './support/harness.js'

const tn = await createTestNamespace({ shards: 1 })
t.teardown(tn.cleanup)
// A short lease, so redeliveries happen within the test.
const h = await harness(tn, 1000)
t.teardown(h.close)

// The store as S3 outages make it look: downloads of the chosen originals fail `failures` times.
const real = s3MediaStore(h.s3, tn.names.s3Bucket)
const failing = new Map<string, number>()
const flaky: MediaStore = {
  ...real,
  download: async (key, path, max) => {
    const left = failing.get(key) ?? 0
    if (left > 0) {
      failing.set(key, left - 1)
      throw Object.assign(new Error('connect ECONNREFUSED (S3 unreachable)'), { name: 'TimeoutError' })
    }
    return real.download(key, path, max)
  },
}

t.test('a job whose attempts keep dying with their worker ends as media.failed, not in a loop', async (t) => {
  const job = await h.submit('image', 'image/png', await png(8, 8))
  const crashed = await jetstream(tn.nc).consumers.get(tn.names.mediaJobStream, tn.names.mediaWorkerConsumer)
  // Two workers took it and died (no ack): with MEDIA_MAX_ATTEMPTS = 2 the third delivery is one too many.
  for (let i = 1; i <= 2; i++) {
    const m = await crashed.next({ expires: 5000 })
    t.equal(m?.info.deliveryCount, i, `delivery ${i} taken and lost`)
  }
  await h.startWorker({ store: flaky, maxAttempts: 2 })
  const e = await h.outcome(job, 15_000)
  t.match(e, { type: 'media.failed', data: { code: 'MEDIA_PROCESSING_FAILED', reason: /did not finish/ } })
})

t.test('a transient S3 failure is retried after a delay and then succeeds', async (t) => {
  const job = await h.submit('image', 'image/png', await png(8, 8))
  failing.set(mediaKeys.original(job.mediaId), 1)
  const e = await h.outcome(job, 15_000)
  t.equal(e.type, 'media.ready')
  t.equal(failing.get(mediaKeys.original(job.mediaId)), 0, 'the first attempt did fail')
})

t.test('a failure that lasts past the last attempt ends as MEDIA_PROCESSING_FAILED', async (t) => {
  const job = await h.submit('image', 'image/png', await png(8, 8))
  failing.set(mediaKeys.original(job.mediaId), 100)
  const e = await h.outcome(job, 20_000)
  t.match(e, {
    type: 'media.failed',
    data: { code: 'MEDIA_PROCESSING_FAILED', reason: /2 attempts: .*S3 unreachable/ },
  })
  t.equal(failing.get(mediaKeys.original(job.mediaId)), 98, 'exactly two attempts')
  const text = await h.registry.metrics()
  t.match(text, /media_jobs_total\{kind="image",outcome="retry"\} [1-9]/)
})

t.test('a job that is not a valid MediaJob is dropped without stopping the worker', async (t) => {
  await jetstream(tn.nc).publish(
    tn.names.mediaJobSubject('image'),
    new TextEncoder().encode('{"v":1,"mediaId":"x"}'),
  )
  const job = await h.submit('image', 'image/png', await png(8, 8))
  t.equal((await h.outcome(job, 15_000)).type, 'media.ready')
  t.match(await h.registry.metrics(), /media_jobs_total\{kind="unknown",outcome="invalid"\} 1/)
})
