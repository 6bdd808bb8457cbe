import {
  type ChatEvent,
  PUSH_JOB_ITEMS,
  PUSH_JOB_RECIPIENTS,
  PUSH_PREVIEW_CHARS,
  type PushItem,
} from '@chatapp/contracts'
import t from 'tap'
import { effectsOf } from '../src/effects.js'
import { collapsePushItems, pushItemOf, pushJobsOfBatch, pushPreview } from '../src/push.js'
import { ev } from '../src/testing/given.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const C = 'u_cccccccc'
const G = 'c_group0001'
const H = 'c_group0002'
const team = { kind: 'group' as const, title: 'Team', members: [C, A, B] }
const at = (e: ChatEvent, ms: number): ChatEvent => ({ ...e, at: ms })
const mentioning = (e: ChatEvent, mentions: string[]): ChatEvent =>
  ({ ...e, data: { ...e.data, mentions } }) as ChatEvent

t.test(
  'a message yields one item naming every member but the sender, the same for the same event',
  async (t) => {
    const m = ev.message(G, A, 3, 'hello\n  there')
    const item = pushItemOf(m, 12, team)
    t.match(item, {
      type: 'message',
      conversationId: G,
      conversationKind: 'group',
      title: 'Team',
      seq: 12,
      firstSeq: 12,
      count: 1,
      senderId: A,
      kind: 'text',
      preview: 'hello there',
      recipients: [B, C],
      part: 0,
    })
    t.notOk(item && 'mentioned' in item, 'nobody mentioned: no list')
    t.same(pushItemOf(m, 12, team), item, 'the same event at the same sequence yields the same item')
    t.same(effectsOf(m, 12), [], 'a text message has no per-event effect: push work is the batch’s')
    t.equal(
      pushItemOf(m, 12, { kind: 'group', title: 'x'.repeat(300), members: [A, B] })?.title?.length,
      200,
      'a title is cut to what the job allows',
    )
    t.equal(pushItemOf(m, 12, { kind: 'direct', title: null, members: [A, B] })?.title, null)
    t.notOk('preview' in pushItemOf(ev.message(G, A, 4, '  '), 13, team)!, 'nothing to preview: no preview')
  },
)

t.test(
  'mentions are kept for recipients only; membership events and a lone member yield nothing',
  async (t) => {
    const m = mentioning(ev.message(G, A, 1), [C, 'u_gonegone', B])
    const item = pushItemOf(m, 4, team)
    t.same(item?.type === 'message' && item.mentioned, [B, C])
    t.equal(pushItemOf(ev.created(G, A, [B]), 1, { kind: 'group', title: null, members: [A, B] }), undefined)
    t.equal(pushItemOf(ev.message(G, A, 1), 2, { kind: 'group', title: null, members: [A] }), undefined)
  },
)

t.test(
  'a reaction tells the reacted message’s author, unless it is theirs, removed, or they left',
  async (t) => {
    t.match(pushItemOf(ev.reacted(G, B, 7, A, '👍'), 9, team), {
      type: 'reaction',
      seq: 9,
      senderId: B,
      recipients: [A],
      emoji: '👍',
      messageSeq: 7,
    })
    t.equal(pushItemOf(ev.reacted(G, A, 7, A, '👍'), 9, team), undefined, 'the author’s own reaction')
    t.equal(pushItemOf(ev.reacted(G, B, 7, A, null), 9, team), undefined, 'a removed reaction')
    t.equal(
      pushItemOf(ev.reacted(G, B, 7, A, '👍'), 9, { ...team, members: [B, C] }),
      undefined,
      'an author who left the group',
    )
  },
)

const msg = (c: string, actor: string, seq: number, ms = seq * 10) =>
  pushItemOf(at(ev.message(c, actor, seq), ms), seq, { ...team, members: [A, B, C] })!

