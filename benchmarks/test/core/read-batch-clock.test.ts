import t from 'tap'
import { ReadBatchClock } from '../../src/core/read-batch-clock.js'

/** A clock whose batch ends when the test says (what setImmediate does after a poll phase). */
const manual = (maxPerBatch?: number) => {
  const ends: (() => void)[] = []
  const clock = new ReadBatchClock((f) => {
    ends.push(f)
  }, maxPerBatch)
  const endBatch = () => {
    for (const f of ends.splice(0)) f()
  }
  return { clock, endBatch }
}

t.test(
  'frames handed over in one read batch are stamped with the batch start, not their own hand-over',
  async (t) => {
    const { clock, endBatch } = manual()
    t.equal(clock.stamp(1_000), 1_000)
    t.equal(clock.stamp(1_030), 1_000, 'the second socket was read after the first frame was handled')
    t.equal(clock.stamp(31_000), 1_000, 'the 3rd waited 30 ms behind other clients on this thread')
    endBatch()
    t.equal(clock.stamp(200_000), 200_000, 'the next batch starts anew')
    t.equal(clock.stamp(200_040), 200_000)
  },
)

t.test(
  'a batch longer than the cap restarts: a stamp may be late, never earlier than the cap allows',
  async (t) => {
    const { clock } = manual(3)
    t.same(
      [10, 20, 30, 40, 50, 60, 70].map((now) => clock.stamp(now)),
      [10, 10, 10, 40, 40, 40, 70],
    )
  },
)

t.test('the batch ends on the next check phase (setImmediate) by default', async (t) => {
  const clock = new ReadBatchClock()
  t.equal(clock.stamp(5), 5)
  t.equal(clock.stamp(6), 5)
  await new Promise((r) => setImmediate(r))
  t.equal(clock.stamp(7), 7)
})
