import type { ChatEvent } from '@chatapp/contracts'
import t from 'tap'
import { type ConvState, type LogPosition, project } from '../../src/core/project.js'
import type { Change } from '../../src/core/rows.js'
import { created, DIRECT, ev, GROUP, sent, U } from '../support/events.js'

const pos = (seq: number, e: ChatEvent): LogPosition => ({
  seq,
  conversationId: e.conversationId,
  lane: e.type.startsWith('receipt.') ? 'r' : 'm',
})

/** given events (seq 1…), when one more, then its changes. */
const given = (...events: ChatEvent[]) => {
  let state: ConvState | undefined
  let seq = 0
  for (const e of events) {
    const r = project(state, e, pos(++seq, e))
    if (!r.ok) throw new Error(r.reason)
    state = r.state
  }
  return {
    state,
    when: (e: ChatEvent, at = seq + 1) => project(state, e, pos(at, e)),
  }
}
const of = <T extends Change['t']>(changes: Change[], t: T) =>
  changes.filter((c): c is Extract<Change, { t: T }> => c.t === t)

t.test('conversation.created makes the conversation row and one member row per member', async (t) => {
  const r = given().when(created(), 1)
  t.ok(r.ok)
  if (!r.ok) return
  t.match(of(r.changes, 'conversation')[0]!.row, { kind: 'group', title: 'Team', memberCount: 3, lastN: 0 })
  t.same(
    of(r.changes, 'member').map((m) => [m.row.userId, m.row.role, m.row.joinOrd]),
    [
      [U.ann, 'admin', 0],
      [U.bob, 'member', 1],
      [U.cat, 'member', 2],
    ],
  )
})

t.test('a second conversation.created is rejected by the domain rules', async (t) => {
  const r = given(created()).when(created())
  t.same(r, { ok: false, reason: 'the conversation already exists' })
})

t.test('a direct conversation must have a d_ id', async (t) => {
  const e = { ...created(DIRECT, [U.ann, U.bob]), conversationId: GROUP }
  const r = given().when(e)
  t.notOk(r.ok)
})

t.test('an event for a conversation never created is rejected', async (t) => {
  const r = given().when(sent(GROUP, U.ann, 1))
  t.match(r, { ok: false, reason: /before the conversation was created/ })
})

t.test('a message numbered other than the next n is rejected, as every reader of the log does', async (t) => {
  const g = given(created(), sent(GROUP, U.ann, 1))
  t.match(g.when(sent(GROUP, U.bob, 3)), { ok: false, reason: 'numbered 3 where 2 comes next' })
  t.match(g.when(sent(GROUP, U.bob, 1)), { ok: false, reason: 'numbered 1 where 2 comes next' })
  t.match(g.when(sent(GROUP, U.bob, 2)), { ok: true })
})

t.test('an event stored under another conversation or lane is refused', async (t) => {
  const g = given(created())
  const e = sent(GROUP, U.ann, 1)
  t.match(project(g.state, e, { seq: 2, conversationId: 'c_other001', lane: 'm' }), { ok: false })
  t.match(project(g.state, e, { seq: 2, conversationId: GROUP, lane: 'r' }), { ok: false, reason: /lane r/ })
})

t.test('message.sent adds a message, moves the cursor and counts n', async (t) => {
  const r = given(created()).when(sent(GROUP, U.bob, 1, 'hi'), 7)
  if (!r.ok) return t.fail(r.reason)
  t.match(of(r.changes, 'message')[0]!.row, { seq: 7, n: 1, senderId: U.bob, text: 'hi', mediaId: null })
  t.match(of(r.changes, 'conversation')[0]!.row, { lastSeq: 7, lastMsgSeq: 7, lastN: 1 })
  t.same(of(r.changes, 'watermark')[0]!.patch, {
    conversationId: GROUP,
    userId: U.bob,
    delivered: 7,
    read: 7,
  })
})

