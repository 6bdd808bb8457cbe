import type { ChatEvent, MediaRef } from '@chatapp/contracts'
import t from 'tap'
import { admit } from '../src/admit.js'
import type { Command } from '../src/decide.js'
import type { Stored } from '../src/evolve.js'
import { type ForwardSource, forwardedContent, forwardSource } from '../src/forward.js'
import { inboxEntry } from '../src/inbox.js'
import { linkOpens } from '../src/invite-links.js'
import { isOneEmoji, previewOf, withLatestText } from '../src/message-target.js'
import { ev, given, testContext } from '../src/testing/given.js'

const testLimits = testContext().limits

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const C = 'u_cccccccc'
const D = 'u_dddddddd'
const G = 'c_group0001'
const DM = 'd_direct0001'

/** The group A (admin), B, C with B's message at seq 2 and C's at seq 3. */
const group = (...more: ChatEvent[]) => {
  const created = ev.created(G, A, [B, C])
  const b = ev.message(G, B, 1, 'hello from b')
  const c = ev.message(G, C, 2, 'hello from c')
  const g = given(G, created, b, c, ...more)
  return { g, b: { seq: 2, lane: 'm', event: b } as Stored, c: { seq: 3, lane: 'm', event: c } as Stored }
}
const outcome = (d: ReturnType<ReturnType<typeof given>['when']>) =>
  d.ok ? d.events.map((e) => e.type) : d.code
const edit = (actor: string, found: Stored | undefined, text = 'fixed', seq = found?.seq ?? 9): Command => ({
  type: 'message.edit',
  actor,
  seq,
  text,
  found,
})
const del = (actor: string, found: Stored | undefined, who: 'me' | 'everyone' = 'everyone'): Command => ({
  type: 'message.delete',
  actor,
  seq: found?.seq ?? 9,
  for: who,
  found,
})
const react = (actor: string, found: Stored, emoji: string | null = '👍'): Command => ({
  type: 'message.react',
  actor,
  seq: found.seq,
  emoji,
  found,
})
const reply = (actor: string, to: number, quoted: Stored | undefined): Command => ({
  type: 'send',
  actor,
  deviceId: 'dev1',
  clientMsgId: `cm_reply_${actor}`,
  kind: 'text',
  text: 'a reply',
  replyTo: to,
  quoted,
})

t.test('a reply carries the quoted message’s seq, sender, kind and a short preview', async (t) => {
  const { g, b } = group()
  const d = g.when(reply(C, 2, b))
  t.ok(d.ok)
  if (!d.ok) return
  const e = d.events[0]!
  t.equal(e.type, 'message.sent')
  if (e.type !== 'message.sent') return
  t.same(e.data.replyTo, { seq: 2, senderId: B, kind: 'text', preview: 'hello from b' })
  t.equal(g.and(e).verdicts.at(-1)?.kind, 'accepted')
})

t.test('a reply to a message the sender cannot see is refused with MESSAGE_NOT_FOUND', async (t) => {
  const { g, b } = group(ev.added(G, A, D))
  // D joined at seq 4: B's message at seq 2 predates them.
  t.equal(outcome(g.when(reply(D, 2, b))), 'MESSAGE_NOT_FOUND')
  // Nothing at that seq, or something that is not a message, or a seq the log does not hold yet.
  t.equal(
    outcome(g.when(reply(C, 1, { seq: 1, lane: 'm', event: g.state.lastMessage as never }))),
    'MESSAGE_NOT_FOUND',
  )
  t.equal(outcome(g.when(reply(C, 7, undefined))), 'MESSAGE_NOT_FOUND')
  t.equal(outcome(g.when(reply(C, 3, b))), 'MESSAGE_NOT_FOUND', 'the log holds another event at that seq')
  // A writer that bypassed the rule: every reader rejects the reply at its place.
  const forged = ev.reply(G, D, 3, { seq: 2, senderId: B })
  t.equal(g.and(forged).verdicts.at(-1)?.kind, 'rejected')
})

t.test('a non-member and a removed member can neither reply, edit, delete nor react', async (t) => {
  const { g, b, c } = group(ev.removed(G, A, C))
  for (const cmd of [reply(C, 2, b), edit(C, c), del(C, c), del(C, c, 'me'), react(C, b)])
    t.equal(outcome(g.when(cmd)), 'NOT_A_MEMBER', cmd.type)
  for (const cmd of [reply(D, 2, b), edit(D, b), react(D, b)]) t.equal(outcome(g.when(cmd)), 'NOT_A_MEMBER')
  // Their edit raced the removal: every reader rejects it.
  t.equal(g.and(ev.edited(G, C, 3, 'late')).verdicts.at(-1)?.kind, 'rejected')
})

