import type { ChatEvent } from '@chatapp/contracts'
import t from 'tap'
import { addsDirectly, hasWrittenIn } from '../src/consent.js'
import type { Command } from '../src/decide.js'
import { effectsOf, invitationChanges } from '../src/effects.js'
import { invitationStandings } from '../src/standing.js'
import { fromSnapshot, toSnapshot } from '../src/state.js'
import { ev, given } from '../src/testing/given.js'

const A = 'u_aaaaaaaa' // admin
const B = 'u_bbbbbbbb' // member
const V = 'u_vvvvvvvv' // lets nobody add them
const W = 'u_wwwwwwww' // another unwilling user
const known = new Set([A, B, V, W])
const addable = new Set([A, B])
const G = 'c_group0001'
const DM = 'd_direct0001'
const small = {
  limits: { maxTextLength: 10, maxCaptionLength: 5, maxGroupMembers: 3, editWindowMs: 1, deleteWindowMs: 1 },
}

const outcome = (g: ReturnType<typeof given>, c: Command, ctx = small) => {
  const d = g.when(c, ctx)
  return d.ok ? d.events.map((e) => e.type) : d.code
}
const group = (...more: ChatEvent[]) => given(G, ev.created(G, A, [B]), ...more)
const accept = (actor: string): Command => ({ type: 'group.invite.accept', actor })
const decline = (actor: string): Command => ({ type: 'group.invite.decline', actor })
const add = (userId: string, who = addable): Command => ({
  type: 'group.add',
  actor: A,
  userId,
  known,
  addable: who,
})

t.test('creating a group invites the named users it may not add, and adds the others', async (t) => {
  const d = given('c_group0002').when({
    type: 'group.create',
    actor: A,
    title: 't',
    memberIds: [B, V, W],
    known,
    addable,
  })
  t.ok(d.ok)
  if (!d.ok) return
  const created = d.events[0] as Extract<ChatEvent, { type: 'conversation.created' }>
  t.same(created.data.members, [
    { userId: A, role: 'admin' },
    { userId: B, role: 'member' },
  ])
  t.same(created.data.invited, [V, W])
  const g = given('c_group0002', created)
  t.same([...g.state.invited.keys()], [V, W])
  t.same(g.state.invited.get(V), { by: A, seq: 1, at: 1_000 })
  t.equal(g.state.members.has(V), false, 'an invited user is not a member')
  const plain = given('c_group0003').when({
    type: 'group.create',
    actor: A,
    title: 't',
    memberIds: [B],
    known,
    addable,
  })
  t.ok(plain.ok && !('invited' in (plain.events[0] as typeof created).data), 'no invitations: no field')
})

t.test(
  'a create with a client id answers a retry with nothing to do; without one it is a collision',
  async (t) => {
    const g = group()
    const create: Command = { type: 'group.create', actor: A, title: 't', memberIds: [], known, addable }
    t.same(outcome(g, { ...create, idempotent: true }), [])
    t.equal(outcome(g, create), 'INTERNAL')
  },
)

t.test('an admin adding an unwilling user invites them, once; a decline is final', async (t) => {
  const g = group()
  t.same(outcome(g, add(V)), ['member.invited'])
  g.and(ev.invited(G, A, V))
  t.same(outcome(g, add(V)), [], 'already invited')
  t.same(outcome(g, add(V, known)), ['member.added'], 'adding directly is still possible once allowed')
  g.and(ev.uninvited(G, V))
  t.ok(g.state.declined.has(V))
  t.equal(outcome(g, add(V)), 'INVITE_DECLINED')
  t.equal(outcome(g, { type: 'group.add', actor: A, userId: 'u_nobody00', known, addable }), 'USER_NOT_FOUND')
  g.and(ev.added(G, A, V))
  t.notOk(g.state.declined.has(V), 'becoming a member lifts a decline')
  t.equal(outcome(g, add(W, known)), 'GROUP_FULL', 'the group is full (3)')
})

t.test('pending invitations are bounded like members', async (t) => {
  const g = given(G, ev.created(G, A, [], 'group', [V, W, B]))
  t.equal(outcome(g, add('u_another1', new Set()), small), 'USER_NOT_FOUND')
  const more = new Set([...known, 'u_another1'])
  t.equal(
    outcome(g, { type: 'group.add', actor: A, userId: 'u_another1', known: more, addable }),
    'GROUP_FULL',
  )
})