t.test('message.sent by a non-member or by system is refused', async (t) => {
  t.match(given(created()).when(sent(GROUP, U.dan, 1)), { ok: false, reason: /not a member/ })
  t.match(given(created()).when(sent(GROUP, 'system', 1)), { ok: false })
})

t.test('a media message makes a pending media record; ready and failed update it', async (t) => {
  const media = { mediaId: 'm_photo001', kind: 'image' as const, mime: 'image/jpeg', size: 10 }
  const msg = ev('message.sent', GROUP, U.ann, {
    clientMsgId: 'cmid-photo1',
    deviceId: 'd',
    n: 1,
    kind: 'image',
    media,
  })
  const g = given(created())
  const r = g.when(msg)
  if (!r.ok) return t.fail(r.reason)
  t.match(of(r.changes, 'media')[0]!.patch, { state: 'pending', ref: media })
  t.equal(of(r.changes, 'message')[0]!.row.mediaId, 'm_photo001')
  const ready = given(created(), msg).when(
    ev('media.ready', GROUP, 'system', {
      mediaId: 'm_photo001',
      variants: [{ name: 'thumb', mime: 'image/webp', size: 3 }],
      width: 10,
      height: 5,
      durationMs: 0,
      placeholder: 'data:',
      waveform: [1],
    }),
  )
  if (!ready.ok) return t.fail(ready.reason)
  t.match(of(ready.changes, 'media')[0]!.patch, { state: 'ready', width: 10, height: 5, waveform: [1] })
  const failed = given(created(), msg).when(
    ev('media.failed', GROUP, 'system', {
      mediaId: 'm_photo001',
      code: 'MEDIA_CORRUPT',
      reason: 'truncated',
    }),
  )
  if (!failed.ok) return t.fail(failed.reason)
  t.match(of(failed.changes, 'media')[0]!.patch, { state: 'failed', failureCode: 'MEDIA_CORRUPT' })
})

t.test('receipts are watermarks; read implies delivered', async (t) => {
  const g = given(created(), sent(GROUP, U.ann, 1))
  const d = g.when(ev('receipt.delivered', GROUP, U.bob, { upTo: 2 }))
  const r = g.when(ev('receipt.read', GROUP, U.bob, { upTo: 2 }))
  if (!d.ok || !r.ok) return t.fail('refused')
  t.same(of(d.changes, 'watermark')[0]!.patch, {
    conversationId: GROUP,
    userId: U.bob,
    delivered: 2,
    read: 0,
  })
  t.same(of(r.changes, 'watermark')[0]!.patch, {
    conversationId: GROUP,
    userId: U.bob,
    delivered: 2,
    read: 2,
  })
  t.match(g.when(ev('receipt.read', GROUP, 'system', { upTo: 2 })), { ok: false })
})

t.test('a receipt cannot acknowledge beyond its own place in the log', async (t) => {
  const r = given(created(), sent(GROUP, U.ann, 1)).when(
    ev('receipt.read', GROUP, U.bob, { upTo: 1_000_000 }),
    3,
  )
  if (!r.ok) return t.fail(r.reason)
  t.match(of(r.changes, 'watermark')[0]!.patch, { delivered: 3, read: 3 })
})

t.test(
  'a receipt batch folds as the single receipts it stands for, capped at its own sequence',
  async (t) => {
    const g = given(created(), sent(GROUP, U.ann, 1))
    const r = g.when(
      ev('receipt.batch', GROUP, 'system', {
        delivered: [
          { userId: U.bob, upTo: 2 },
          { userId: U.cat, upTo: 1_000_000 },
        ],
        read: [{ userId: U.bob, upTo: 2 }],
      }),
      3,
    )
    if (!r.ok) return t.fail(r.reason)
    t.same(
      of(r.changes, 'watermark').map((c) => c.patch),
      [
        { conversationId: GROUP, userId: U.bob, delivered: 2, read: 0 },
        { conversationId: GROUP, userId: U.cat, delivered: 3, read: 0 },
        { conversationId: GROUP, userId: U.bob, delivered: 2, read: 2 },
      ],
    )
    t.same(r.state, g.state, 'a batch changes no conversation state')
    const byUser = g.when(ev('receipt.batch', GROUP, U.bob, { delivered: [], read: [] }))
    t.match(byUser, { ok: false }, 'only the system writes batches')
  },
)

