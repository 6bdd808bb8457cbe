import t from 'tap'
import { aggregatePresence, devicesOnline } from '../../src/feed/presence.js'

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

t.test('a device is online while a gateway that says the user is online lists it', async (t) => {
  t.same([...devicesOnline([])], [])
  t.same(
    [
      ...devicesOnline([
        { online: true, lastSeen: null, devices: ['phone', 'tab'] },
        { online: false, lastSeen: 5, devices: ['laptop'] },
        { online: true, lastSeen: null },
      ]),
    ].sort(),
    ['phone', 'tab'],
    'an offline value and one written before devices were listed count for no device',
  )
})
