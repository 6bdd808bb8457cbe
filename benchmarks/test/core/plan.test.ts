import t from 'tap'
import {
  directPlan,
  groupPlan,
  rampRates,
  sourceAddresses,
  splitCount,
  splitRate,
  username,
} from '../../src/core/plan.js'

t.test('pairs users and keeps each pair on one worker', async (t) => {
  const plans = directPlan(9, 2, 'x')
  const convs = plans.flatMap((p) => p.conversations)
  t.equal(convs.length, 4, 'the odd user is left out')
  for (const p of plans)
    for (const c of p.conversations)
      for (const m of c.members)
        t.ok(
          p.users.some((u) => u.index === m),
          `member ${m} is on its worker`,
        )
  t.same(
    plans.map((p) => p.slots),
    [4, 4],
  )
})

t.test('puts a whole group on one worker with one send slot', async (t) => {
  const plans = groupPlan(3, 5, 2, 'x')
  t.same(
    plans.map((p) => p.conversations.length),
    [2, 1],
  )
  t.equal(plans[0]!.users.length, 10)
  t.equal(plans[0]!.slots, 2)
  t.same(plans[1]!.conversations[0]!.members, [5, 6, 7, 8, 9])
})

t.test(
  'deals the members of fewer groups than workers over every worker; the first worker owns and sends',
  async (t) => {
    const plans = groupPlan(1, 5, 2, 'x')
    t.same(
      plans.map((p) => p.users.map((u) => u.index)),
      [
        [0, 2, 4],
        [1, 3],
      ],
    )
    t.same(
      plans.map((p) => p.conversations.map((c) => c.split)),
      [[{ key: 'g0', local: [0, 2, 4], owner: true }], [{ key: 'g0', local: [1, 3], owner: false }]],
    )
    for (const p of plans)
      t.same(p.conversations[0]!.members, [0, 1, 2, 3, 4], 'every worker knows all members')
    t.same(
      plans.map((p) => p.slots),
      [1, 0],
      'only the owner sends',
    )
    t.same(splitRate(5, plans), [5, 0])
    t.notOk(
      groupPlan(2, 5, 2, 'x').some((p) => p.conversations.some((c) => c.split)),
      'as many groups as workers: whole groups',
    )
  },
)

t.test('splits a rate by send slots and a count evenly', async (t) => {
  t.same(splitRate(300, [{ slots: 2 }, { slots: 1 }] as never), [200, 100])
  t.same(splitRate(300, [{ slots: 0 }] as never), [0])
  t.same(splitCount(10, 3), [4, 3, 3])
})

t.test('usernames fit the registration pattern', async (t) => {
  t.match(username('mi2xk3b1a2b3cd', 199_999), /^[a-z0-9_.]{3,32}$/)
})

t.test('source addresses are loopback and ramp rates step up to the max', async (t) => {
  t.same(sourceAddresses(3), ['127.0.0.1', '127.0.0.2', '127.0.0.3'])
  t.same(rampRates(500, 500, 1600), [500, 1000, 1500])
})
