import t from 'tap'
import { KeyedRateLimiter, take } from '../../../src/transport/http/rate-limiter.js'

t.test('a fresh bucket allows the burst, then refuses with the wait until the next token', async (t) => {
  const spec = { perSecond: 2, burst: 3 }
  let b = take(undefined, spec, 0)
  t.ok(b.ok)
  b = take(b.bucket, spec, 0)
  b = take(b.bucket, spec, 0)
  t.ok(b.ok, 'third of the burst')
  const refused = take(b.bucket, spec, 0)
  t.same(refused.ok, false)
  t.equal(refused.ok ? -1 : refused.retryAfterMs, 500)
  const later = take(refused.bucket, spec, 499)
  t.same(later.ok, false, 'not yet')
  t.ok(take(later.bucket, spec, 500).ok, 'one token after 1/perSecond')
})

t.test('refills to the burst and no further', async (t) => {
  const spec = { perSecond: 10, burst: 2 }
  const r = take({ tokens: 0, at: 0 }, spec, 60_000)
  t.ok(r.ok)
  t.equal(r.bucket.tokens, 1)
})

t.test('keys are independent and memory stays bounded', async (t) => {
  const rl = new KeyedRateLimiter({ perSecond: 1, burst: 1 }, 10)
  t.ok(rl.take('a', 0).ok)
  t.notOk(rl.take('a', 0).ok)
  t.ok(rl.take('b', 0).ok, 'another key has its own bucket')
  for (let i = 0; i < 100; i++) rl.take(`k${i}`, 0)
  t.ok(rl.size <= 10, `size ${rl.size}`)
  for (let i = 0; i < 20; i++) rl.take(`late${i}`, 5000)
  t.ok(rl.size <= 10, 'refilled buckets are dropped first')
  t.throws(() => new KeyedRateLimiter({ perSecond: 0, burst: 1 }))
})
