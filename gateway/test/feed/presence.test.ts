import t from 'tap'
import { createRosterJudge, MISSED_REWRITES } from '../../src/feed/presence-roster.js'
import { aggregatePresence, createPresenceView, devicesOnline } from '../../src/feed/presence-view.js'

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

const on = { online: true, lastSeen: null, devices: ['d'] }
const off = (at: number) => ({ online: false, lastSeen: at })

t.test('an answer that was on its way while a newer change arrived does not undo it', async (t) => {
  const v = createPresenceView()
  v.track('u_a')
  t.equal(v.change('u_a', 'g1', on, 7), true, 'came online')
  t.same(v.answer(['u_a'], { gateway: 'g1', seq: 6, users: {} }), [], 'an older answer changes nothing')
  t.same(v.presence('u_a'), { online: true, lastSeen: null })
  t.equal(v.change('u_a', 'g1', off(50), 5), false, 'an older change neither')
  t.same(
    v.answer(['u_a'], { gateway: 'g1', seq: 8, users: {} }),
    ['u_a'],
    'a newer answer holding nothing does',
  )
  t.same(v.presence('u_a'), { online: false, lastSeen: null })
  t.equal(v.change('u_b', 'g1', on, 9), false, 'an untracked user is not held')
  t.same([...v.tracked()], ['u_a'])
  v.forget('u_a')
  t.equal(v.tracks('u_a'), false)
})

t.test('a user stays online while one gateway of two holds them', async (t) => {
  const v = createPresenceView()
  v.track('u_a')
  v.change('u_a', 'g1', on, 1)
  v.change('u_a', 'g2', on, 1)
  t.equal(v.change('u_a', 'g1', off(10), 2), false, 'left one: still online')
  t.equal(v.change('u_a', 'g2', off(20), 2), true, 'left both')
  t.same(v.presence('u_a'), { online: false, lastSeen: 20 })
})

t.test(
  "a gone gateway's online users go offline at its last sign of life; others keep their lastSeen",
  async (t) => {
    const v = createPresenceView()
    for (const u of ['u_a', 'u_b', 'u_c']) v.track(u)
    v.change('u_a', 'g1', on, 1)
    v.change('u_b', 'g1', off(5), 2)
    v.change('u_c', 'g2', on, 1)
    t.same(v.gatewayGone('g1', 100), ['u_a'])
    t.same(v.presence('u_a'), { online: false, lastSeen: 100 })
    t.same(v.presence('u_b'), { online: false, lastSeen: 5 })
    t.same(v.presence('u_c'), { online: true, lastSeen: null })
  },
)

const entry = (rev: number, storedAt?: number) => ({ rev, storedAt, refreshMs: 100, seq: rev })

t.test('a gateway is gone when its roster entry stops being rewritten or disappears', async (t) => {
  const j = createRosterJudge('self')
  t.same(
    j.read(
      new Map([
        ['g1', entry(1)],
        ['self', entry(2)],
      ]),
      0,
    ),
    [],
  )
  t.same(j.live().sort(), ['g1', 'self'])
  t.same(j.read(new Map([['g1', entry(3)]]), 100), [], 'rewritten: alive; this gateway is never judged')
  t.same(j.read(new Map([['g1', entry(3)]]), 100 + MISSED_REWRITES * 100), [], 'three intervals: not yet')
  t.same(j.read(new Map([['g1', entry(3)]]), 101 + MISSED_REWRITES * 100), [
    { gateway: 'g1', lastAlive: 100, clean: false },
  ])
  t.equal(j.isLive('g1'), false)
  j.heard('g2', 500, 100)
  t.ok(j.isLive('g2'), 'heard from before its entry is read')
  t.same(j.read(new Map(), 550), [], 'its entry may not be written yet')
  t.same(
    j.read(new Map(), 601),
    [{ gateway: 'g2', lastAlive: 500, clean: false }],
    'no entry for an interval: gone',
  )
})

t.test('a gateway that deleted its entry left cleanly', async (t) => {
  const j = createRosterJudge()
  j.read(new Map([['g1', entry(1)]]), 0)
  t.same(j.read(new Map([['g1', { ...entry(2), left: true }]]), 10), [
    { gateway: 'g1', lastAlive: 10, clean: true },
  ])
  t.same(j.live(), [])
  t.same(j.read(new Map([['g2', { ...entry(3), left: true }]]), 20), [], 'one never seen alive is not news')
})

t.test('a reader started after a crash judges an entry by its age against the newest one', async (t) => {
  const j = createRosterJudge()
  const gone = j.read(
    new Map([
      ['alive', entry(10, 1_000_000)],
      ['crashed', entry(4, 1_000_000 - 50_000)],
    ]),
    5_000,
  )
  t.same(gone, [{ gateway: 'crashed', lastAlive: 5_000 - 50_000, clean: false }])
  t.same(j.live(), ['alive'])
})