t.test(
  'only the sender edits, within the edit window, and the inbox shows the latest text as edited',
  async (t) => {
    const { g, c } = group()
    t.equal(outcome(g.when(edit(B, c))), 'NOT_AUTHOR', 'a member who is not the author')
    t.equal(outcome(g.when(edit(A, c))), 'NOT_AUTHOR', 'not even an admin')
    t.equal(outcome(g.when(edit(C, c), { now: 1_000 + 15 * 60_000 + 1 })), 'WINDOW_CLOSED')
    t.equal(outcome(g.when(edit(C, c, 'x'.repeat(5000)))), 'TEXT_TOO_LONG')
    const d = g.when(edit(C, c, 'fixed text'))
    t.same(outcome(d), ['message.edited'])
    if (!d.ok) return
    g.and(...d.events)
    t.same(inboxEntry(g.state, A)?.lastMessage, {
      seq: 3,
      n: 2,
      senderId: C,
      kind: 'text',
      text: 'fixed text',
      at: 1_000,
      edited: true,
    })
  },
)

t.test(
  'delete for everyone: the sender within the window, a group admin at any time, nobody else',
  async (t) => {
    const { g, b, c } = group()
    t.equal(outcome(g.when(del(B, c))), 'NOT_ADMIN', 'a member who is not the author nor an admin')
    t.equal(outcome(g.when(del(C, c), { now: 1_000 + 48 * 3_600_000 + 1 })), 'WINDOW_CLOSED')
    t.same(outcome(g.when(del(A, b), { now: 10 ** 12 })), ['message.deleted'], 'an admin, years later')
    const d = g.when(del(C, c))
    t.ok(d.ok)
    if (!d.ok) return
    t.same(d.events[0]?.data, { seq: 3, senderId: C })
    g.and(...d.events)
    t.same(inboxEntry(g.state, B)?.lastMessage, {
      seq: 3,
      n: 2,
      senderId: C,
      kind: 'text',
      at: 1_000,
      deleted: true,
    })
    t.same(outcome(g.when(del(C, c))), [], 'deleting again changes nothing')
    t.equal(outcome(g.when(edit(C, c))), 'MESSAGE_DELETED')
    t.equal(outcome(g.when(react(B, c))), 'MESSAGE_DELETED')
    t.equal(outcome(g.when(reply(B, 3, c))), 'MESSAGE_DELETED')
    t.same(outcome(g.when(del(B, c, 'me'))), ['message.hidden'], 'a tombstone may still be hidden')
    // An edit that raced the delete is accepted by the log's rules but leaves the tombstone.
    g.and(ev.edited(G, C, 3, 'resurrected'))
    t.equal(g.state.lastMessage?.text, undefined)
  },
)

t.test('in a direct conversation neither peer deletes the other’s message for everyone', async (t) => {
  const m = ev.message(DM, B, 1)
  const g = given(DM, ev.created(DM, A, [B]), m)
  const found = { seq: 2, lane: 'm', event: m } as Stored
  t.equal(outcome(g.when(del(A, found))), 'NOT_AUTHOR')
  t.same(outcome(g.when(del(A, found, 'me'))), ['message.hidden'])
  t.equal(
    g.and(ev.deleted(DM, A, 2, B)).verdicts.at(-1)?.kind,
    'rejected',
    'every reader rejects a forged one',
  )
})

t.test(
  'a demoted admin’s racing delete of another member’s message is rejected by every reader',
  async (t) => {
    const { g } = group(ev.role(G, A, B, 'admin'), ev.role(G, A, B, 'member'))
    t.equal(g.and(ev.deleted(G, B, 3, C)).verdicts.at(-1)?.kind, 'rejected')
    t.equal(g.and(ev.deleted(G, A, 3, C)).verdicts.at(-1)?.kind, 'accepted')
  },
)

