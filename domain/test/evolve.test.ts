import type { ChatEvent } from '@chatapp/contracts'
import t from 'tap'
import { evolve } from '../src/evolve.js'
import { successor } from '../src/membership.js'
import {
  acceptedAtOrBefore,
  emptyState,
  fromSnapshot,
  lastSeq,
  nAt,
  RECENT_MESSAGES,
  snapshotCadence,
  toSnapshot,
} from '../src/state.js'
import { ev, given } from '../src/testing/given.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const C = 'u_cccccccc'
const D = 'u_dddddddd'
const G = 'c_group0001'

t.test('folding the same event twice changes nothing (live and stream may both deliver it)', async (t) => {
  const g = given(G, ev.created(G, A, []))
  const msg = ev.message(G, A, 1)
  t.same(evolve(g.state, { seq: 2, lane: 'm', event: msg }), { kind: 'accepted' })
  t.same(evolve(g.state, { seq: 2, lane: 'm', event: msg }), { kind: 'stale' })
  t.equal(g.state.n, 1)
  t.same(evolve(g.state, { seq: 3, lane: 'r', event: ev.delivered(G, A, 2) }), { kind: 'accepted' })
  t.same(evolve(g.state, { seq: 3, lane: 'r', event: ev.delivered(G, A, 2) }), { kind: 'stale' })
  t.equal(lastSeq(g.state), 3)
  // Lanes fold apart: a media state stored before a receipt but folded after it still counts.
  t.same(evolve(g.state, { seq: 2.5, lane: 'm', event: ev.mediaReady(G, 'm_abcdefgh') }), {
    kind: 'accepted',
  })
})

t.test(
  'two messages numbered alike (raced on one predecessor): the second is rejected by every reader',
  async (t) => {
    const g = given(G, ev.created(G, A, [B]), ev.message(G, A, 1), ev.message(G, B, 1), ev.message(G, B, 2))
    t.same(
      g.verdicts.map((v) => v.kind),
      ['accepted', 'accepted', 'rejected', 'accepted'],
    )
    t.equal(g.state.n, 2, 'n stays dense')
    t.equal(g.state.headM, 4)
    t.equal(g.state.lastM, 4)
    t.equal(acceptedAtOrBefore(g.state, 3), 2, 'a rejected event is never a prev: its predecessor stands in')
    t.equal(acceptedAtOrBefore(g.state, 4), 4)
  },
)

t.test("a message that raced past its sender's removal is rejected", async (t) => {
  const g = given(G, ev.created(G, A, [B]), ev.removed(G, A, B), ev.message(G, B, 1))
  t.match(g.verdicts[2], { kind: 'rejected', reason: /not a member/ })
  t.equal(g.state.n, 0)
  t.same(g.state.lastMessage, null)
})

t.test('membership events are judged against the membership they follow', async (t) => {
  const g = given(G, ev.created(G, A, [B, C]))
  const verdict = (e: Parameters<typeof g.and>[0]) => g.and(e).verdicts.at(-1)
  t.match(verdict(ev.added(G, B, D)), { kind: 'rejected', reason: /not an admin/ })
  t.match(verdict(ev.added(G, A, B)), { kind: 'rejected', reason: /already a member/ })
  t.match(verdict(ev.removed(G, A, D)), { kind: 'rejected', reason: /not a member/ })
  t.match(verdict(ev.role(G, A, D, 'admin')), { kind: 'rejected', reason: /not a member/ })
  t.match(verdict(ev.renamed(G, C, 'x')), { kind: 'rejected', reason: /not an admin/ })
  t.match(verdict({ ...ev.left(G, B), data: { userId: C } } as ChatEvent), {
    kind: 'rejected',
    reason: /own behalf/,
  })
  t.match(verdict(ev.left(G, D)), { kind: 'rejected', reason: /not a member/ })
  t.match(verdict(ev.created(G, A, [])), { kind: 'rejected', reason: /already exists/ })
  t.match(verdict({ ...ev.message(G, A, 1), conversationId: 'c_other0001' }), {
    kind: 'rejected',
    reason: /stored under/,
  })
  t.match(verdict({ ...ev.mediaReady(G, 'm_abcdefgh'), actor: A }), { kind: 'rejected', reason: /system/ })
  t.match(verdict({ ...ev.message(G, A, 1), actor: 'system' }), { kind: 'rejected', reason: /user as actor/ })
  t.same(verdict(ev.renamed(G, A, 'fine')), { kind: 'accepted' })
  t.equal(g.state.title, 'fine')
})

