import type { ChatEvent } from '@chatapp/contracts'
import t from 'tap'
import { admit } from '../src/admit.js'
import { ev, given } from '../src/testing/given.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const C = 'u_cccccccc'
const D = 'u_dddddddd'
const G = 'c_group0001'
const DM = 'd_direct0001'
const onM = { conversationId: G, lane: 'm' as const }

/** An event of `type` in G by `actor` with `data`, as a writer outside the gateway could append it. */
const raw = (type: string, actor: string, data: Record<string, unknown>, c = G) =>
  ({ v: 1, id: `x${Math.random()}`, conversationId: c, actor, at: 1, type, data }) as unknown as ChatEvent

// The group: A admin, B and C members; C's message at seq 2; D never a member.
const g = given(G, ev.created(G, A, [B, C]), ev.message(G, C, 1, 'hi'))
const v = g.state

t.test('every reader rejects what only a writer bypassing the gateway would append', async (t) => {
  const cases: [string, ChatEvent, RegExp][] = [
    ['an edit by a non-member', ev.edited(G, D, 2, 'x'), /not a member/],
    ['a reaction by a non-member', ev.reacted(G, D, 2, C, '👍'), /not a member/],
    ['a delete by a non-member', ev.deleted(G, D, 2, C), /not a member/],
    ['a delete of a message from before the actor joined', ev.deleted(G, B, 1, A), /cannot see/],
    ['a delete of another member’s message by a non-admin', ev.deleted(G, B, 2, C), /neither the sender/],
    ['a join by link of a member', raw('member.joined', B, { userId: B, link: 'l_missing01' }), /not live/],
    [
      'a link created by a non-admin',
      raw('conversation.link_created', B, { linkId: 'l_aaaaaaaa01', hash: 'h'.repeat(43) }),
      /not an admin/,
    ],
    [
      'a link revoked that is not live',
      raw('conversation.link_revoked', A, { linkId: 'l_aaaaaaaa01' }),
      /not live/,
    ],
    [
      'a profile change by a non-member',
      raw('conversation.profile_changed', D, { description: 'x' }),
      /not a member/,
    ],
  ]
  for (const [what, e, why] of cases) t.match(admit(v, e, onM), why, what)
})

t.test('links and mentions are for groups; a live link cannot be created twice', async (t) => {
  const created = raw('conversation.link_created', A, { linkId: 'l_aaaaaaaa01', hash: 'h'.repeat(43) })
  const withLink = given(G, ev.created(G, A, [B, C]), created).state
  t.match(admit(withLink, created, onM), /exists/)
  t.equal(admit(withLink, raw('conversation.link_revoked', A, { linkId: 'l_aaaaaaaa01' }), onM), undefined)
  t.match(
    admit(withLink, raw('member.joined', B, { userId: B, link: 'l_aaaaaaaa01' }), onM),
    /already a member/,
  )
  const dm = given(DM, ev.created(DM, A, [B], 'direct')).state
  const atDm = { conversationId: DM, lane: 'm' as const }
  t.match(
    admit(
      dm,
      raw('conversation.link_created', A, { linkId: 'l_aaaaaaaa02', hash: 'h'.repeat(43) }, DM),
      atDm,
    ),
    /applies to groups/,
  )
  const mention = {
    ...ev.message(DM, A, 1, 'hey'),
    data: { ...ev.message(DM, A, 1, 'hey').data, mentions: [B] },
  } as ChatEvent
  t.match(admit(dm, mention, atDm), /mentions are for groups/)
})
