import t from 'tap'
import { EventTracker } from '../src/event-tracker.js'

const C = 'd_conv0001'

t.test('the first event of an unknown conversation is its baseline, whatever its prev', async (t) => {
  const tr = new EventTracker()
  t.equal(tr.check(C, 'm', 40, 37), 'new')
  t.equal(tr.commit(C, 'm', 40), 40)
  t.equal(tr.check(C, 'r', 41, 12), 'new', 'the other lane has no baseline yet either')
})

t.test('drops an event whose seq was already processed on its lane', async (t) => {
  const tr = new EventTracker()
  tr.commit(C, 'm', 5)
  t.equal(tr.check(C, 'm', 5, 3), 'duplicate')
  t.equal(tr.check(C, 'm', 4, 3), 'duplicate')
  t.equal(tr.check(C, 'm', 6, 5), 'new')
})

t.test('lanes interleave without false gaps: prev names the previous event of the same lane', async (t) => {
  const tr = new EventTracker()
  tr.seed({ [C]: 10 })
  t.equal(tr.check(C, 'r', 12, 7), 'new', 'a receipt whose previous receipt is older than the cursor')
  tr.commit(C, 'r', 12)
  t.equal(tr.check(C, 'm', 13, 10), 'new')
  tr.commit(C, 'm', 13)
  t.equal(tr.check(C, 'r', 14, 12), 'new')
  t.equal(tr.cursor(C), 13)
})

t.test('a prev beyond the last seen seq of the lane is a gap', async (t) => {
  const tr = new EventTracker()
  tr.seed({ [C]: 10 })
  t.equal(tr.check(C, 'm', 20, 15), 'gap')
})

t.test('a gap holds the cursor before the hole until it is closed', async (t) => {
  const tr = new EventTracker()
  tr.commit(C, 'm', 10)
  tr.commit(C, 'r', 11)
  t.equal(tr.openGap(C, 'm'), 10, 'resync from the last m event')
  t.equal(tr.openGap(C, 'm'), undefined, 'only one resync at a time')
  t.ok(tr.hasGap(C))
  t.equal(tr.commit(C, 'r', 14), 10, 'other lane still advances, the cursor does not')
  t.same(tr.cursors(), { [C]: 10 })
  // the resync replays 12 (the hole), 14 (already seen on r), 15
  t.equal(tr.check(C, 'm', 12, 10), 'new')
  tr.commit(C, 'm', 12)
  t.equal(tr.check(C, 'r', 14, 11), 'duplicate')
  t.equal(tr.check(C, 'm', 15, 12), 'new')
  tr.commit(C, 'm', 15)
  t.equal(tr.closeGap(C), 15)
  t.equal(tr.cursor(C), 15)
  t.notOk(tr.hasGap(C))
})

t.test('gaps of unknown conversations cannot be opened and closing them is harmless', async (t) => {
  const tr = new EventTracker()
  t.equal(tr.openGap('d_unknown1', 'r'), undefined)
  t.equal(tr.closeGap('d_unknown1'), undefined)
  t.equal(tr.cursor('d_unknown1'), undefined)
})

t.test('lists the conversations with an outstanding resync', async (t) => {
  const tr = new EventTracker()
  tr.commit(C, 'm', 3)
  tr.commit('c_group001', 'r', 7)
  tr.commit('c_group002', 'r', 8)
  tr.openGap(C, 'm')
  tr.openGap('c_group001', 'r')
  t.same(tr.gaps(), [C, 'c_group001'])
  tr.closeGap(C)
  t.same(tr.gaps(), ['c_group001'])
})

t.test('seeding never moves a conversation backwards, nor past an open gap', async (t) => {
  const tr = new EventTracker()
  tr.commit(C, 'm', 20)
  tr.seed({ [C]: 5 })
  t.equal(tr.cursor(C), 20)
  tr.seed({ [C]: 30 })
  t.equal(tr.cursor(C), 30)
  t.equal(tr.check(C, 'm', 25, 20), 'duplicate')
  tr.openGap(C, 'm')
  tr.seed({ [C]: 40 })
  t.equal(tr.cursor(C), 30)
})

t.test('a rejoin makes the join event and later events new, not a hole', async (t) => {
  const tr = new EventTracker()
  tr.commit(C, 'm', 10) // removed at 10
  tr.commit(C, 'r', 8)
  t.equal(tr.check(C, 'm', 40, 35), 'gap', 're-added at 40, after events we may not see')
  tr.rejoin(C, 40)
  t.equal(tr.check(C, 'm', 40, 35), 'new')
  tr.commit(C, 'm', 40)
  t.equal(tr.check(C, 'r', 41, 30), 'new', 'a receipt whose previous receipt was while we were out')
  tr.rejoin(C, 5)
  t.equal(tr.check(C, 'm', 40, 35), 'duplicate', 'a rejoin never moves a lane back')
  tr.rejoin('d_unknown1', 3)
  t.equal(tr.cursor('d_unknown1'), undefined)
})