t.test('the invitee accepts or declines; nobody else can, and repeating is harmless', async (t) => {
  const g = group(ev.invited(G, A, V), ev.invited(G, A, W))
  t.same(outcome(g, accept(B)), [], 'a member has nothing to accept')
  t.equal(outcome(g, accept('u_stranger')), 'NO_INVITATION', 'someone not invited')
  t.equal(outcome(given('c_nothing01'), accept(V)), 'NO_INVITATION', 'no such group: the same answer')
  t.equal(outcome(g, decline('u_stranger')), 'NO_INVITATION')
  t.same(outcome(g, accept(V)), ['member.joined'])
  t.same(outcome(g, decline(W)), ['member.invite_cancelled'])
  g.and(ev.joined(G, V), ev.uninvited(G, W))
  t.equal(g.state.members.get(V)?.role, 'member')
  t.equal(g.state.members.get(V)?.joinedSeq, 4)
  t.equal(g.state.invited.size, 0)
  t.same(outcome(g, accept(V)), [], 'accepting again: already a member')
  t.same(outcome(g, decline(W)), [], 'declining again: already declined')
  t.equal(outcome(g, accept(W)), 'NO_INVITATION', 'a decline cannot be taken back by accepting')
  t.equal(
    outcome(group(ev.invited(G, A, V), ev.added(G, A, W)), accept(V)),
    'GROUP_FULL',
    'accepting respects the member limit',
  )
})

t.test('removing an invited user withdraws the invitation; it is not a decline', async (t) => {
  const g = group(ev.invited(G, A, V))
  t.same(outcome(g, { type: 'group.remove', actor: A, userId: V }), ['member.invite_cancelled'])
  t.same(outcome(g, { type: 'group.remove', actor: A, userId: W }), [], 'neither member nor invited')
  g.and(ev.uninvited(G, A, V))
  t.equal(g.state.invited.size, 0)
  t.notOk(g.state.declined.has(V))
  t.same(outcome(g, add(V)), ['member.invited'], 'can be invited again')
})

t.test('readers reject invitation events the log does not allow at their place', async (t) => {
  const g = group(ev.invited(G, A, V))
  const verdict = (e: ChatEvent) => g.and(e).verdicts.at(-1)
  t.match(verdict(ev.invited(G, B, W)), { kind: 'rejected', reason: /not an admin/ })
  t.match(verdict(ev.invited(G, A, B)), { kind: 'rejected', reason: /already a member/ })
  t.match(verdict(ev.invited(G, A, V)), { kind: 'rejected', reason: /already invited/ })
  t.match(verdict(ev.joined(G, W)), { kind: 'rejected', reason: /no pending invitation/ })
  t.match(verdict({ ...ev.joined(G, A), data: { userId: V } } as ChatEvent), {
    kind: 'rejected',
    reason: /own behalf/,
  })
  t.match(verdict(ev.uninvited(G, B, V)), { kind: 'rejected', reason: /not an admin/ })
  t.match(verdict(ev.uninvited(G, A, W)), { kind: 'rejected', reason: /no pending invitation/ })
  t.match(verdict(ev.uninvited(G, V)), { kind: 'accepted' })
  t.match(verdict(ev.invited(G, A, V)), { kind: 'rejected', reason: /declined/ })
  t.match(verdict(ev.joined(G, V)), { kind: 'rejected', reason: /no pending invitation/ })

  const dm = given(DM)
  t.match(dm.and(ev.created(DM, A, [B], 'direct', [V])).verdicts.at(-1), {
    kind: 'rejected',
    reason: /no invitations/,
  })
  t.match(
    given(G)
      .and(ev.created(G, A, [B], 'group', [V, V]))
      .verdicts.at(-1),
    {
      kind: 'rejected',
      reason: /invited twice/,
    },
  )
  t.match(
    given(G)
      .and(ev.created(G, A, [B], 'group', [B]))
      .verdicts.at(-1),
    {
      kind: 'rejected',
      reason: /both invited and a member/,
    },
  )
  t.match(
    given(DM, ev.created(DM, A, [B]))
      .and(ev.invited(DM, A, V))
      .verdicts.at(-1),
    {
      kind: 'rejected',
      reason: /applies to groups/,
    },
  )
})

t.test('everything decide allows about invitations, admit accepts on the same state', async (t) => {
  const base = () => group(ev.invited(G, A, V))
  const commands: Command[] = [
    add(W),
    add(V, known),
    accept(V),
    decline(V),
    { type: 'group.remove', actor: A, userId: V },
  ]
  for (const c of commands) {
    const d = base().when(c)
    t.ok(d.ok, c.type)
    if (!d.ok) continue
    t.same(
      base()
        .and(...d.events)
        .verdicts.at(-1),
      { kind: 'accepted' },
      `${c.type} is admitted`,
    )
  }
  const created = given('c_group0009').when({
    type: 'group.create',
    actor: A,
    title: 't',
    memberIds: [B, V],
    known,
    addable,
  })
  t.ok(created.ok && given('c_group0009', ...created.events).verdicts.every((v) => v.kind === 'accepted'))
})