t.test('renaming, adding and changing roles update members and the conversation', async (t) => {
  const g = given(created())
  const rn = g.when(ev('conversation.renamed', GROUP, U.ann, { title: 'New' }))
  if (!rn.ok) return t.fail(rn.reason)
  t.equal(of(rn.changes, 'conversation')[0]!.row.title, 'New')
  const add = g.when(ev('member.added', GROUP, U.ann, { userId: U.dan, role: 'member' }), 9)
  if (!add.ok) return t.fail(add.reason)
  t.match(of(add.changes, 'member')[0]!.row, { userId: U.dan, joinedSeq: 9, active: true })
  t.equal(of(add.changes, 'conversation')[0]!.row.memberCount, 4)
  t.match(g.when(ev('member.added', GROUP, U.ann, { userId: U.bob, role: 'member' })), { ok: false })
  const role = g.when(ev('member.role_changed', GROUP, U.ann, { userId: U.bob, role: 'admin' }))
  if (!role.ok) return t.fail(role.reason)
  t.match(of(role.changes, 'member')[0]!.row, { userId: U.bob, role: 'admin' })
  t.match(g.when(ev('member.role_changed', GROUP, U.ann, { userId: U.dan, role: 'admin' })), { ok: false })
})

t.test('invitations are standings rows; accepting one makes a member like an add', async (t) => {
  const g = given({ ...created(), data: { ...created().data, invited: [U.dan] } })
  t.equal(g.state!.members.has(U.dan), false, 'an invited user has no member row')
  t.match(g.state!.invited.get(U.dan), { state: 'invited', by: U.ann, seq: 1 })
  t.match(g.when(ev('member.invited', GROUP, U.ann, { userId: U.dan }), 7), {
    ok: false,
    reason: `${U.dan} is already invited`,
  })
  const withdrawn = g.when(ev('member.invite_cancelled', GROUP, U.ann, { userId: U.dan }), 7)
  if (!withdrawn.ok) return t.fail(withdrawn.reason)
  t.same(
    withdrawn.changes.map((c) => c.t),
    ['conversation', 'invitation'],
  )
  t.same(of(withdrawn.changes, 'invitation')[0], {
    t: 'invitation',
    conversationId: GROUP,
    userId: U.dan,
    row: null,
  })
  t.match(of(withdrawn.changes, 'conversation')[0]!.row, { lastSeq: 7, memberCount: 3 })
  const declined = g.when(ev('member.invite_cancelled', GROUP, U.dan, { userId: U.dan }), 8)
  if (!declined.ok) return t.fail(declined.reason)
  t.match(of(declined.changes, 'invitation')[0]!.row, { state: 'declined', by: U.dan, seq: 8 })
  t.ok(declined.state.declined.has(U.dan))
  t.match(
    project(declined.state, ev('member.invited', GROUP, U.ann, { userId: U.dan }), {
      seq: 9,
      conversationId: GROUP,
      lane: 'm',
    }),
    { ok: false, reason: `${U.dan} declined an invitation` },
    'a decline is final',
  )
  const joined = g.when(ev('member.joined', GROUP, U.dan, { userId: U.dan }), 9)
  if (!joined.ok) return t.fail(joined.reason)
  t.match(of(joined.changes, 'member')[0]!.row, {
    userId: U.dan,
    role: 'member',
    joinedSeq: 9,
    joinOrd: 0,
    active: true,
  })
  t.same(of(joined.changes, 'invitation')[0]!.row, null, 'joining ends the invitation')
  t.equal(of(joined.changes, 'conversation')[0]!.row.memberCount, 4)
  t.equal(joined.state.invited.size, 0)
  t.equal(g.state!.invited.size, 1, 'the state it started from is left as it was')
  t.match(g.when(ev('member.joined', GROUP, U.bob, { userId: U.bob })), { ok: false }, 'no invitation')
})

