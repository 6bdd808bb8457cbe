import t from 'tap'
import { aggregatePresence } from '../../src/feed/presence.js'

t.test('a user is online while any gateway says so, else last seen at the latest offline', async (t) => {
  t.same(aggregatePresence([]), { online: false, lastSeen: null })
  t.same(
    aggregatePresence([
      { online: false, lastSeen: 5 },
      { online: true, lastSeen: null },
    ]),
    { online: true, lastSeen: null },
  )
  t.same(
    aggregatePresence([
      { online: false, lastSeen: 5 },
      { online: false, lastSeen: 9 },
      { online: false, lastSeen: null },
    ]),
    { online: false, lastSeen: 9 },
  )
})
