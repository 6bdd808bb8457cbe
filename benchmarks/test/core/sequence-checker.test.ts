import t from 'tap'
import { addCounts, SequenceChecker, subtractCounts } from '../../src/core/sequence-checker.js'

const stored = (upTo: number, refused: number[] = []) => new Map([['s', { upTo, refused: new Set(refused) }]])

t.test('counts nothing wrong when every number arrives once and in order', async (t) => {
  const c = new SequenceChecker()
  for (let n = 1; n <= 5; n++) t.equal(c.receive('s', n), 'ok')
  t.same(c.finish(stored(5)), { received: 5, duplicated: 0, outOfOrder: 0, lost: 0 })
})

t.test('counts a number seen twice as one duplicate', async (t) => {
  const c = new SequenceChecker()
  c.receive('s', 1)
  c.receive('s', 2)
  t.equal(c.receive('s', 2), 'duplicate')
  t.same(c.finish(stored(2)), { received: 2, duplicated: 1, outOfOrder: 0, lost: 0 })
})

t.test('counts a late number as out of order, not lost', async (t) => {
  const c = new SequenceChecker()
  c.receive('s', 1)
  t.equal(c.receive('s', 3), 'gap')
  t.equal(c.receive('s', 2), 'late')
  t.same(c.finish(stored(3)), { received: 3, duplicated: 0, outOfOrder: 1, lost: 0 })
})

t.test('counts holes and a missing tail as lost', async (t) => {
  const c = new SequenceChecker()
  c.receive('s', 1)
  c.receive('s', 4)
  t.same(c.finish(stored(6)), { received: 2, duplicated: 0, outOfOrder: 0, lost: 4 })
})

t.test('does not expect numbers the gateway refused', async (t) => {
  const c = new SequenceChecker()
  c.receive('s', 1)
  c.receive('s', 3)
  t.same(c.finish(stored(4, [2, 4])), { received: 2, duplicated: 0, outOfOrder: 0, lost: 0 })
})

t.test('counts every stored message of a stream the receiver never saw as lost', async (t) => {
  const c = new SequenceChecker()
  t.equal(c.finish(stored(3)).lost, 3)
})

t.test('keeps streams apart', async (t) => {
  const c = new SequenceChecker()
  c.receive('a', 1)
  t.equal(c.receive('b', 1), 'ok')
  t.equal(c.receive('a', 1), 'duplicate')
})

t.test("a step's counts are the difference of cumulative ones, and add up again", async (t) => {
  const before = { received: 10, duplicated: 1, outOfOrder: 2, lost: 0 }
  const after = { received: 25, duplicated: 1, outOfOrder: 3, lost: 4 }
  const step = subtractCounts(after, before)
  t.same(step, { received: 15, duplicated: 0, outOfOrder: 1, lost: 4 })
  t.same(addCounts(before, step), after)
})
