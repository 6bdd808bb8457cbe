import type { ChatEvent } from '@chatapp/contracts'
import t from 'tap'
import { admit } from '../src/admit.js'
import type { Command, Decision } from '../src/decide.js'
import { joinRequestStandings } from '../src/join-requests.js'
import { fromSnapshot, toSnapshot } from '../src/state.js'
import { ev, given, testContext } from '../src/testing/given.js'

/** Invite links that need an admin's approval (ADR 0217), as given / when / then. */
const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const R = 'u_requester'
const S = 'u_second01'
const G = 'c_group0001'
const DM = 'd_direct0001'
const LINK = 'L'.repeat(16)
const OPEN = 'O'.repeat(16)
const HASH = 'h'.repeat(43)
const onM = { conversationId: G, lane: 'm' as const }

const outcome = (d: Decision) => (d.ok ? d.events.map((e) => e.type) : d.code)
const events = (d: Decision): ChatEvent[] => {
  if (!d.ok) throw new Error(`refused: ${d.code}`)
  return d.events
}
const joinBy = (actor: string, linkId = LINK): Command => ({
  type: 'group.link.join',
  actor,
  linkId,
  hash: HASH,
})
const approve = (actor: string, userId: string): Command => ({ type: 'group.join.approve', actor, userId })
const deny = (actor: string, userId: string): Command => ({ type: 'group.join.deny', actor, userId })
const cancel = (actor: string): Command => ({ type: 'group.join.cancel', actor })

/** A (admin) and B (member); LINK needs approval, OPEN admits directly. */
const group = () => {
  const g = given(G, ev.created(G, A, [B]))
  g.and(
    ...events(g.when({ type: 'group.link.create', actor: A, linkId: LINK, hash: HASH, approval: true })),
    ...events(g.when({ type: 'group.link.create', actor: A, linkId: OPEN, hash: HASH })),
  )
  return g
}

t.test('a link that needs approval stores a request, not a join; an admin approves it', async (t) => {
  const g = group()
  t.same(g.state.links.get(LINK)?.approval, true, 'the flag is folded')
  t.equal(g.state.links.get(OPEN)?.approval, undefined)
  const asked = g.when(joinBy(R))
  t.same(outcome(asked), ['member.join_requested'])
  t.same(events(asked)[0]?.data, { userId: R, link: LINK })
  g.and(...events(asked))
  t.equal(g.verdicts.at(-1)?.kind, 'accepted')
  t.notOk(g.state.members.has(R), 'asking is not joining')
  t.same(g.state.requests.get(R), { link: LINK, seq: g.nextSeq - 1, at: 1_000 })

  t.equal(outcome(g.when(joinBy(R))), 'JOIN_REQUESTED', 'a second request is refused')
  t.equal(outcome(g.when(approve(B, R))), 'NOT_ADMIN', 'a member who is not an admin')
  t.equal(outcome(g.when(approve('u_stranger1', R))), 'NOT_A_MEMBER', 'a non-member')
  t.equal(outcome(g.when(approve(A, S))), 'NO_JOIN_REQUEST', 'someone who never asked')
  t.equal(outcome(g.when(deny(A, S))), 'NO_JOIN_REQUEST', 'nobody to deny')

  const approved = g.when(approve(A, R))
  const joined = events(approved)[0]!
  t.match(
    joined,
    { type: 'member.joined', actor: A, data: { userId: R, link: LINK } },
    'the approver is the actor',
  )
  g.and(joined)
  t.equal(g.verdicts.at(-1)?.kind, 'accepted')
  t.equal(g.state.members.get(R)?.role, 'member')
  t.equal(g.state.requests.size, 0, 'the request is answered')
  t.same(outcome(g.when(approve(A, R))), [], 'a second approval (another admin at once): ok, nothing stored')
  t.same(outcome(g.when(joinBy(R))), [], 'a member using the link: nothing to do')
})

t.test('denied is final for asking; withdrawn is not; membership lifts a denial', async (t) => {
  const g = group()
  g.and(...events(g.when(joinBy(R))), ...events(g.when(joinBy(S))))
  t.equal(outcome(g.when(deny(B, R))), 'NOT_ADMIN')
  g.and(...events(g.when(deny(A, R))))
  t.equal(g.verdicts.at(-1)?.kind, 'accepted')
  t.ok(g.state.denied.has(R))
  t.equal(outcome(g.when(joinBy(R))), 'JOIN_DENIED', 'a denied user cannot ask again')
  t.same(outcome(g.when(deny(A, R))), [], 'a second denial: ok, nothing stored')
  t.equal(outcome(g.when(approve(A, R))), 'NO_JOIN_REQUEST', 'a denial is not approved later')
  t.same(outcome(g.when(joinBy(R, OPEN))), ['member.joined'], 'a link that admits directly still does')

  t.equal(outcome(g.when(cancel(R))), 'NO_JOIN_REQUEST', 'nothing pending to withdraw')
  t.same(outcome(g.when(cancel(S))), ['member.join_cancelled'])
  g.and(...events(g.when(cancel(S))))
  t.equal(g.verdicts.at(-1)?.kind, 'accepted')
  t.equal(g.state.requests.size, 0)
  t.same(outcome(g.when(joinBy(S))), ['member.join_requested'], 'a withdrawn request may be made again')

  // An admin adds the denied user: the denial is lifted, and after leaving they may ask again.
  g.and(ev.added(G, A, R))
  t.notOk(g.state.denied.has(R))
  g.and(ev.left(G, R))
  t.same(outcome(g.when(joinBy(R))), ['member.join_requested'])
})

