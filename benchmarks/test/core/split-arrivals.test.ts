import t from 'tap'
import { mergeSplitArrivals } from '../../src/core/split-arrivals.js'

const arrival = (key: string, count: number, lastAtUs: number, lastReadAtUs = lastAtUs) => ({
  key,
  sentAtUs: 1_000_000,
  count,
  receivers: 5,
  firstAtUs: 1_001_000,
  lastAtUs,
  lastReadAtUs,
})

t.test("a split group's last member is the latest of the workers' last copies", async (t) => {
  const m = mergeSplitArrivals([
    [arrival('c|0|1', 3, 1_020_000, 1_015_000), arrival('c|0|2', 3, 1_010_000)],
    [arrival('c|0|1', 2, 1_030_000, 1_012_000), arrival('c|0|2', 1, 1_040_000)],
  ])
  t.equal(m.last.totalCount, 1, 'only the message every receiver got counts')
  t.equal(m.last.maxValue, 30_000, 'the later worker decides: 30 ms')
  t.equal(m.lastRead.maxValue, 15_000, 'read batches too, each the latest')
  t.equal(m.incomplete, 1, 'the message with 4 of 5 copies is incomplete')
})

t.test('no arrivals: nothing recorded', async (t) => {
  const m = mergeSplitArrivals([])
  t.equal(m.last.totalCount, 0)
  t.equal(m.incomplete, 0)
})
