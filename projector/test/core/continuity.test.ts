import t from 'tap'
import { admit, type DeliveryCursor, follows } from '../../src/core/continuity.js'

t.test('an entry follows the offset only as its next sequence, unless a jump is vouched for', async (t) => {
  const server = { kind: 'server' } as const
  t.ok(follows(10, 11, server))
  t.notOk(follows(10, 12, server), 'a hole')
  const vouched = { kind: 'server', vouch: { from: 11, to: 15 } } as const
  t.ok(follows(10, 15, vouched), 'the server said nothing lies in 11..14')
  t.notOk(follows(10, 16, vouched), 'but not in 15')
  t.ok(follows(12, 15, vouched), 'an offset inside the vouched range (another writer moved it)')
  t.notOk(follows(9, 15, vouched), 'an offset before the vouched range: 10 may exist')
  t.ok(follows(10, 99, { kind: 'reader' }), 'an ordered read vouches for every jump')
})

t.test(
  'a fresh consumer instance may start past its start sequence only with its very first delivery',
  async (t) => {
    const c: DeliveryCursor = { startSeq: 5 }
    t.ok(admit(c, { seq: 8, deliverySeq: 1, redelivered: false }))
    t.same(c.vouch, { from: 5, to: 8 })
    t.ok(admit(c, { seq: 9, deliverySeq: 2, redelivered: false }))
    t.notOk(admit(c, { seq: 11, deliverySeq: 3, redelivered: false }), 'a later jump is a gap')
    t.notOk(admit(c, { seq: 9, deliverySeq: 3, redelivered: true }), 'so is going back')
  },
)

t.test('a first delivery that is not the instance’s first ever vouches for nothing', async (t) => {
  // Delivery 1 went to a pull request that was lost in flight: seq 6 may exist.
  t.notOk(admit({ startSeq: 5 }, { seq: 7, deliverySeq: 2, redelivered: false }))
  t.notOk(admit({ startSeq: 5 }, { seq: 7, deliverySeq: 1, redelivered: true }))
  const exact: DeliveryCursor = { startSeq: 5 }
  t.ok(
    admit(exact, { seq: 5, deliverySeq: 3, redelivered: true }),
    'the start sequence itself is always fine',
  )
  t.equal(exact.vouch, undefined)
  t.equal(exact.next, 6)
})