t.test('revoking a link ends the requests made through it, so a racing approval is rejected', async (t) => {
  const g = group()
  g.and(...events(g.when(joinBy(R))))
  const racing = events(g.when(approve(A, R)))
  g.and(...events(g.when({ type: 'group.link.revoke', actor: A, linkId: LINK })))
  t.equal(g.state.requests.size, 0, 'no request outlives its link')
  t.equal(outcome(g.when(approve(A, R))), 'NO_JOIN_REQUEST')
  g.and(...racing)
  t.match(g.verdicts.at(-1), { kind: 'rejected', reason: /no pending request/ })
  t.notOk(g.state.members.has(R))
  t.equal(outcome(g.when(joinBy(R))), 'INVALID_LINK', 'the revoked link opens nothing')
  t.same(
    joinRequestStandings(g.state, ev.added(G, A, S), 99),
    [],
    'adding someone who never asked changes no standing',
  )
})

t.test('pending requests per group are bounded; approval respects the member limit', async (t) => {
  const g = group()
  g.and(...events(g.when(joinBy(R))))
  const limits = { ...testContext().limits, maxJoinRequests: 1 }
  t.equal(outcome(g.when(joinBy(S), { limits })), 'TOO_MANY_JOIN_REQUESTS')
  t.equal(outcome(g.when(approve(A, R), { limits: { ...limits, maxGroupMembers: 2 } })), 'GROUP_FULL')
  t.same(outcome(g.when(joinBy(S))), ['member.join_requested'], 'the default bound is larger')
})

t.test(
  'a removed member asks again like anyone; commands on a direct conversation are refused',
  async (t) => {
    const g = group()
    g.and(ev.removed(G, A, B))
    t.same(outcome(g.when(joinBy(B))), ['member.join_requested'], 'removal does not bar asking')
    t.equal(outcome(g.when(approve(B, R))), 'NOT_A_MEMBER', 'a removed member answers nothing')
    const dm = given(DM, ev.created(DM, A, [B]))
    t.equal(outcome(dm.when(approve(A, B))), 'NOT_A_GROUP')
    t.equal(outcome(dm.when(cancel(B))), 'NO_JOIN_REQUEST')
    t.equal(outcome(given('c_nosuchgroup').when(cancel(R))), 'NO_JOIN_REQUEST', 'no group: the same answer')
  },
)

t.test('every reader rejects request events a writer bypassing the gateway could append', async (t) => {
  const g = group()
  g.and(...events(g.when(joinBy(R))))
  g.and(ev.added(G, A, 'u_admin0002'), ev.role(G, A, 'u_admin0002', 'admin'))
  g.and(...events(g.when(joinBy('u_denied01'))))
  g.and(...events(g.when(deny(A, 'u_denied01'))))
  const v = g.state
  const raw = (type: string, actor: string, data: Record<string, unknown>) =>
    ({ v: 1, id: `x${Math.random()}`, conversationId: G, actor, at: 1, type, data }) as unknown as ChatEvent
  const cases: [string, ChatEvent, RegExp | undefined][] = [
    [
      'a request on behalf of another',
      raw('member.join_requested', B, { userId: S, link: LINK }),
      /own behalf/,
    ],
    [
      'a request through a direct link',
      raw('member.join_requested', S, { userId: S, link: OPEN }),
      /admits directly/,
    ],
    [
      'a request through no link',
      raw('member.join_requested', S, { userId: S, link: 'X'.repeat(16) }),
      /not live/,
    ],
    ['a request by a member', raw('member.join_requested', B, { userId: B, link: LINK }), /already a member/],
    ['a second request', raw('member.join_requested', R, { userId: R, link: LINK }), /asked already/],
    [
      'a request after a denial',
      raw('member.join_requested', 'u_denied01', { userId: 'u_denied01', link: LINK }),
      /was denied/,
    ],
    [
      'a direct join through a link that needs approval',
      raw('member.joined', S, { userId: S, link: LINK }),
      /approval/,
    ],
    ['an approval by a non-admin', raw('member.joined', B, { userId: R, link: LINK }), /not an admin/],
    [
      'an approval through another link',
      raw('member.joined', A, { userId: R, link: OPEN }),
      /no pending request/,
    ],
    [
      'an approval of someone who never asked',
      raw('member.joined', A, { userId: S, link: LINK }),
      /no pending/,
    ],
    [
      'an approval by another admin',
      raw('member.joined', 'u_admin0002', { userId: R, link: LINK }),
      undefined,
    ],
    ['a denial by a non-admin', raw('member.join_denied', B, { userId: R }), /not an admin/],
    ['a denial of no request', raw('member.join_denied', A, { userId: S }), /no pending request/],
    ['a withdrawal by an admin', raw('member.join_cancelled', A, { userId: R }), /by its requester/],
    ['a withdrawal of no request', raw('member.join_cancelled', S, { userId: S }), /no pending request/],
    ['a withdrawal by the requester', raw('member.join_cancelled', R, { userId: R }), undefined],
    ['an invitation accepted on behalf of another', raw('member.joined', A, { userId: S }), /own behalf/],
  ]
  for (const [what, e, why] of cases)
    if (why === undefined) t.equal(admit(v, e, onM), undefined, what)
    else t.match(admit(v, e, onM), why, what)
})

t.test('requests and denials survive a snapshot', async (t) => {
  const g = group()
  g.and(...events(g.when(joinBy(R))), ...events(g.when(joinBy(S))))
  g.and(...events(g.when(deny(A, S))))
  const back = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(g.state))))!
  t.same([...back.requests], [...g.state.requests])
  t.same([...back.denied], [S])
  t.same(back.links.get(LINK)?.approval, true)
  t.equal(fromSnapshot({ ...toSnapshot(g.state), v: 4 }), undefined, 'a v4 snapshot is folded again')
})