t.test('receipts on lane r: batches by the system only, receipts by users only', async (t) => {
  const g = given(G, ev.created(G, A, [B]), ev.message(G, A, 1))
  const onR = (e: Parameters<typeof g.and>[0], seq: number) => evolve(g.state, { seq, lane: 'r', event: e })
  t.match(onR({ ...ev.batch(G, [{ userId: B, upTo: 2 }]), actor: A }, 3), { kind: 'rejected' })
  t.match(onR({ ...ev.read(G, B, 2), actor: 'system' }, 4), { kind: 'rejected' })
  t.match(
    onR(ev.message(G, B, 2), 5),
    { kind: 'rejected', reason: /lane r/ },
    'a message-lane event on r never counts',
  )
  t.equal(g.state.n, 1)
  t.equal(g.state.members.get(B)?.read, 0)
  t.same(onR(ev.batch(G, [{ userId: B, upTo: 2 }], [{ userId: D, upTo: 2 }]), 6), { kind: 'accepted' })
  t.equal(g.state.members.get(B)?.delivered, 2)
  t.notOk(g.state.members.has(D), 'a receipt of a non-member moves nothing')
})

t.test('events of a conversation that was never created, or on the wrong lane, are rejected', async (t) => {
  const g = given(G, ev.message(G, A, 1), ev.read(G, A, 1))
  t.match(g.verdicts, [
    { kind: 'rejected', reason: /before the conversation was created/ },
    { kind: 'rejected' },
  ])
  const w = given(G, ev.created(G, A, []))
  t.match(evolve(w.state, { seq: 9, lane: 'm', event: ev.read(G, A, 1) }), {
    kind: 'rejected',
    reason: /lane m/,
  })
  t.match(given('c_group0002', ev.created('c_group0002', A, [B], 'direct')).verdicts[0], {
    kind: 'rejected',
    reason: /id/,
  })
  t.match(given('d_direct0002', ev.created('d_direct0002', A, [B, C], 'direct')).verdicts[0], {
    kind: 'rejected',
    reason: /two admins/,
  })
  t.match(given('c_group0003', ev.created('c_group0003', A, [B, B])).verdicts[0], {
    kind: 'rejected',
    reason: /twice/,
  })
  const notAdmin = ev.created('c_group0004', A, [B])
  if (notAdmin.type === 'conversation.created') notAdmin.data.members[0]!.role = 'member'
  t.match(given('c_group0004', notAdmin).verdicts[0], { kind: 'rejected', reason: /creator/ })
  t.match(given('d_direct0003', ev.message('d_direct0003', A, 1)).verdicts[0], { kind: 'rejected' })
  const dm = given('d_direct0004', ev.created('d_direct0004', A, [B]), ev.left('d_direct0004', A))
  t.match(dm.verdicts[1], { kind: 'rejected', reason: /group/ })
  t.match(dm.and(ev.renamed('d_direct0004', A, 'x')).verdicts[2], { kind: 'rejected', reason: /groups/ })
})

t.test(
  'when the last admin goes, the longest-standing member becomes admin (join order, then place)',
  async (t) => {
    const left = given(G, ev.created(G, A, [C, B]), ev.left(G, A))
    t.equal(left.state.members.get(C)?.role, 'admin', 'C was listed before B in the same event')
    t.equal(left.state.members.get(B)?.role, 'member')
    const demoted = given(G, ev.created(G, A, [B]), ev.role(G, A, A, 'member'))
    t.equal(
      demoted.state.members.get(A)?.role,
      'admin',
      'the last admin demoting themselves stays the successor',
    )
    const removedSelf = given(G, ev.created(G, A, [B]), ev.removed(G, A, A))
    t.equal(removedSelf.state.members.get(B)?.role, 'admin', 'a removal also hands the group on')
    const later = given(G, ev.created(G, A, []), ev.added(G, A, D), ev.added(G, A, B), ev.removed(G, A, A))
    t.equal(later.state.members.get(D)?.role, 'admin', 'added earlier wins over added later')
    const empty = given(G, ev.created(G, A, []), ev.left(G, A))
    t.equal(empty.state.members.size, 0)
  },
)

