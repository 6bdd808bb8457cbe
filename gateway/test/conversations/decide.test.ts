import type { ChatEvent, MediaRef } from '@chatapp/contracts'
import t from 'tap'
import { type Command, type DecideContext, decide } from '../../src/conversations/decide.js'
import { directConversationId } from '../../src/conversations/direct-id.js'
import { type ConversationState, emptyState, evolve } from '../../src/conversations/state.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const C = 'u_cccccccc'
const D = 'u_dddddddd'
const known = new Set([A, B, C, D])
let ids = 0
const ctx = (over: Partial<DecideContext['limits']> = {}): DecideContext => ({
  now: 1000,
  newId: () => `e${++ids}`,
  limits: { maxTextLength: 10, maxCaptionLength: 5, maxGroupMembers: 3, ...over },
})

/** Given events (each appended at the next sequence of its lane), when a command, then a decision. */
const given = (id: string, ...cmds: Command[]): ConversationState => {
  const s = emptyState(id)
  let seq = 0
  for (const c of cmds) {
    const d = decide(s, c, ctx({ maxGroupMembers: 10 }))
    if (!d.ok) throw new Error(`given failed: ${d.code}`)
    for (const e of d.events) evolve(s, e, ++seq, e.type.startsWith('receipt.') ? 'r' : 'm')
  }
  return s
}
const G = 'c_group0001'
const group = (...more: Command[]) =>
  given(G, { type: 'group.create', actor: A, title: 'g', memberIds: [B, C], known }, ...more)
const codeOf = (s: ConversationState, c: Command, x = ctx()) => {
  const d = decide(s, c, x)
  return d.ok ? d.events.map((e) => e.type) : d.code
}
const send = (
  actor: string,
  text = 'hi',
  more: Partial<Extract<Command, { type: 'send' }>> = {},
): Command => ({
  type: 'send',
  actor,
  deviceId: 'dev1',
  clientMsgId: `cm_${actor}_${text}`,
  kind: 'text',
  text,
  ...more,
})

t.test('direct conversation ids are the same whoever asks, and differ per pair', async (t) => {
  t.equal(directConversationId(A, B), directConversationId(B, A))
  t.not(directConversationId(A, B), directConversationId(A, C))
  t.match(directConversationId(A, B), /^d_[A-Za-z0-9_-]{32}$/)
})

t.test(
  'opening a direct conversation creates it with two admins, and opening again yields nothing',
  async (t) => {
    const id = directConversationId(A, B)
    const d = decide(emptyState(id), { type: 'direct.open', actor: A, peerId: B, known }, ctx())
    t.ok(d.ok)
    if (!d.ok) return
    const created = d.events[0] as Extract<ChatEvent, { type: 'conversation.created' }>
    t.same(created.data.members, [
      { userId: A, role: 'admin' },
      { userId: B, role: 'admin' },
    ])
    const s = evolve(emptyState(id), created, 1, 'm')
    t.same(codeOf(s, { type: 'direct.open', actor: B, peerId: A, known }), [])
  },
)

t.test('refuses a direct conversation with oneself or with an unknown user', async (t) => {
  const s = emptyState(directConversationId(A, A))
  t.equal(codeOf(s, { type: 'direct.open', actor: A, peerId: A, known }), 'SELF_CONVERSATION')
  t.equal(codeOf(s, { type: 'direct.open', actor: A, peerId: 'u_nobody00', known }), 'USER_NOT_FOUND')
})

t.test(
  'creating a group makes the creator admin and refuses unknown users and oversize groups',
  async (t) => {
    const s = group()
    t.equal(s.members.get(A)?.role, 'admin')
    t.equal(s.members.get(B)?.role, 'member')
    t.equal(s.title, 'g')
    const e = emptyState('c_group0002')
    t.equal(
      codeOf(e, { type: 'group.create', actor: A, title: 't', memberIds: ['u_nobody00'], known }),
      'USER_NOT_FOUND',
    )
    t.equal(
      codeOf(e, { type: 'group.create', actor: A, title: 't', memberIds: [B, C, D], known }),
      'GROUP_FULL',
    )
  },
)

t.test('only admins add, remove, promote, demote and rename; members get NOT_ADMIN', async (t) => {
  const s = group()
  for (const c of [
    { type: 'group.add', actor: B, userId: D, known },
    { type: 'group.remove', actor: B, userId: C },
    { type: 'group.promote', actor: B, userId: C },
    { type: 'group.demote', actor: B, userId: A },
    { type: 'group.rename', actor: B, title: 'x' },
  ] as Command[])
    t.equal(codeOf(s, c), 'NOT_ADMIN', c.type)
  t.same(codeOf(s, { type: 'group.promote', actor: A, userId: B }), ['member.role_changed'])
  t.same(codeOf(s, { type: 'group.rename', actor: A, title: 'new' }), ['conversation.renamed'])
  t.same(codeOf(s, { type: 'group.rename', actor: A, title: 'g' }), [], 'same title is a no-op')
})

t.test('adding is idempotent, refuses unknown users and respects the member limit', async (t) => {
  const s = group()
  t.same(codeOf(s, { type: 'group.add', actor: A, userId: B, known }), [])
  t.equal(codeOf(s, { type: 'group.add', actor: A, userId: 'u_nobody00', known }), 'USER_NOT_FOUND')
  t.equal(codeOf(s, { type: 'group.add', actor: A, userId: D, known }), 'GROUP_FULL')
  t.same(codeOf(s, { type: 'group.add', actor: A, userId: D, known }, ctx({ maxGroupMembers: 4 })), [
    'member.added',
  ])
})