t.test('a reaction is one emoji, on a message the member can see; null removes it', async (t) => {
  const { g, b } = group()
  const d = g.when(react(C, b, '🎉'))
  t.ok(d.ok)
  if (d.ok) t.same(d.events[0]?.data, { seq: 2, senderId: B, emoji: '🎉' })
  t.same(outcome(g.when(react(C, b, null))), ['message.reacted'])
  for (const bad of ['ok', '👍👍', 'a👍', ' '])
    t.equal(outcome(g.when(react(C, b, bad))), 'INVALID_EMOJI', JSON.stringify(bad))
  const { g: later } = group(ev.added(G, A, D))
  t.equal(outcome(later.when(react(D, b))), 'MESSAGE_NOT_FOUND', 'from before they joined')
})

t.test('emoji and preview rules', async (t) => {
  for (const ok of ['👍', '❤️', '👩‍👩‍👧', '🇫🇷', '1️⃣', '👍🏽']) t.ok(isOneEmoji(ok), ok)
  t.equal(previewOf('x'.repeat(200)).length, 120)
  const s = `${'x'.repeat(119)}😀`
  t.equal(previewOf(s), 'x'.repeat(119), 'never half a surrogate pair')
})

t.test('a hide is stored on the receipt lane and accepted for any user', async (t) => {
  const { g } = group()
  t.equal(admit(g.state, ev.hidden(G, B, 2), { conversationId: G, lane: 'r' }), undefined)
  t.match(admit(g.state, ev.hidden(G, B, 2), { conversationId: G, lane: 'm' }), /lane m/)
})

t.test(
  'a forward carries the content marked forwarded one more time, never the original sender',
  async (t) => {
    const { g, b } = group()
    const src = forwardSource(g.state, C, 2, b)
    t.same(src, { ok: true, event: b.event.type === 'message.sent' ? b.event.data : undefined })
    const to = given(DM, ev.created(DM, C, [D]))
    const fwd = (source: ForwardSource, more: Partial<Extract<Command, { type: 'send' }>> = {}): Command => ({
      type: 'send',
      actor: C,
      deviceId: 'dev1',
      clientMsgId: 'cm_forward1',
      kind: 'text',
      forward: source,
      ...more,
    })
    const d = to.when(fwd(src))
    t.ok(d.ok)
    if (!d.ok) return
    const e = d.events[0]!
    t.same(e.type === 'message.sent' && e.data, {
      clientMsgId: 'cm_forward1',
      deviceId: 'dev1',
      n: 1,
      kind: 'text',
      text: 'hello from b',
      forwarded: { count: 1 },
    })
    t.equal(e.actor, C, 'the forwarder is its sender')
    t.notOk(JSON.stringify(e).includes(B), 'the original sender is not named')
    // Forwarded again: the count grows.
    to.and(e)
    const again = forwardSource(to.state, D, 2, { seq: 2, lane: 'm', event: e })
    const d2 = given(G, ev.created(G, D, [])).when({ ...fwd(again), actor: D })
    t.ok(d2.ok && d2.events[0]?.type === 'message.sent' && d2.events[0].data.forwarded?.count === 2)
    // Refusals.
    t.equal(outcome(to.when(fwd(src, { kind: 'image' }))), 'INVALID_FRAME', 'the kind must be the source’s')
    t.equal(outcome(to.when(fwd(src, { text: 'x' }))), 'INVALID_FRAME', 'a forward has no text of its own')
    t.same(
      forwardSource(g.state, D, 2, b),
      { ok: false, code: 'MESSAGE_NOT_FOUND' },
      'not a member of the source',
    )
    const { g: gone } = group(ev.removed(G, A, C))
    t.same(forwardSource(gone.state, C, 2, b), { ok: false, code: 'MESSAGE_NOT_FOUND' }, 'a removed member')
    const { g: deleted } = group(ev.deleted(G, B, 2, B))
    t.same(forwardSource(deleted.state, C, 2, b), { ok: false, code: 'MESSAGE_DELETED' })
    t.equal(outcome(to.when(fwd({ ok: false, code: 'MESSAGE_NOT_FOUND' }))), 'MESSAGE_NOT_FOUND')
    // Its forwarder cannot edit it: the words are someone else's.
    const forwarded = { seq: 2, lane: 'm', event: e } as Stored
    t.equal(outcome(to.when(edit(C, forwarded))), 'NOT_EDITABLE')
  },
)

