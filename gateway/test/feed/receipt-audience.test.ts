import type { ChatEvent } from '@chatapp/contracts'
import { receiptEntries } from '@chatapp/domain'
import t from 'tap'
import {
  receiptAudience,
  receiptEventVisibleInSync,
  receiptVisibleInSync,
} from '../../src/feed/receipt-audience.js'

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

const event = (type: ChatEvent['type'], actor: string, data: unknown): ChatEvent =>
  ({ v: 1, type, id: 'e1', conversationId: 'c_audience1', actor, at: 1, data }) as ChatEvent

t.test('a receipt event stands for its entries: one for a plain receipt, one per batch entry', async (t) => {
  t.same(receiptEntries(event('receipt.read', 'u_a', { upTo: 4 })), [
    { userId: 'u_a', kind: 'read', upTo: 4 },
  ])
  const batch = event('receipt.batch', 'system', {
    delivered: [{ userId: 'u_b', upTo: 5 }],
    read: [{ userId: 'u_c', upTo: 3 }],
  })
  t.same(receiptEntries(batch), [
    { userId: 'u_b', kind: 'delivered', upTo: 5 },
    { userId: 'u_c', kind: 'read', upTo: 3 },
  ])
  t.same(receiptEntries(event('conversation.renamed', 'u_a', { title: 'x' })), [])
})

t.test(
  'sync replays a batch to an author of an entry or a sender at or below its highest upTo',
  async (t) => {
    const entries = receiptEntries(
      event('receipt.batch', 'system', {
        delivered: [{ userId: 'u_b', upTo: 5 }],
        read: [{ userId: 'u_c', upTo: 3 }],
      }),
    )
    t.ok(receiptEventVisibleInSync('group', 'u_c', entries, 0), 'an author')
    t.ok(receiptEventVisibleInSync('group', 'u_a', entries, 5), 'first sent at the highest upTo')
    t.notOk(receiptEventVisibleInSync('group', 'u_a', entries, 6), 'first sent after every entry')
    t.notOk(receiptEventVisibleInSync('group', 'u_d', entries, 0), 'never sent, wrote nothing')
  },
)
