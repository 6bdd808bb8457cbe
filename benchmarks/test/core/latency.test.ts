import t from 'tap'
import {
  encodeHistogram,
  mergeHistograms,
  newHistogram,
  recordUs,
  summarize,
} from '../../src/core/latency.js'

t.test('summarizes microseconds as milliseconds at the usual percentiles', async (t) => {
  const h = newHistogram()
  for (let i = 1; i <= 1000; i++) recordUs(h, i * 1000)
  const s = summarize(h)
  t.equal(s.count, 1000)
  t.ok(Math.abs(s.p50 - 500) <= 1, `p50 ${s.p50}`)
  t.ok(Math.abs(s.p99 - 990) <= 1, `p99 ${s.p99}`)
  t.ok(Math.abs(s.max - 1000) <= 1, `max ${s.max}`)
})

t.test('an empty histogram summarizes to zeros', async (t) => {
  t.same(summarize(newHistogram()), { count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 })
})

t.test('histograms from several workers merge into one', async (t) => {
  const a = newHistogram()
  const b = newHistogram()
  recordUs(a, 1000)
  recordUs(b, 3000)
  recordUs(b, 3000)
  const m = mergeHistograms([encodeHistogram(a), encodeHistogram(b)])
  t.equal(m.totalCount, 3)
  t.ok(Math.abs(summarize(m).max - 3) < 0.01)
})

t.test('out-of-range values are clamped instead of thrown', async (t) => {
  const h = newHistogram()
  recordUs(h, -5)
  recordUs(h, 1e12)
  t.equal(h.totalCount, 2)
})