t.test('member.joined without an invitation is rejected (it used to make a member)', async (t) => {
  t.match(given(created()).when(ev('member.joined', GROUP, U.dan, { userId: U.dan })), {
    ok: false,
    reason: `${U.dan} has no pending invitation`,
  })
})

t.test('member.removed deactivates the member without promoting anyone', async (t) => {
  const g = given(created(), ev('member.role_changed', GROUP, U.ann, { userId: U.bob, role: 'admin' }))
  const r = g.when(ev('member.removed', GROUP, U.bob, { userId: U.ann }), 5)
  if (!r.ok) return t.fail(r.reason)
  t.same(
    of(r.changes, 'member').map((m) => m.row),
    [{ ...g.state!.members.get(U.ann)!, active: false, leftSeq: 5 }],
  )
  t.equal(r.state.members.size, 2)
  t.match(g.when(ev('member.removed', GROUP, U.bob, { userId: U.dan })), { ok: false })
})

t.test('when the last admin leaves, the longest-standing member becomes admin', async (t) => {
  // dan joined later than bob and cat; bob is first in the creation list, so bob is promoted
  const g = given(created(), ev('member.added', GROUP, U.ann, { userId: U.dan, role: 'member' }))
  const r = g.when(ev('member.left', GROUP, U.ann, { userId: U.ann }))
  if (!r.ok) return t.fail(r.reason)
  const rows = of(r.changes, 'member').map((m) => [m.row.userId, m.row.role, m.row.active])
  t.same(rows, [
    [U.ann, 'admin', false],
    [U.bob, 'admin', true],
  ])
  t.equal(r.state.members.get(U.bob)!.role, 'admin')
})

t.test('when an admin leaves and another admin remains, nobody is promoted', async (t) => {
  const g = given(created(), ev('member.role_changed', GROUP, U.ann, { userId: U.cat, role: 'admin' }))
  const r = g.when(ev('member.left', GROUP, U.ann, { userId: U.ann }))
  if (!r.ok) return t.fail(r.reason)
  t.equal(of(r.changes, 'member').length, 1)
})

t.test('the domain succession rule runs on removal and demotion too, as in every other fold', async (t) => {
  const g = given(created(), ev('member.added', GROUP, U.ann, { userId: U.dan, role: 'member' }))
  // The longest-standing member is the admin herself: demoting the last admin changes nothing.
  const demoted = g.when(ev('member.role_changed', GROUP, U.ann, { userId: U.ann, role: 'member' }))
  if (!demoted.ok) return t.fail(demoted.reason)
  t.same(
    of(demoted.changes, 'member').map((m) => [m.row.userId, m.row.role]),
    [
      [U.ann, 'member'],
      [U.ann, 'admin'],
    ],
  )
  t.equal(demoted.state.members.get(U.ann)!.role, 'admin')
  const removed = g.when(ev('member.removed', GROUP, U.ann, { userId: U.ann }))
  if (!removed.ok) return t.fail(removed.reason)
  t.equal(removed.state.members.get(U.bob)!.role, 'admin')
})

t.test('a direct conversation cannot be left', async (t) => {
  t.match(given(created(DIRECT, [U.ann, U.bob])).when(ev('member.left', DIRECT, U.ann, { userId: U.ann })), {
    ok: false,
    reason: 'only a group member can leave',
  })
})

t.test('the last member leaving leaves nobody to promote', async (t) => {
  const g = given(created(GROUP, [U.ann, U.bob]), ev('member.left', GROUP, U.ann, { userId: U.ann }))
  const r = g.when(ev('member.left', GROUP, U.bob, { userId: U.bob }))
  if (!r.ok) return t.fail(r.reason)
  t.equal(r.state.members.size, 0)
  t.equal(of(r.changes, 'conversation')[0]!.row.memberCount, 0)
})
