import type { PushJob } from '@chatapp/contracts'
import t from 'tap'
import type { StoredTarget } from '../../../src/push/push-targets.js'
import { type BurstFacts, planBurst, topicOf } from '../../../src/push/worker/plan.js'

const C = 'c_group0001'
const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const D = 'u_dddddddd'
const job = (seq: number, recipients: string[], over: Partial<PushJob> = {}): PushJob => ({
  v: 1,
  conversationId: C,
  conversationKind: 'group',
  title: 'T',
  seq,
  senderId: A,
  kind: 'text',
  preview: `m${seq}`,
  recipients,
  part: 0,
  at: 1000 + seq,
  ...over,
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
const facts = (over: Partial<BurstFacts>): BurstFacts => ({
  jobs: [],
  targets: [],
  online: new Map(),
  muted: new Set(),
  marks: new Map(),
  content: new Map(),
  operatorContent: 'full',
  names: new Map([[A, 'Alice']]),
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
