import type { PushItem, PushMessageItem, PushReactionItem } from '@chatapp/contracts'
import t from 'tap'
import type { StoredTarget } from '../../../src/push/push-targets.js'
import { type BurstFacts, planBurst, topicOf } from '../../../src/push/worker/plan.js'

const C = 'c_group0001'
const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const D = 'u_dddddddd'
const job = (seq: number, recipients: string[], over: Partial<PushMessageItem> = {}): PushMessageItem => ({
  type: 'message',
  conversationId: C,
  conversationKind: 'group',
  title: 'T',
  seq,
  firstSeq: seq,
  count: 1,
  senderId: A,
  kind: 'text',
  preview: `m${seq}`,
  recipients,
  part: 0,
  at: 1000 + seq,
  firstAt: 1000 + seq,
  ...over,
})
const reaction = (
  seq: number,
  author: string,
  by: string,
  emoji = '👍',
  messageSeq = 1,
): PushReactionItem => ({
  type: 'reaction',
  conversationId: C,
  conversationKind: 'group',
  title: 'T',
  seq,
  firstSeq: seq,
  senderId: by,
  recipients: [author],
  part: 0,
  at: 1000 + seq,
  firstAt: 1000 + seq,
  emoji,
  messageSeq,
})
const target = (id: string, userId: string, deviceId = 'phone'): StoredTarget => ({
  id,
  userId,
  deviceId,
  kind: 'webpush',
  endpoint: `https://push.example/${id}`,
  p256dh: 'k',
  auth: 'a',
  secret: null,
})
const facts = (over: Partial<BurstFacts> & { jobs?: PushItem[] }): BurstFacts => ({
  items: over.jobs ?? [],
  targets: [],
  online: new Map(),
  muted: new Set(),
  marks: new Map(),
  content: new Map(),
  mentionsWhenMuted: new Map(),
  operatorContent: 'full',
  names: new Map([
    [A, 'Alice'],
    [B, 'Bob'],
  ]),
  ...over,
})

t.test(
  'one notification per target for a burst, standing for every message, showing the newest',
  async (t) => {
    const { deliveries } = planBurst(
      facts({
        jobs: [job(7, [B]), job(5, [B]), job(9, [B])],
        targets: [target('pt_b1', B), target('pt_b2', B, 'tab')],
      }),
    )
    t.equal(deliveries.length, 2)
    t.match(deliveries[0], {
      seq: 9,
      oldestAt: 1005,
      urgency: 'normal',
      topic: topicOf(C),
      notification: {
        id: `pt_b1:${C}:9`,
        count: 3,
        seq: 9,
        preview: 'm9',
        sender: { userId: A, displayName: 'Alice' },
      },
    })
  },
)

t.test('online devices, muted members and what a target was told before are skipped', async (t) => {
  const r = planBurst(
    facts({
      jobs: [job(5, [B, D]), job(6, [B, D])],
      targets: [target('pt_b', B), target('pt_b_tab', B, 'tab'), target('pt_d', D)],
      online: new Map([[B, new Set(['phone'])]]),
      muted: new Set([D]),
    }),
  )
  t.same(
    r.deliveries.map((d) => d.target.id),
    ['pt_b_tab'],
    'the user’s offline device is told even though another is online',
  )
  t.same(r.skipped, { online: 1, muted: 1, 'already-sent': 0 })

  const again = planBurst(
    facts({ jobs: [job(5, [B]), job(6, [B])], targets: [target('pt_b', B)], marks: new Map([['pt_b', 5]]) }),
  )
  t.match(
    again.deliveries,
    [{ seq: 6, notification: { count: 1 } }],
    'a redelivered burst counts only what is new',
  )
  const done = planBurst(
    facts({ jobs: [job(6, [B])], targets: [target('pt_b', B)], marks: new Map([['pt_b', 6]]) }),
  )
  t.same(done.deliveries, [])
  t.equal(done.skipped['already-sent'], 1)
})

t.test(
  'content none (the operator’s or the user’s) carries nothing but the conversation and counts',
  async (t) => {
    const jobs = [job(5, [B])]
    for (const f of [
      facts({ jobs, targets: [target('pt_b', B)], operatorContent: 'none' }),
      facts({ jobs, targets: [target('pt_b', B)], content: new Map([[B, 'none' as const]]) }),
    ]) {
      const [d] = planBurst(f).deliveries
      t.same(Object.keys(d!.notification).sort(), [
        'at',
        'content',
        'conversationId',
        'count',
        'id',
        'seq',
        'type',
        'v',
      ])
    }
  },
)