t.test('mentions: group members only, counted unread per member until they read past them', async (t) => {
  const { g } = group()
  const send = (actor: string, mentions: string[], n = 9): Command => ({
    type: 'send',
    actor,
    deviceId: 'dev1',
    clientMsgId: `cm_mention_${actor}_${n}`,
    kind: 'text',
    text: '@you',
    mentions,
  })
  const d = g.when(send(A, [B, C, D, A, B]))
  t.ok(d.ok)
  if (!d.ok) return
  const e = d.events[0]!
  t.same(
    e.type === 'message.sent' && e.data.mentions,
    [B, C],
    'non-members, the sender and repeats are dropped',
  )
  g.and(e)
  t.equal(inboxEntry(g.state, B)?.unreadMentions, 1)
  t.equal(inboxEntry(g.state, A)?.unreadMentions, 0, 'the sender is not mentioned')
  g.and(ev.read(G, B, g.nextSeq - 1))
  t.equal(inboxEntry(g.state, B)?.unreadMentions, 0, 'read: no longer unread')
  t.equal(inboxEntry(g.state, C)?.unreadMentions, 1)
  // A deleted message mentions nobody any more.
  g.and(ev.deleted(G, A, 4, A))
  t.equal(inboxEntry(g.state, C)?.unreadMentions, 0)
  // In a direct conversation there is nothing to mention.
  const dm = given(DM, ev.created(DM, A, [B]))
  t.equal(outcome(dm.when(send(A, [B]))), 'INVALID_FRAME')
  // A racing mention of someone removed just before: every reader rejects it (the writer decides again).
  const { g: raced } = group(ev.removed(G, A, C))
  const forged = { ...ev.message(G, A, 3), data: { ...(ev.message(G, A, 3).data as object), mentions: [C] } }
  t.equal(raced.and(forged as ChatEvent).verdicts.at(-1)?.kind, 'rejected')
})

t.test(
  'group profile and settings: admins edit unless everyone may; admins-only groups refuse others’ sends',
  async (t) => {
    const { g } = group()
    const avatar = { mediaId: 'm_avatar0001', kind: 'image' as const, mime: 'image/jpeg', size: 10 }
    const profile = (actor: string, more: object): Command =>
      ({ type: 'group.profile', actor, ...more }) as Command
    const settings = (actor: string, more: object): Command =>
      ({ type: 'group.settings', actor, ...more }) as Command
    t.equal(outcome(g.when(profile(B, { description: 'ours' }))), 'NOT_ADMIN', 'a non-admin')
    t.equal(outcome(g.when({ type: 'group.rename', actor: B, title: 'x' })), 'NOT_ADMIN')
    t.equal(outcome(g.when(settings(B, { editInfo: 'everyone' }))), 'NOT_ADMIN')
    t.equal(outcome(g.when(profile(D, { description: 'x' }))), 'NOT_A_MEMBER', 'a non-member')
    t.equal(
      outcome(g.when(profile(A, { avatarMediaId: avatar.mediaId, avatar: { ...avatar, kind: 'video' } }))),
      'NOT_AN_IMAGE',
    )
    t.equal(
      outcome(g.when(profile(A, { avatarMediaId: avatar.mediaId }))),
      'MEDIA_NOT_FOUND',
      'not uploaded by them',
    )
    const d = g.when(profile(A, { description: 'the team', avatarMediaId: avatar.mediaId, avatar }))
    t.ok(d.ok)
    if (!d.ok) return
    t.same(d.events[0]?.data, { description: 'the team', avatar })
    g.and(...d.events)
    t.match(inboxEntry(g.state, B), {
      description: 'the team',
      avatar,
      settings: { editInfo: 'admins', sendMessages: 'everyone' },
    })
    t.same(outcome(g.when(profile(A, { description: 'the team' }))), [], 'no change, no event')
    // Everyone may edit the info once the admins allow it; settings stay the admins'.
    const s = g.when(settings(A, { editInfo: 'everyone', sendMessages: 'admins' }))
    t.ok(s.ok)
    if (!s.ok) return
    g.and(...s.events)
    t.same(outcome(g.when(profile(B, { description: null }))), ['conversation.profile_changed'])
    t.same(outcome(g.when({ type: 'group.rename', actor: B, title: 'renamed by B' })), [
      'conversation.renamed',
    ])
    t.equal(outcome(g.when(settings(B, { sendMessages: 'everyone' }))), 'NOT_ADMIN')
    // Admins only send now.
    const send = (actor: string): Command => ({
      type: 'send',
      actor,
      deviceId: 'd',
      clientMsgId: `cm_only_${actor}`,
      kind: 'text',
      text: 'hi',
    })
    t.equal(outcome(g.when(send(B))), 'ADMINS_ONLY')
    t.same(outcome(g.when(send(A))), ['message.sent'])
    t.equal(
      g.and(ev.message(G, B, 3)).verdicts.at(-1)?.kind,
      'rejected',
      'a racing send of a member is rejected',
    )
    // A direct conversation has no profile.
    const dm = given(DM, ev.created(DM, A, [B]))
    t.equal(outcome(dm.when(profile(A, { description: 'x' }))), 'NOT_A_GROUP')
  },
)

