import t from 'tap'
import { bucketBound, bucketsBetween, describeFanout } from '../../src/system/fanout-probe.js'

const INF = Number.POSITIVE_INFINITY
const cumulative = (pairs: [number, number][]) => new Map(pairs)

t.test('a percentile is the first bucket bound that holds that share of the observations', async (t) => {
  const c = cumulative([
    [0.005, 10],
    [0.01, 60],
    [0.025, 99],
    [0.05, 100],
    [INF, 100],
  ])
  t.equal(bucketBound(c, 0.5), 0.01)
  t.equal(bucketBound(c, 0.99), 0.025)
  t.equal(bucketBound(c, 1), 0.05)
  t.equal(
    bucketBound(
      cumulative([
        [0.01, 0],
        [INF, 4],
      ]),
      0.5,
    ),
    INF,
    'past the last bound',
  )
})

t.test("a step's observations are the end's counts less the start's, per class", async (t) => {
  const before = new Map([
    [
      '257+',
      cumulative([
        [0.01, 5],
        [INF, 8],
      ]),
    ],
  ])
  const after = new Map([
    [
      '257+',
      cumulative([
        [0.01, 6],
        [INF, 18],
      ]),
    ],
    [
      '1',
      cumulative([
        [0.01, 3],
        [INF, 3],
      ]),
    ],
  ])
  const d = bucketsBetween(before, after)
  t.same(
    [...d.get('257+')!],
    [
      [0.01, 1],
      [INF, 10],
    ],
  )
  t.same(
    [...d.get('1')!],
    [
      [0.01, 3],
      [INF, 3],
    ],
    'a class new in the step counts from zero',
  )
  t.same(describeFanout(d), {
    'gateway fan-out, rooms of 1 local devices (arrival → last device)':
      'p50 ≤ 10 ms, p99 ≤ 10 ms (3 messages; histogram bounds)',
    'gateway fan-out, rooms of 257+ local devices (arrival → last device)':
      'p50 over the last bound, p99 over the last bound (10 messages; histogram bounds)',
  })
  t.same(
    describeFanout(bucketsBetween(after, after)),
    {},
    'a class without messages in the step says nothing',
  )
})