t.test('a batch groups items by conversation and collapses consecutive messages of one sender', async (t) => {
  const items = [
    msg(G, A, 1),
    msg(H, B, 2),
    msg(G, A, 3),
    msg(G, A, 4),
    msg(H, C, 5),
    pushItemOf(ev.reacted(G, B, 1, A, '🎉'), 6, team)!,
    msg(G, A, 7),
    pushItemOf(mentioning(ev.message(G, A, 8), [B]), 8, team)!,
    msg(G, A, 9),
  ]
  const out = collapsePushItems(items)
  t.same(
    out.map((i) => [i.conversationId, i.type, i.firstSeq, i.seq, i.type === 'message' ? i.count : 1]),
    [
      [G, 'message', 1, 4, 3],
      [G, 'reaction', 6, 6, 1],
      [G, 'message', 7, 7, 1],
      [G, 'message', 8, 8, 1],
      [G, 'message', 9, 9, 1],
      [H, 'message', 2, 2, 1],
      [H, 'message', 5, 5, 1],
    ],
    'a reaction, a mention and another sender each end a run',
  )
  t.match(
    out[0],
    { seq: 4, at: 40, firstAt: 10, preview: 'm4' },
    'the newest message shows, the oldest’s time stays',
  )
  const jobs = pushJobsOfBatch('push:3:100', items)
  t.same(
    jobs.map((j) => j.id),
    ['push:3:100:0'],
  )
  t.same(jobs[0]!.job, { v: 2, batch: 'push:3:100:0', items: out })
  t.same(pushJobsOfBatch('push:3:100', items), jobs, 'the same batch yields the same jobs')
  t.same(pushJobsOfBatch('push:3:100', []), [])
})

t.test('a job holds at most PUSH_JOB_RECIPIENTS recipients and PUSH_JOB_ITEMS items', async (t) => {
  const members = Array.from(
    { length: PUSH_JOB_RECIPIENTS * 2 + 1 },
    (_, i) => `u_m${String(i).padStart(7, '0')}`,
  )
  const big = pushItemOf(ev.message(G, members[0]!, 1), 5, { kind: 'group', title: 'big', members })!
  const small = msg(H, A, 6)
  const jobs = pushJobsOfBatch('push:0:5', [big, small])
  t.same(
    jobs.map((j) => [j.id, j.job.items.map((i) => [i.conversationId, i.part, i.recipients.length])]),
    [
      ['push:0:5:0', [[G, 0, PUSH_JOB_RECIPIENTS]]],
      ['push:0:5:1', [[G, 1, PUSH_JOB_RECIPIENTS]]],
      ['push:0:5:2', [[H, 0, 2]]],
    ],
    'a large group’s item is split into parts; a full job is closed',
  )
  t.same(
    pushJobsOfBatch('push:0:5', [small, big]).map((j) =>
      j.job.items.map((i) => [i.part, i.recipients.length]),
    ),
    [
      [
        [0, 2],
        [0, PUSH_JOB_RECIPIENTS - 2],
      ],
      [[1, PUSH_JOB_RECIPIENTS]],
      [[2, 2]],
    ],
    'a part fills the room a job has left',
  )
  t.equal(
    new Set(
      jobs.flatMap((j) => j.job.items.filter((i) => i.conversationId === G).flatMap((i) => i.recipients)),
    ).size,
    members.length - 1,
    'every member but the sender, once',
  )
  const many: PushItem[] = Array.from({ length: PUSH_JOB_ITEMS + 2 }, (_, i) =>
    msg(`d_${String(i).padStart(8, '0')}`, A, i + 1),
  )
  t.same(
    pushJobsOfBatch('push:1:1', many).map((j) => j.job.items.length),
    [PUSH_JOB_ITEMS, 2],
  )
})

t.test('the preview is one line, cut within PUSH_PREVIEW_CHARS, absent without text', async (t) => {
  t.equal(pushPreview(undefined), undefined)
  t.equal(pushPreview('   '), undefined)
  const p = pushPreview('😀'.repeat(PUSH_PREVIEW_CHARS))!
  t.ok(p.length <= PUSH_PREVIEW_CHARS, 'fits the schema’s maxLength')
  t.equal(p, `${'😀'.repeat((PUSH_PREVIEW_CHARS - 2) / 2)}…`, 'no surrogate pair is split')
})
