import t from 'tap'
import { colocatedGoMaxProcs } from '../src/go-procs.js'

t.test('local nats-servers get half of the cores between them, at least one each', async (t) => {
  t.equal(colocatedGoMaxProcs(1, {}, 2), '1', 'the 2-core box: one P')
  t.equal(colocatedGoMaxProcs(1, {}, 8), '4')
  t.equal(colocatedGoMaxProcs(3, {}, 2), '1', 'three cluster nodes on two cores: one each, never zero')
  t.equal(colocatedGoMaxProcs(3, {}, 16), '2')
  t.equal(colocatedGoMaxProcs(0, {}, 4), '2', 'no servers counts as one')
  t.equal(colocatedGoMaxProcs(1, {}, 1), '1')
})

t.test("an operator's own GOMAXPROCS is kept", async (t) => {
  t.equal(colocatedGoMaxProcs(1, { GOMAXPROCS: '6' }, 2), '6')
  t.equal(colocatedGoMaxProcs(3, { GOMAXPROCS: '' }, 8), '1', 'an empty value is not a choice')
})