t.test('read points: unread counts are exact, and messages before a join are never unread', async (t) => {
  const g = given(G, ev.created(G, A, [B]), ev.message(G, A, 1), ev.message(G, A, 2), ev.message(G, A, 3))
  g.and(ev.read(G, B, 3)) // seq 5: read up to the second message
  t.equal(g.state.members.get(B)?.readN, 2)
  g.and(ev.added(G, A, C)) // seq 6: C joins after three messages
  t.equal(g.state.members.get(C)?.readN, 3, 'earlier messages are not unread for C')
  g.and(ev.read(G, C, 2)) // a watermark before the join leaves the join's read point
  t.equal(g.state.members.get(C)?.readN, 3)
  g.and(ev.message(G, B, 4)) // sending is reading
  t.same([g.state.members.get(B)?.read, g.state.members.get(B)?.readN], [8, 4])
  g.and(ev.delivered(G, C, 100)) // capped at its own sequence
  t.equal(g.state.members.get(C)?.delivered, 9)
})

t.test('a read watermark older than the window of recent messages is unknown, not guessed', async (t) => {
  const g = given(G, ev.created(G, A, [B]))
  for (let n = 1; n <= RECENT_MESSAGES + 10; n++) g.and(ev.message(G, A, n))
  g.and(ev.read(G, B, 5)) // seq 5 holds message 4, long out of the window
  t.equal(g.state.members.get(B)?.readN, -1)
  g.and(ev.read(G, B, g.state.lastM))
  t.equal(g.state.members.get(B)?.readN, RECENT_MESSAGES + 10)
  t.equal(nAt(g.state, 3), undefined)
  t.equal(nAt(g.state, g.state.lastM), RECENT_MESSAGES + 10)
  t.equal(nAt(given(G, ev.created(G, A, [B]), ev.message(G, A, 1)).state, 1), 0, 'a whole window is exact')
})

t.test('a snapshot round-trips the state; other versions are refused', async (t) => {
  const g = given(G, ev.created(G, A, [B]), ev.message(G, A, 1), ev.message(G, B, 1), ev.read(G, B, 2))
  const back = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(g.state))))
  t.same(back, g.state)
  t.equal(fromSnapshot(JSON.parse('{"v":2}')), undefined, 'v2 predates invitations: folded again')
  t.same(emptyState('d_xxxxxxxx').kind, 'direct')
})

t.test('a media message without caption folds; unknown events and commands are refused loudly', async (t) => {
  const media = ev.message(G, A, 1)
  if (media.type === 'message.sent') delete media.data.text
  const g = given(G, ev.created(G, A, []), media)
  t.same(g.state.lastMessage, { seq: 2, n: 1, senderId: A, kind: 'text', at: 1_000 })
  t.match(g.and({ ...ev.renamed(G, A, 'x'), type: 'conversation.exploded' } as never).verdicts.at(-1), {
    kind: 'rejected',
    reason: /unknown event/,
  })
  t.throws(() => g.when({ type: 'group.explode', actor: A } as never), /unhandled command/)
  t.equal(successor('direct', new Map([[A, { role: 'member', joinedSeq: 1, joinOrd: 0 }]])), undefined)
})

t.test(
  'snapshot cadence: every 32 events for small conversations, 8 per member for groups, at most 2,000',
  async (t) => {
    t.equal(snapshotCadence(2), 32)
    t.equal(snapshotCadence(4), 32)
    t.equal(snapshotCadence(20), 160, 'a group: 8 events per member')
    t.equal(snapshotCadence(1024), 2000, 'a large group: bounded')
  },
)