t.test('a direct conversation is high urgency; a Topic is 32 URL-safe characters', async (t) => {
  const [d] = planBurst(
    facts({ jobs: [job(3, [B], { conversationKind: 'direct' })], targets: [target('pt_b', B)] }),
  ).deliveries
  t.equal(d!.urgency, 'high')
  t.match(topicOf('d_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'), /^[A-Za-z0-9_-]{32}$/)
})

t.test('a collapsed item counts its messages; its parts and repeats count once', async (t) => {
  const [d] = planBurst(
    facts({
      jobs: [
        job(9, [B], { firstSeq: 5, count: 3, firstAt: 1001 }),
        job(9, [D], { firstSeq: 5, count: 3, firstAt: 1001, part: 1 }),
        job(9, [B], { firstSeq: 5, count: 3, firstAt: 1001 }),
        job(11, [B]),
      ],
      targets: [target('pt_b', B)],
    }),
  ).deliveries
  t.match(d, { seq: 11, oldestAt: 1001, notification: { count: 4, seq: 11, preview: 'm11' } })
})

t.test('a reaction alone tells the author who reacted with what, under its own Topic', async (t) => {
  const { deliveries } = planBurst(
    facts({ jobs: [reaction(8, A, B, '🎉', 3), reaction(6, A, D)], targets: [target('pt_a', A)] }),
  )
  t.equal(deliveries.length, 1)
  t.match(deliveries[0], {
    seq: 8,
    urgency: 'normal',
    topic: topicOf(C, 'reaction'),
    notification: {
      type: 'reaction',
      id: `pt_a:${C}:8`,
      seq: 8,
      count: 2,
      sender: { userId: B, displayName: 'Bob' },
      reaction: { emoji: '🎉', messageSeq: 3 },
    },
  })
  t.not(topicOf(C, 'reaction'), topicOf(C), 'a reaction never replaces an unread message’s notification')
  t.notOk('preview' in deliveries[0]!.notification || 'kind' in deliveries[0]!.notification)
  const withMessage = planBurst(
    facts({ jobs: [reaction(8, A, B), job(7, [A], { senderId: B })], targets: [target('pt_a', A)] }),
  ).deliveries
  t.match(
    withMessage,
    [{ seq: 8, topic: topicOf(C), notification: { type: 'message', count: 1, seq: 8, preview: 'm7' } }],
    'with a message in the burst, the message shows; the mark covers the reaction',
  )
  const muted = planBurst(
    facts({ jobs: [reaction(8, A, B)], targets: [target('pt_a', A)], muted: new Set([A]) }),
  )
  t.same(muted.deliveries, [], 'a muted conversation’s reactions are not pushed')
})

t.test('a mention reaches a member who muted the group, unless they turned that off', async (t) => {
  const items = [job(5, [B, D], { mentioned: [B, D] }), job(6, [B, D]), job(7, [B, D], { mentioned: [D] })]
  const targets = [target('pt_b', B), target('pt_d', D)]
  const r = planBurst(
    facts({
      jobs: items,
      targets,
      muted: new Set([B, D]),
      mentionsWhenMuted: new Map([[D, false]]),
    }),
  )
  t.same(r.skipped, { online: 0, muted: 1, 'already-sent': 0 }, 'D turned mentions-when-muted off')
  t.match(
    r.deliveries,
    [
      {
        target: { id: 'pt_b' },
        seq: 5,
        urgency: 'high',
        notification: { mention: true, count: 1, seq: 5, preview: 'm5' },
      },
    ],
    'B (default on) is told of the message that mentions them, not of the others',
  )
  const unmuted = planBurst(facts({ jobs: items, targets }))
  t.match(
    unmuted.deliveries,
    [
      { target: { id: 'pt_b' }, notification: { mention: true, count: 3, seq: 7 } },
      { target: { id: 'pt_d' }, notification: { mention: true, count: 3, seq: 7 } },
    ],
    'a mentioned member who did not mute gets the normal notification, marked as a mention',
  )
  const none = planBurst(facts({ jobs: [job(8, [B])], targets: [target('pt_b', B)] }))
  t.notOk('mention' in none.deliveries[0]!.notification, 'no mention: no mark')
  const hidden = planBurst(
    facts({ jobs: items, targets: [target('pt_b', B)], content: new Map([[B, 'none' as const]]) }),
  )
  t.notOk('mention' in hidden.deliveries[0]!.notification, 'content none carries no more than it says')
  const online = planBurst(
    facts({
      jobs: items,
      targets: [target('pt_b', B)],
      muted: new Set([B]),
      online: new Map([[B, new Set(['phone'])]]),
    }),
  )
  t.same(online.skipped.online, 1, 'a mentioned member’s online device is not pushed')
})
