import t from 'tap'
import { backoffCeiling, backoffDelay, DEFAULT_BACKOFF } from '../src/backoff.js'

const o = { baseMs: 100, maxMs: 1000 }

t.test('the ceiling doubles per attempt and stops at the maximum', async (t) => {
  t.same(
    [0, 1, 2, 3, 4, 5, 50].map((a) => backoffCeiling(a, o)),
    [100, 200, 400, 800, 1000, 1000, 1000],
  )
})

t.test('full jitter spreads the delay over the whole window below the ceiling', async (t) => {
  t.equal(
    backoffDelay(3, o, () => 0),
    0,
  )
  t.equal(
    backoffDelay(3, o, () => 0.5),
    400,
  )
  t.equal(
    backoffDelay(3, o, () => 0.999999),
    799,
  )
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(2, o)
    t.ok(d >= 0 && d < 400, `delay ${d} within [0, 400)`)
  }
})

t.test('the defaults start small and cap at thirty seconds', async (t) => {
  t.equal(backoffCeiling(0, DEFAULT_BACKOFF), 250)
  t.equal(backoffCeiling(20, DEFAULT_BACKOFF), 30_000)
})
