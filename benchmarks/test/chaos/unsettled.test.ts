import t from 'tap'
import { describeUnsettled } from '../../src/chaos/unsettled.js'

t.test('unsettled sends are named per conversation, against the fault before the first', async (t) => {
  const lines = describeUnsettled(
    [
      { conv: 'c_a', sender: 'u1', at: 12_500 },
      { conv: 'c_a', sender: 'u2', at: 11_000 },
      { conv: 'c_b', sender: 'u1', at: 500 },
    ],
    [
      { target: 'gateway-1', at: 1_000 },
      { target: 'nats-3', at: 9_000 },
    ],
    (c) => (c === 'c_a' ? 3 : 5),
    (u) => `live ${u}`,
  )
  t.same(lines, [
    '2 sends to c_a (shard 3), the first made 2.0 s after kill -9 nats-3; sender u1: live u1; sender u2: live u2',
    '1 sends to c_b (shard 5), the first made before any fault; sender u1: live u1',
  ])
  t.same(
    describeUnsettled(
      [],
      [],
      () => 0,
      () => '',
    ),
    [],
  )
})