t.test('group commands on a direct conversation are refused with NOT_A_GROUP', async (t) => {
  const s = given(directConversationId(A, B), { type: 'direct.open', actor: A, peerId: B, known })
  t.equal(codeOf(s, { type: 'group.add', actor: A, userId: C, known }), 'NOT_A_GROUP')
  t.equal(codeOf(s, { type: 'group.leave', actor: A }), 'NOT_A_GROUP')
  t.equal(codeOf(s, { type: 'group.rename', actor: A, title: 'x' }), 'NOT_A_GROUP')
})

t.test('non-members and unknown conversations are refused alike with NOT_A_MEMBER', async (t) => {
  t.equal(codeOf(group(), send(D)), 'NOT_A_MEMBER')
  t.equal(codeOf(emptyState('c_nothing01'), send(A)), 'NOT_A_MEMBER')
  t.equal(codeOf(group(), { type: 'receipt', actor: D, kind: 'read', upTo: 1 }), 'NOT_A_MEMBER')
})

t.test('a removed member can no longer send', async (t) => {
  const s = group({ type: 'group.remove', actor: A, userId: C })
  t.equal(codeOf(s, send(C)), 'NOT_A_MEMBER')
  t.notOk(s.members.has(C))
})

t.test('when the last admin leaves, the longest-standing member becomes admin', async (t) => {
  const s = group({ type: 'group.leave', actor: A })
  t.notOk(s.members.has(A))
  t.equal(s.members.get(B)?.role, 'admin')
  t.equal(s.members.get(C)?.role, 'member')
  const s2 = group({ type: 'group.demote', actor: A, userId: A })
  t.equal(s2.members.get(A)?.role, 'admin', 'a group never loses its last admin by demotion either')
})

t.test('sends get dense numbers n, and refuse text that is too long or empty', async (t) => {
  const s = group(send(A, 'one'), send(B, 'two'))
  t.equal(s.n, 2)
  t.equal(s.lastMessage?.text, 'two')
  const d = decide(s, send(C, 'three'), ctx())
  t.ok(d.ok && d.events[0]?.type === 'message.sent' && d.events[0].data.n === 3)
  t.ok(d.ok && d.events[0]?.id === `${G}:${C}:cm_${C}_three`, 'message event ids are deterministic')
  t.equal(codeOf(s, send(A, 'x'.repeat(11))), 'TEXT_TOO_LONG')
  t.equal(codeOf(s, send(A, '')), 'INVALID_FRAME')
  t.equal(codeOf(s, send(A, 'hi', { mediaId: 'm_abcdefgh' })), 'INVALID_FRAME')
})

t.test('media messages need a media the sender may attach, of the same kind', async (t) => {
  const s = group()
  const ref: MediaRef = { mediaId: 'm_abcdefgh', kind: 'image', mime: 'image/png', size: 10 }
  const img = (more: Partial<Extract<Command, { type: 'send' }>>) =>
    send(A, 'cap', { kind: 'image', mediaId: 'm_abcdefgh', ...more })
  t.equal(codeOf(s, img({ mediaId: undefined })), 'INVALID_FRAME')
  t.equal(codeOf(s, img({ media: undefined })), 'MEDIA_NOT_FOUND')
  t.equal(codeOf(s, img({ media: { ...ref, kind: 'video' } })), 'MEDIA_KIND_MISMATCH')
  t.equal(codeOf(s, img({ media: ref, text: 'too long caption' })), 'TEXT_TOO_LONG')
  const d = decide(s, img({ media: ref }), ctx())
  t.ok(d.ok && d.events[0]?.type === 'message.sent' && d.events[0].data.media?.mediaId === 'm_abcdefgh')
})

t.test('receipts move watermarks forward only, never past the end of the conversation', async (t) => {
  const s = group(send(A, 'one'), send(A, 'two'), send(A, 'three'))
  // seqs: 1 created, 2..4 messages
  t.same(codeOf(s, { type: 'receipt', actor: B, kind: 'read', upTo: 3 }), ['receipt.read'])
  evolve(s, readAt(B, 3), 5, 'r')
  t.equal(s.members.get(B)?.read, 3)
  t.equal(s.members.get(B)?.readN, 2, 'n at the read watermark')
  t.equal(s.n - (s.members.get(B)?.readN ?? 0), 1, 'one unread')
  t.same(codeOf(s, { type: 'receipt', actor: B, kind: 'read', upTo: 2 }), [], 'lower is ignored')
  t.same(codeOf(s, { type: 'receipt', actor: B, kind: 'delivered', upTo: 3 }), [], 'read implies delivered')
  t.equal(codeOf(s, { type: 'receipt', actor: B, kind: 'read', upTo: 99 }), 'INVALID_FRAME')
  t.equal(s.members.get(A)?.read, 4, 'a sender has read up to their own message')
})

const readAt = (actor: string, upTo: number): ChatEvent => ({
  v: 1,
  type: 'receipt.read',
  id: `r${upTo}`,
  conversationId: G,
  actor,
  at: 1,
  data: { upTo },
})
