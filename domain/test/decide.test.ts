import type { ChatEvent, MediaRef } from '@chatapp/contracts'
import t from 'tap'
import { type Command, decide, messageEventId } from '../src/decide.js'
import { emptyState } from '../src/state.js'
import { ev, given, testContext } from '../src/testing/given.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const C = 'u_cccccccc'
const D = 'u_dddddddd'
const known = new Set([A, B, C, D])
const G = 'c_group0001'
const DM = 'd_direct0001'
const small = {
  limits: { maxTextLength: 10, maxCaptionLength: 5, maxGroupMembers: 3, editWindowMs: 1, deleteWindowMs: 1 },
}

const group = (...more: ChatEvent[]) => given(G, ev.created(G, A, [B, C]), ...more)
const codeOf = (g: ReturnType<typeof given>, c: Command, ctx = small) => {
  const d = g.when(c, ctx)
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

t.test(
  'opening a direct conversation creates it with two admins; opening again yields nothing',
  async (t) => {
    const d = decide(emptyState(DM), { type: 'direct.open', actor: A, peerId: B, known }, testContext())
    t.ok(d.ok)
    if (!d.ok) return
    const created = d.events[0] as Extract<ChatEvent, { type: 'conversation.created' }>
    t.same(created.data.members, [
      { userId: A, role: 'admin' },
      { userId: B, role: 'admin' },
    ])
    const g = given(DM, created)
    t.same(codeOf(g, { type: 'direct.open', actor: B, peerId: A, known }), [])
    t.equal(codeOf(g, { type: 'direct.open', actor: C, peerId: A, known }), 'NOT_A_MEMBER')
  },
)

t.test('refuses a direct conversation with oneself or with an unknown user', async (t) => {
  const g = given(DM)
  t.equal(codeOf(g, { type: 'direct.open', actor: A, peerId: A, known }), 'SELF_CONVERSATION')
  t.equal(codeOf(g, { type: 'direct.open', actor: A, peerId: 'u_nobody00', known }), 'USER_NOT_FOUND')
})

t.test(
  'creating a group makes the creator admin and refuses unknown users, oversize groups, reuse',
  async (t) => {
    const g = group()
    t.equal(g.state.members.get(A)?.role, 'admin')
    t.equal(g.state.members.get(B)?.role, 'member')
    t.equal(g.state.title, 'group')
    const e = given('c_group0002')
    t.equal(
      codeOf(e, {
        type: 'group.create',
        actor: A,
        title: 't',
        memberIds: ['u_nobody00'],
        known,
        addable: known,
      }),
      'USER_NOT_FOUND',
    )
    t.equal(
      codeOf(e, { type: 'group.create', actor: A, title: 't', memberIds: [B, C, D], known, addable: known }),
      'GROUP_FULL',
    )
    t.same(
      codeOf(e, { type: 'group.create', actor: A, title: 't', memberIds: [B, B, A], known, addable: known }),
      ['conversation.created'],
    )
    t.equal(
      codeOf(g, { type: 'group.create', actor: A, title: 't', memberIds: [], known, addable: known }),
      'INTERNAL',
    )
  },
)

t.test('only admins add, remove, promote, demote and rename; members get NOT_ADMIN', async (t) => {
  const g = group()
  for (const c of [
    { type: 'group.add', actor: B, userId: D, known, addable: known },
    { type: 'group.remove', actor: B, userId: C },
    { type: 'group.promote', actor: B, userId: C },
    { type: 'group.demote', actor: B, userId: A },
    { type: 'group.rename', actor: B, title: 'x' },
  ] as Command[])
    t.equal(codeOf(g, c), 'NOT_ADMIN', c.type)
  t.same(codeOf(g, { type: 'group.promote', actor: A, userId: B }), ['member.role_changed'])
  t.same(codeOf(g, { type: 'group.promote', actor: A, userId: A }), [], 'already admin')
  t.same(codeOf(g, { type: 'group.demote', actor: A, userId: B }), [], 'already a member')
  t.equal(codeOf(g, { type: 'group.promote', actor: A, userId: D }), 'USER_NOT_FOUND')
  t.same(codeOf(g, { type: 'group.remove', actor: A, userId: D }), [], 'removing a non-member is a no-op')
  t.same(codeOf(g, { type: 'group.rename', actor: A, title: 'new' }), ['conversation.renamed'])
  t.same(codeOf(g, { type: 'group.rename', actor: A, title: 'group' }), [], 'same title is a no-op')
})

t.test('adding is idempotent, refuses unknown users and respects the member limit', async (t) => {
  const g = group()
  t.same(codeOf(g, { type: 'group.add', actor: A, userId: B, known, addable: known }), [])
  t.equal(
    codeOf(g, { type: 'group.add', actor: A, userId: 'u_nobody00', known, addable: known }),
    'USER_NOT_FOUND',
  )
  t.equal(codeOf(g, { type: 'group.add', actor: A, userId: D, known, addable: known }), 'GROUP_FULL')
  t.same(
    codeOf(
      g,
      { type: 'group.add', actor: A, userId: D, known, addable: known },
      { limits: { ...small.limits, maxGroupMembers: 4 } },
    ),
    ['member.added'],
  )
})

t.test('group commands on a direct conversation are refused with NOT_A_GROUP', async (t) => {
  const g = given(DM, ev.created(DM, A, [B]))
  t.equal(codeOf(g, { type: 'group.add', actor: A, userId: C, known, addable: known }), 'NOT_A_GROUP')
  t.equal(codeOf(g, { type: 'group.leave', actor: A }), 'NOT_A_GROUP')
  t.equal(codeOf(g, { type: 'group.rename', actor: A, title: 'x' }), 'NOT_A_GROUP')
})

t.test('non-members and unknown conversations are refused alike with NOT_A_MEMBER', async (t) => {
  t.equal(codeOf(group(), send(D)), 'NOT_A_MEMBER')
  t.equal(codeOf(given('c_nothing01'), send(A)), 'NOT_A_MEMBER')
  t.equal(codeOf(group(), { type: 'receipt', actor: D, kind: 'read', upTo: 1 }), 'NOT_A_MEMBER')
})

t.test('sends get dense numbers n and deterministic ids; text too long or empty is refused', async (t) => {
  const g = group(ev.message(G, A, 1), ev.message(G, B, 2))
  const d = g.when(send(C, 'three'), small)
  t.ok(d.ok && d.events[0]?.type === 'message.sent' && d.events[0].data.n === 3)
  t.ok(d.ok && d.events[0]?.id === messageEventId(G, C, `cm_${C}_three`))
  t.equal(codeOf(g, send(A, 'x'.repeat(11))), 'TEXT_TOO_LONG')
  t.equal(codeOf(g, send(A, '')), 'INVALID_FRAME')
  t.equal(codeOf(g, send(A, 'hi', { mediaId: 'm_abcdefgh' })), 'INVALID_FRAME')
})

t.test('media messages need a media the sender may attach, of the same kind', async (t) => {
  const g = group()
  const ref: MediaRef = { mediaId: 'm_abcdefgh', kind: 'image', mime: 'image/png', size: 10 }
  const img = (more: Partial<Extract<Command, { type: 'send' }>>) =>
    send(A, 'cap', { kind: 'image', mediaId: 'm_abcdefgh', ...more })
  t.equal(codeOf(g, img({ mediaId: undefined })), 'INVALID_FRAME')
  t.equal(codeOf(g, img({ media: undefined })), 'MEDIA_NOT_FOUND')
  t.equal(codeOf(g, img({ media: { ...ref, kind: 'video' } })), 'MEDIA_KIND_MISMATCH')
  t.equal(codeOf(g, img({ media: ref, text: 'too long caption' })), 'TEXT_TOO_LONG')
  const bare = g.when(img({ media: ref, text: undefined }), small)
  t.ok(bare.ok && bare.events[0]?.type === 'message.sent' && bare.events[0].data.text === undefined)
  const d = g.when(img({ media: ref }), small)
  t.ok(d.ok && d.events[0]?.type === 'message.sent' && d.events[0].data.media?.mediaId === 'm_abcdefgh')
})

t.test('receipts move watermarks forward only, never past the end of the conversation', async (t) => {
  // seqs: 1 created, 2..4 messages, 5 the read receipt
  const g = group(ev.message(G, A, 1), ev.message(G, A, 2), ev.message(G, A, 3), ev.read(G, B, 3))
  t.equal(g.state.members.get(B)?.read, 3)
  t.same(codeOf(g, { type: 'receipt', actor: B, kind: 'read', upTo: 4 }), ['receipt.read'])
  t.same(codeOf(g, { type: 'receipt', actor: B, kind: 'read', upTo: 2 }), [], 'lower is ignored')
  t.same(codeOf(g, { type: 'receipt', actor: B, kind: 'delivered', upTo: 3 }), [], 'read implies delivered')
  t.same(codeOf(g, { type: 'receipt', actor: C, kind: 'delivered', upTo: 5 }), ['receipt.delivered'])
  t.equal(codeOf(g, { type: 'receipt', actor: B, kind: 'read', upTo: 99 }), 'INVALID_FRAME')
})

t.test('everything decide allows, admit accepts on the same state', async (t) => {
  // The writer's rules and the reader's must never disagree in that direction: a decided event
  // that readers rejected would be reported to its sender as failed although nothing raced it.
  const g = group(ev.message(G, A, 1))
  const commands: Command[] = [
    send(B, 'x'),
    { type: 'group.add', actor: A, userId: D, known, addable: known },
    { type: 'group.remove', actor: A, userId: C },
    { type: 'group.promote', actor: A, userId: B },
    { type: 'group.rename', actor: A, title: 'again' },
    { type: 'group.leave', actor: B },
    { type: 'receipt', actor: C, kind: 'read', upTo: 2 },
  ]
  for (const c of commands) {
    const d = g.when(c)
    t.ok(d.ok, c.type)
    if (!d.ok) continue
    for (const e of d.events) {
      const copy = given(G, ev.created(G, A, [B, C]), ev.message(G, A, 1)).and(e)
      t.same(copy.verdicts.at(-1), { kind: 'accepted' }, `${c.type} is admitted`)
    }
  }
  const dm = given(DM)
  const d = dm.when({ type: 'direct.open', actor: A, peerId: B, known })
  t.ok(d.ok && given(DM, ...d.events).verdicts.every((v) => v.kind === 'accepted'))
})
