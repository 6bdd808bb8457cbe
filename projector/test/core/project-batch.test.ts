import { encodeJson } from '@chatapp/contracts'
import t from 'tap'
import type { ConvState } from '../../src/core/project.js'
import { type BatchInput, type LogEntry, projectBatch } from '../../src/core/project-batch.js'
import { created, ev, GROUP, sent, U } from '../support/events.js'

const STREAM = 'ns-conv-0'
const subject = (id: string, lane = 'm') => `ns.conv.0.${id}.${lane}`
const entry = (seq: number, e: unknown, id = GROUP): LogEntry => ({
  stream: STREAM,
  seq,
  subject: subject(id),
  data: typeof e === 'string' ? new TextEncoder().encode(e) : encodeJson(e),
})
/** An outbox route that keeps each effect's kind as its subject and the effect as its payload. */
const routeTo = (pushBatch: string | undefined) =>
  Object.assign(
    (x: { id: string; kind: string }, seq: number) => ({
      id: x.id,
      shard: 0,
      seq,
      subject: x.kind,
      payload: JSON.stringify(x),
    }),
    { pushBatch },
  )
const input = (offset: number, extra: Partial<BatchInput> = {}): BatchInput => ({
  offset,
  continuity: { kind: 'server' },
  source: 'projector',
  now: 1,
  ...extra,
})

t.test('entries at or below the offset are skipped and the rest applied in order', async (t) => {
  const states = new Map<string, ConvState>()
  const r = projectBatch(states, [entry(1, created()), entry(2, sent(GROUP, U.ann, 1))], input(0))
  t.match(r, { applied: 2, skipped: 0, lastSeq: 2 })
  const again = projectBatch(
    new Map(states),
    [entry(2, sent(GROUP, U.ann, 1)), entry(3, sent(GROUP, U.bob, 2))],
    input(2),
  )
  t.match(again, { applied: 1, skipped: 1, lastSeq: 3 })
})

t.test(
  'an entry that does not follow the offset ends the batch with a hole, and nothing after it is applied',
  async (t) => {
    const states = new Map<string, ConvState>()
    projectBatch(states, [entry(1, created())], input(0))
    const r = projectBatch(
      states,
      [entry(3, sent(GROUP, U.ann, 1)), entry(4, sent(GROUP, U.ann, 2))],
      input(1),
    )
    t.same(r.hole, { after: 1, next: 3 })
    t.match(r, { applied: 0, lastSeq: 1 })
    t.equal(r.plan.messages.size, 0)
    const vouched = projectBatch(
      states,
      [entry(3, sent(GROUP, U.ann, 1)), entry(4, sent(GROUP, U.ann, 2))],
      input(1, { continuity: { kind: 'server', vouch: { from: 2, to: 3 } } }),
    )
    t.equal(vouched.hole, undefined)
    t.match(vouched, { applied: 2, lastSeq: 4 })
  },
)

t.test(
  'an entry the database refused alone is dead-lettered with the reason, and the offset moves past it',
  async (t) => {
    const states = new Map<string, ConvState>()
    projectBatch(states, [entry(1, created())], input(0))
    const r = projectBatch(
      states,
      [entry(2, sent(GROUP, U.ann, 1)), entry(3, sent(GROUP, U.ann, 2))],
      input(1, { refused: new Map([[2, 'PostgreSQL refused it: SQLSTATE 22021 …']]) }),
    )
    t.match(r, { applied: 1, lastSeq: 3 })
    t.match(r.deadLetters, [{ seq: 2, code: 'EVENT_INVALID', reason: /SQLSTATE 22021/ }])
    t.same(
      [...r.plan.messages.values()].map((m) => m.seq),
      [3],
    )
  },
)

t.test('a dead letter never carries U+0000, which its own table could not hold', async (t) => {
  const r = projectBatch(new Map(), [entry(1, '{"type":"x\\u0000y","\\u0000":1}')], input(0))
  t.equal(r.deadLetters.length, 1)
  t.match(r.deadLetters[0]!.reason, /unknown type/)
  t.notOk(r.deadLetters[0]!.reason.includes('\u0000'))
})

t.test('an event whose time no JavaScript number holds exactly is dead-lettered', async (t) => {
  const states = new Map<string, ConvState>()
  const bad = JSON.stringify(created()).replace('"at":1700000000000', '"at":9007199254740993')
  const r = projectBatch(states, [entry(1, bad)], input(0))
  t.match(r.deadLetters, [{ seq: 1, reason: /not a safe integer/ }])
  t.equal(r.lastSeq, 1)
})