t.test('an invitation notifies the invitee on their invitation subject, its end too', async (t) => {
  const created = effectsOf(ev.created(G, A, [B], 'group', [V]), 1)
  t.match(created, [
    { kind: 'notice', notice: { userId: A, joined: true } },
    { kind: 'notice', notice: { userId: B, joined: true } },
    {
      kind: 'invitation',
      id: `${G}:1:${V}:invitation`,
      notice: { userId: V, pending: true, by: A, conversationId: G, convSeq: 1 },
    },
  ])
  t.match(effectsOf(ev.invited(G, A, W), 5), [{ kind: 'invitation', notice: { userId: W, pending: true } }])
  t.match(effectsOf(ev.joined(G, W), 6), [
    { kind: 'notice', id: `${G}:6:${W}`, notice: { userId: W, joined: true } },
    { kind: 'invitation', id: `${G}:6:${W}:invitation`, notice: { userId: W, pending: false, by: W } },
  ])
  t.match(effectsOf(ev.uninvited(G, A, V), 7), [
    { kind: 'invitation', notice: { userId: V, pending: false, by: A } },
  ])
  t.same(invitationChanges(ev.added(G, A, V)), [])
})

t.test('a snapshot keeps pending invitations and declines', async (t) => {
  const g = group(ev.invited(G, A, V), ev.invited(G, A, W), ev.uninvited(G, W))
  const back = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(g.state))))
  t.same(back, g.state)
  t.same([...(back?.invited.keys() ?? [])], [V])
  t.same([...(back?.declined ?? [])], [W])
})

t.test(
  'a contact is someone you wrote to in your direct conversation; settings decide who adds directly',
  async (t) => {
    const dm = given(DM, ev.created(DM, A, [V]))
    t.notOk(hasWrittenIn(dm.state, V), 'opening a conversation makes nobody a contact')
    dm.and(ev.message(DM, A, 1))
    t.notOk(hasWrittenIn(dm.state, V), 'being written to does not either')
    t.ok(hasWrittenIn(dm.state, A))
    dm.and(ev.message(DM, V, 2))
    t.ok(hasWrittenIn(dm.state, V), 'writing back does')
    t.notOk(hasWrittenIn(given(DM).state, V), 'no conversation')
    t.notOk(hasWrittenIn(dm.state, W), 'not in it')
    t.notOk(hasWrittenIn(group(ev.message(G, B, 1)).state, B), 'a group is not a direct conversation')
    t.same(
      (['everyone', 'contacts', 'nobody'] as const).flatMap((s) => [
        addsDirectly(s, true),
        addsDirectly(s, false),
      ]),
      [true, true, true, false, false, false],
    )
  },
)

t.test('invitation standings: one rule for every fold that keeps invitations', async (t) => {
  const s = (e: ChatEvent) => invitationStandings(e).map((x) => [x.userId, x.standing])
  t.same(s(ev.created(G, A, [B], 'group', [V])), [
    [A, 'none'],
    [B, 'none'],
    [V, 'invited'],
  ])
  t.same(s(ev.invited(G, A, V)), [[V, 'invited']])
  t.same(s(ev.joined(G, V)), [[V, 'none']])
  t.same(s(ev.added(G, A, V)), [[V, 'none']], 'becoming a member lifts a decline')
  t.same(s(ev.uninvited(G, V)), [[V, 'declined']], 'the invitee ending it declines')
  t.same(s(ev.uninvited(G, A, V)), [[V, 'none']], 'an admin ending it withdraws')
  t.same(s(ev.message(G, A, 1)), [])
  // The fold applies them: a withdrawn invitation can be made again, a declined one cannot.
  const g = group(ev.invited(G, A, V), ev.uninvited(G, A, V), ev.invited(G, A, V), ev.uninvited(G, V))
  t.same(
    g.verdicts.map((v) => v.kind),
    ['accepted', 'accepted', 'accepted', 'accepted', 'accepted'],
  )
  t.equal(g.state.invited.has(V), false)
  t.equal(g.state.declined.has(V), true)
  g.and(ev.invited(G, A, V))
  t.equal(g.verdicts.at(-1)?.kind, 'rejected')
  g.and(ev.added(G, A, V))
  t.equal(g.state.declined.has(V), false, 'added after declining: the decline is lifted')
})