t.test(
  'invite links: admins create and revoke; a live link’s token joins; every reader judges joins by it',
  async (t) => {
    const { g } = group()
    const link = (
      type: 'group.link.create' | 'group.link.revoke' | 'group.link.join',
      actor: string,
      more = {},
    ) => ({ type, actor, linkId: 'L'.repeat(16), hash: 'h'.repeat(43), ...more }) as Command
    t.equal(outcome(g.when(link('group.link.create', B))), 'NOT_ADMIN')
    t.equal(outcome(g.when(link('group.link.create', D))), 'NOT_A_MEMBER')
    t.equal(outcome(g.when(link('group.link.join', D))), 'INVALID_LINK', 'no such link')
    const c = g.when(link('group.link.create', A))
    t.ok(c.ok)
    if (!c.ok) return
    g.and(...c.events)
    t.ok(linkOpens(g.state, 'L'.repeat(16), 'h'.repeat(43)))
    t.equal(
      outcome(g.when(link('group.link.join', D, { hash: 'x'.repeat(43) }))),
      'INVALID_LINK',
      'a wrong secret',
    )
    const j = g.when(link('group.link.join', D))
    t.ok(j.ok)
    if (!j.ok) return
    t.same(j.events[0]?.data, { userId: D, link: 'L'.repeat(16) })
    t.same(outcome(g.when(link('group.link.join', B))), [], 'a member: nothing to do')
    t.equal(
      outcome(g.when(link('group.link.create', A), { limits: { ...testLimits, maxInviteLinks: 1 } })),
      'TOO_MANY_LINKS',
    )
    // A join that raced the revocation is rejected by every reader.
    g.and(...(g.when(link('group.link.revoke', A)) as { events: ChatEvent[] }).events)
    t.equal(g.and(...j.events).verdicts.at(-1)?.kind, 'rejected')
    t.notOk(g.state.members.has(D))
  },
)

// Edge branches no flow above reaches (issue 17's coverage), as given / when / then.
const photo: MediaRef = { mediaId: 'm_photo00000001', kind: 'image', mime: 'image/jpeg', size: 10 }
const stored = (seq: number, event: ChatEvent): Stored => ({ seq, lane: 'm', event })
/** The `n`th message of the group, `actor`'s photo without a caption. */
const photoMessage = (actor: string, n: number) =>
  ({
    ...ev.message(G, actor, n),
    data: { clientMsgId: `cm${n}`, deviceId: 'dev1', n, kind: 'image', media: photo },
  }) as ChatEvent

t.test('given a group without an avatar, when its avatar is removed, nothing is stored', async (t) => {
  const g = given(G, ev.created(G, A, [B]))
  t.same(outcome(g.when({ type: 'group.profile', actor: A, avatarMediaId: null })), [])
})

t.test('given no such conversation, when a message is forwarded from it, it is not found', async (t) => {
  t.same(forwardSource(given('c_nosuchgroup').state, A, 2, undefined), {
    ok: false,
    code: 'MESSAGE_NOT_FOUND',
  })
})

t.test('given a photo without a caption, when forwarded, the copy has its media and no text', async (t) => {
  const sent = photoMessage(B, 1)
  const g = given(G, ev.created(G, A, [B]), sent)
  const src = forwardSource(g.state, A, 2, stored(2, sent))
  t.same(forwardedContent(src, { kind: 'image' }), {
    ok: true,
    data: { kind: 'image', media: photo, forwarded: { count: 1 } },
  })
  const text = ev.message(G, B, 2, 'plain')
  const plain = forwardSource(given(G, ev.created(G, A, [B]), sent, text).state, A, 3, stored(3, text))
  t.same(forwardedContent(plain, { kind: 'text' }), {
    ok: true,
    data: { kind: 'text', text: 'plain', forwarded: { count: 1 } },
  })
})