t.test('a receipt on the wrong lane is dead-lettered, not thrown', async (t) => {
  const r = projectBatch(new Map(), [entry(1, ev('receipt.read', GROUP, U.ann, { upTo: 1 }))], input(0))
  t.match(r.deadLetters, [{ reason: /lane/ }])
})

t.test(
  'an event the domain rules reject is dead-lettered EVENT_REJECTED, changes no row, and the next is judged without it',
  async (t) => {
    const states = new Map<string, ConvState>()
    projectBatch(states, [entry(1, created())], input(0))
    const r = projectBatch(
      states,
      [
        entry(2, sent(GROUP, U.ann, 2)), // skips n = 1
        entry(3, ev('member.joined', GROUP, U.dan, { userId: U.dan })), // never invited
        entry(4, sent(GROUP, U.bob, 1)),
      ],
      input(1),
    )
    t.match(r, { applied: 1, lastSeq: 4 })
    t.match(r.deadLetters, [
      { seq: 2, code: 'EVENT_REJECTED', reason: 'message.sent: numbered 2 where 1 comes next' },
      { seq: 3, code: 'EVENT_REJECTED', reason: `member.joined: ${U.dan} has no pending invitation` },
    ])
    t.same(
      [...r.plan.messages.values()].map((m) => [m.seq, m.n]),
      [[4, 1]],
    )
    t.equal(r.plan.members.size, 0, 'the rejected join made no member row')
    t.equal(states.get(GROUP)!.members.has(U.dan), false)
  },
)

t.test('the effects of admitted events become outbox rows, in log order, only when asked', async (t) => {
  const route = routeTo(undefined)
  const batch = [
    entry(1, created(GROUP, [U.ann, U.bob])),
    entry(2, ev('member.joined', GROUP, U.dan, { userId: U.dan })), // rejected: no effect
    entry(3, ev('member.added', GROUP, U.ann, { userId: U.cat, role: 'member' })),
  ]
  const r = projectBatch(new Map(), batch, input(0, { effects: route }))
  t.same(
    r.effects.map((x) => [x.id, x.seq, x.subject]),
    [
      [`${GROUP}:1:${U.ann}`, 1, 'notice'],
      [`${GROUP}:1:${U.bob}`, 1, 'notice'],
      [`${GROUP}:3:${U.cat}`, 3, 'notice'],
    ],
  )
  t.same(projectBatch(new Map(), batch, input(0)).effects, [], 'a rebuild collects none')
  const refused = projectBatch(new Map(), batch, input(0, { effects: route, refused: new Map([[3, 'no']]) }))
  t.same(
    refused.effects.map((x) => x.seq),
    [1, 1],
    'an event dead-lettered for its data has none',
  )
})

t.test(
  'a batch’s messages and reactions become one push job, named by its first sequence above the offset',
  async (t) => {
    const route = routeTo('push:0')
    const states = new Map<string, ConvState>()
    projectBatch(states, [entry(1, created(GROUP, [U.ann, U.bob]))], input(0))
    const batch = [
      entry(1, created(GROUP, [U.ann, U.bob])), // at the offset: skipped, not the batch's first
      entry(2, sent(GROUP, U.ann, 1)),
      entry(3, sent(GROUP, U.ann, 2)),
      entry(4, ev('message.reacted', GROUP, U.bob, { seq: 2, senderId: U.ann, emoji: '👍' })),
      entry(5, ev('message.reacted', GROUP, U.ann, { seq: 2, senderId: U.ann, emoji: '👍' })), // own: none
    ]
    const r = projectBatch(states, batch, input(1, { effects: route }))
    const push = r.effects.filter((x) => x.subject === 'push')
    t.same(
      push.map((x) => [x.id, x.seq]),
      [['push:0:2:0', 2]],
    )
    t.match(JSON.parse(push[0]!.payload).job.items, [
      { type: 'message', seq: 3, firstSeq: 2, count: 2, recipients: [U.bob] },
      { type: 'reaction', seq: 4, senderId: U.bob, recipients: [U.ann], emoji: '👍', messageSeq: 2 },
    ])
    const off = routeTo(undefined)
    t.same(
      projectBatch(
        new Map(),
        [entry(1, created(GROUP, [U.ann, U.bob])), entry(2, sent(GROUP, U.ann, 1))],
        input(0, { effects: off }),
      ).effects.filter((x) => x.subject === 'push'),
      [],
      'push jobs off: none',
    )
  },
)
