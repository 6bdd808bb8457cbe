import t from 'tap'
import { backoffMs, outcomeOf, retryAfterMs } from '../../../src/push/worker/retry.js'

t.test('2xx is accepted, 404/410 gone, 429/5xx retried, other 4xx refused', async (t) => {
  t.same(outcomeOf(201), { kind: 'accepted' })
  t.same(outcomeOf(410), { kind: 'gone', status: 410 })
  t.same(outcomeOf(404), { kind: 'gone', status: 404 })
  t.same(outcomeOf(429, 3000), { kind: 'retry', reason: 'rate_limited', retryAfterMs: 3000 })
  t.same(outcomeOf(503), { kind: 'retry', reason: 'server_error' })
  t.same(outcomeOf(403), { kind: 'refused', status: 403 })
  t.same(outcomeOf(301), { kind: 'refused', status: 301 }, 'a redirect is not followed')
})

t.test('backoff doubles with equal jitter, is capped, and honours Retry-After up to the cap', async (t) => {
  const p = { maxAttempts: 5, baseMs: 100, maxMs: 1000 }
  t.equal(backoffMs(p, 1, 0), 50)
  t.ok(backoffMs(p, 1, 0.999999) < 100, 'at most the full step')
  t.equal(backoffMs(p, 3, 0), 200)
  t.equal(backoffMs(p, 10, 1), 1000, 'capped')
  t.equal(backoffMs(p, 1, 0, 700), 700, 'Retry-After wins when longer')
  t.equal(backoffMs(p, 1, 0, 60_000), 1000, 'but not past the cap')
})

t.test('Retry-After in seconds or as a date', async (t) => {
  t.equal(retryAfterMs('3', 0), 3000)
  t.equal(retryAfterMs(new Date(10_000).toUTCString(), 4000), 6000)
  t.equal(retryAfterMs('soon', 0), undefined)
  t.equal(retryAfterMs(null, 0), undefined)
})