t.test('given an edited message, its latest text is what a quote or forward reads', async (t) => {
  const sent = stored(2, ev.message(G, B, 1, 'first'))
  const edit = stored(3, ev.edited(G, B, 2, 'second'))
  t.match(withLatestText(sent, edit)?.event, { type: 'message.sent', data: { text: 'second', n: 1 } })
  t.equal(withLatestText(sent, undefined), sent, 'never edited')
  t.equal(withLatestText(undefined, edit), undefined, 'nothing found')
  t.equal(withLatestText(edit, sent), edit, 'not a message')
  t.equal(withLatestText(sent, stored(4, ev.edited(G, B, 9, 'other'))), sent, 'an edit of another message')
})

t.test('given group settings and an avatar, only what changes is stored', async (t) => {
  const g = given(G, ev.created(G, A, [B]))
  const settings = (more: object) => ({ type: 'group.settings', actor: A, ...more }) as Command
  t.same(outcome(g.when(settings({}))), [], 'nothing asked')
  t.same(outcome(g.when(settings({ editInfo: 'admins', sendMessages: 'everyone' }))), [], 'the defaults')
  const only = g.when(settings({ sendMessages: 'admins' }))
  t.same(only.ok && only.events[0]?.data, { sendMessages: 'admins' })
  const profile = (more: object) => ({ type: 'group.profile', actor: A, ...more }) as Command
  const set = g.when(profile({ avatarMediaId: photo.mediaId, avatar: photo }))
  g.and(...(set.ok ? set.events : []))
  t.same(g.state.avatar, photo)
  t.same(outcome(g.when(profile({ avatarMediaId: photo.mediaId }))), [], 'the same avatar again')
  const removed = g.when(profile({ avatarMediaId: null }))
  t.same(removed.ok && removed.events[0]?.data, { avatar: null })
  g.and(...(removed.ok ? removed.events : []))
  t.same(outcome(g.when(profile({ avatarMediaId: null }))), [], 'no avatar to remove')
})

t.test('given a photo without a caption, a reply to it quotes its kind without a preview', async (t) => {
  const sent = photoMessage(B, 1)
  const g = given(G, ev.created(G, A, [B]), sent)
  const r = g.when({
    type: 'send',
    actor: A,
    deviceId: 'dev1',
    clientMsgId: 'r1',
    kind: 'text',
    text: 'nice',
    replyTo: 2,
    quoted: stored(2, sent),
  })
  t.same(r.ok && r.events[0]?.data, {
    clientMsgId: 'r1',
    deviceId: 'dev1',
    n: 2,
    kind: 'text',
    text: 'nice',
    replyTo: { seq: 2, senderId: B, kind: 'image' },
  })
})

t.test('given messages of each kind, the message rules refuse or allow each edge', async (t) => {
  const { g, b } = group()
  const shot = photoMessage(C, 3)
  const bare = {
    ...ev.message(G, C, 4),
    data: { clientMsgId: 'cm4', deviceId: 'dev1', n: 4, kind: 'text' },
  } as ChatEvent
  g.and(shot, bare)
  const p = stored(4, shot)
  const empty = stored(5, bare)
  t.equal(outcome(g.when(del(D, b, 'me'))), 'NOT_A_MEMBER', 'a stranger hides nothing')
  g.and(ev.added(G, A, D))
  t.equal(
    outcome(g.when(del(D, b, 'me'))),
    'MESSAGE_NOT_FOUND',
    'a member hides nothing from before they joined',
  )
  t.equal(
    outcome(g.when(edit(C, empty))),
    'NOT_EDITABLE',
    'a text message without text (not one the gateway writes)',
  )
  t.same(outcome(g.when(edit(C, p, 'a caption'))), ['message.edited'], 'a photo gains a caption')
  t.equal(outcome(g.when(edit(C, p, 'x'.repeat(1025)))), 'TEXT_TOO_LONG', 'a caption has its own limit')
  const gone = g.when(del(C, p))
  t.same(
    gone.ok && gone.events[0]?.data,
    { seq: 4, senderId: C, mediaId: photo.mediaId },
    'the media is named',
  )
  g.and(...(gone.ok ? gone.events : []))
  t.same(outcome(g.when(del(C, p))), [], 'deleted already')
  t.equal(outcome(g.when(del(D, p))), 'MESSAGE_NOT_FOUND', 'deleted, and from before the actor joined')
  // An admin's own message: no window for them.
  const own = ev.message(G, A, 5)
  g.and(own)
  t.same(outcome(g.when(del(A, stored(g.nextSeq - 1, own)), { now: 10 ** 12 })), ['message.deleted'])
})
