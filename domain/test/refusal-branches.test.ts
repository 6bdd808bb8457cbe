import type { ChatEvent, MediaRef } from '@chatapp/contracts'
import t from 'tap'
import { admit } from '../src/admit.js'
import type { Command, Decision } from '../src/decide.js'
import { effectsOf } from '../src/effects.js'
import { ev, given, testContext } from '../src/testing/given.js'

/**
 * The refusal and edge branches no flow test reaches (issue 17): each as given / when / then, so
 * domain/ is held at 100 % coverage again.
 */
const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const C = 'u_cccccccc'
const D = 'u_dddddddd'
const G = 'c_group0001'
const DM = 'd_direct0001'
const LINK = 'L'.repeat(16)
const HASH = 'h'.repeat(43)
const onM = { conversationId: G, lane: 'm' as const }
const outcome = (d: Decision) => (d.ok ? d.events.map((e) => e.type) : d.code)
const photo: MediaRef = { mediaId: 'm_photo00000001', kind: 'image', mime: 'image/jpeg', size: 10 }
const link = (type: 'group.link.create' | 'group.link.revoke' | 'group.link.join', actor: string) =>
  ({ type, actor, linkId: LINK, hash: HASH }) as Command

t.test(
  'given a member who joined after a message, when they edit or react to it, every reader rejects it',
  async (t) => {
    // B's message at 2; C joins at 3.
    const v = given(G, ev.created(G, A, [B]), ev.message(G, B, 1), ev.added(G, A, C)).state
    t.match(admit(v, ev.edited(G, C, 2, 'x'), onM), /cannot see message 2/)
    t.match(admit(v, ev.reacted(G, C, 2, B, '👍'), onM), /cannot see message 2/)
    t.equal(admit(v, ev.reacted(G, B, 2, B, '👍'), onM), undefined, 'one who saw it reacts')
  },
)

t.test(
  'given a live link that admits directly, when a non-member joins, every reader accepts it',
  async (t) => {
    const g = given(G, ev.created(G, A, [B]))
    g.and(...(g.when(link('group.link.create', A)) as { events: ChatEvent[] }).events)
    const joined = g.when(link('group.link.join', D))
    g.and(...(joined as { events: ChatEvent[] }).events)
    t.equal(g.verdicts.at(-1)?.kind, 'accepted')
    t.equal(g.state.members.get(D)?.joinedSeq, g.nextSeq - 1)
    t.equal(
      outcome(
        g.when(link('group.link.join', C), { limits: { ...testContext().limits, maxGroupMembers: 3 } }),
      ),
      'GROUP_FULL',
    )
    t.equal(outcome(g.when(link('group.link.create', A))), 'INTERNAL', 'a link id taken by a live link')
  },
)

t.test(
  'given a direct conversation or a link that is not live, when an admin manages links, it is refused',
  async (t) => {
    const dm = given(DM, ev.created(DM, A, [B]))
    t.equal(outcome(dm.when(link('group.link.create', A))), 'NOT_A_GROUP')
    const g = given(G, ev.created(G, A, [B]))
    t.equal(outcome(g.when(link('group.link.revoke', A))), 'INVALID_LINK')
  },
)

t.test('given a new group avatar, its effects include the media job for this conversation', async (t) => {
  const changed = {
    ...ev.renamed(G, A, 'x'),
    type: 'conversation.profile_changed',
    data: { avatar: photo },
  } as ChatEvent
  t.match(effectsOf(changed, 5), [
    { kind: 'media-job', id: `${photo.mediaId}:${G}`, job: { uploaderId: A, kind: 'image' } },
  ])
  const described = { ...changed, data: { description: 'hi' } } as ChatEvent
  t.same(effectsOf(described, 6), [], 'a description alone has no effect')
})

t.test('given a deleted photo, the delete event names its media', async (t) => {
  t.match(ev.deleted(G, A, 2, B, photo.mediaId), { data: { seq: 2, senderId: B, mediaId: photo.mediaId } })
  t.same(ev.deleted(G, A, 2, B).data, { seq: 2, senderId: B })
})
