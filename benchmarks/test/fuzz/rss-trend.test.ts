import t from 'tap'
import { rssTrend } from '../../src/fuzz/rss-trend.js'

const MiB = 2 ** 20

t.test('warm-up growth in the first half and a level second half is flat', async (t) => {
  const s = Array.from({ length: 100 }, (_, i) => ({
    frames: i * 10_000,
    rssBytes: (i < 40 ? 100 + i * 2 : 180 + (i % 3)) * MiB,
  }))
  const r = rssTrend(s)
  t.ok(r.flat)
  t.equal(r.startBytes, 100 * MiB)
  t.ok(r.secondHalfGrowthBytes <= 2 * MiB)
  t.ok(Math.abs(r.secondHalfSlopePer100k) < MiB)
})

t.test('steady growth through the second half is a leak', async (t) => {
  const s = Array.from({ length: 100 }, (_, i) => ({ frames: i * 10_000, rssBytes: (100 + i) * MiB }))
  const r = rssTrend(s)
  t.notOk(r.flat)
  t.ok(r.secondHalfGrowthBytes >= 45 * MiB)
  t.ok(Math.abs(r.secondHalfSlopePer100k - 10 * MiB) < MiB)
  t.equal(r.peakBytes, 199 * MiB)
})

t.test('no samples or one is not evidence of flatness', async (t) => {
  t.notOk(rssTrend([]).flat)
  t.notOk(rssTrend([{ frames: 10, rssBytes: MiB }]).flat)
})
