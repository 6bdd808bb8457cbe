import t from 'tap'
import { inboxEntry, unreadCount } from '../src/inbox.js'
import { receiptEntries } from '../src/receipts.js'
import { ev, given } from '../src/testing/given.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const G = 'c_group0001'
const DM = 'd_direct0001'

t.test('an inbox entry counts unread messages after the read point, for members only', async (t) => {
  const g = given(G, ev.created(G, A, [B]), ev.message(G, A, 1), ev.message(G, A, 2), ev.read(G, B, 2))
  t.match(inboxEntry(g.state, B), {
    unread: 1,
    readUpTo: 2,
    deliveredUpTo: 2,
    role: 'member',
    memberCount: 2,
  })
  t.match(inboxEntry(g.state, B, 0), { unread: 2 }, 'a read point resolved elsewhere overrides')
  t.match(inboxEntry(g.state, A), { unread: 0, lastMessage: { n: 2, senderId: A } })
  t.equal(inboxEntry(g.state, 'u_zzzzzzzz'), undefined)
  t.equal(inboxEntry(given('c_none0001').state, A), undefined)
  const dm = given(DM, ev.created(DM, A, [B]))
  t.match(inboxEntry(dm.state, A), { peerId: B, kind: 'direct', lastMessage: null })
  t.equal(unreadCount(3, 5), 0)
  g.state.members.get(B)!.readN = -1
  t.match(inboxEntry(g.state, B), { unread: 2 }, 'unknown counts every message (callers resolve it first)')
})

t.test('receipt entries: one per single receipt, one per batch entry, none otherwise', async (t) => {
  t.same(receiptEntries(ev.read(G, A, 3)), [{ userId: A, kind: 'read', upTo: 3 }])
  t.same(receiptEntries(ev.delivered(G, A, 3)), [{ userId: A, kind: 'delivered', upTo: 3 }])
  t.same(receiptEntries(ev.batch(G, [{ userId: A, upTo: 1 }], [{ userId: B, upTo: 2 }])), [
    { userId: A, kind: 'delivered', upTo: 1 },
    { userId: B, kind: 'read', upTo: 2 },
  ])
  t.same(receiptEntries(ev.message(G, A, 1)), [])
})
