import t from 'tap'
import { receiptAudience, receiptVisibleInSync } from '../../src/live/receipt-audience.js'

const recent: [number, string][] = [
  [10, 'u_a'],
  [12, 'u_b'],
  [15, 'u_c'],
  [18, 'u_a'],
]

t.test('in a direct conversation every receipt goes to both users', async (t) => {
  t.equal(receiptAudience('direct', 'u_a', 0, 10, recent), 'all')
  t.ok(receiptVisibleInSync('direct', 'u_b', 'u_a', 1, 0))
})

t.test('in a group a receipt goes to its author and the senders it newly covers', async (t) => {
  t.same([...(receiptAudience('group', 'u_z', 11, 15, recent) as Set<string>)].sort(), ['u_b', 'u_c', 'u_z'])
  t.same(
    [...(receiptAudience('group', 'u_z', 15, 16, recent) as Set<string>)],
    ['u_z'],
    'nothing new covered',
  )
})

t.test('in sync, a group receipt is shown to its author and to anyone who sent at or below it', async (t) => {
  t.ok(receiptVisibleInSync('group', 'u_a', 'u_a', 5, 0))
  t.ok(receiptVisibleInSync('group', 'u_b', 'u_a', 12, 12))
  t.notOk(receiptVisibleInSync('group', 'u_b', 'u_a', 11, 12))
  t.notOk(receiptVisibleInSync('group', 'u_b', 'u_a', 11, 0), 'a member who never sent gets none')
})
