import { PUSH_JOB_RECIPIENTS, PUSH_PREVIEW_CHARS } from '@chatapp/contracts'
import t from 'tap'
import { effectsOf } from '../src/effects.js'
import { pushJobsOf, pushPreview } from '../src/push.js'
import { ev } from '../src/testing/given.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const C = 'u_cccccccc'
const G = 'c_group0001'

t.test('a message yields one push job naming every member but the sender, with a stable id', async (t) => {
  const m = ev.message(G, A, 3, 'hello\n  there')
  const ctx = { kind: 'group' as const, title: 'Team', members: [C, A, B] }
  const effects = effectsOf(m, 12, ctx)
  t.match(effects, [
    {
      kind: 'push',
      id: `${G}:12:push:0`,
      job: {
        conversationId: G,
        conversationKind: 'group',
        title: 'Team',
        seq: 12,
        senderId: A,
        kind: 'text',
        preview: 'hello there',
        recipients: [B, C],
        part: 0,
      },
    },
  ])
  t.same(effectsOf(m, 12, ctx), effects, 'the same event at the same sequence yields the same job')
  t.same(effectsOf(m, 12), [], 'without the fold’s context (rebuild, tests of other effects) no push')
})

t.test('membership events and a message in a conversation of one yield no push job', async (t) => {
  t.same(pushJobsOf(ev.created(G, A, [B]), 1, { kind: 'group', title: null, members: [A, B] }), [])
  t.same(pushJobsOf(ev.message(G, A, 1), 2, { kind: 'group', title: null, members: [A] }), [])
})

t.test('a large group’s message is split into jobs of PUSH_JOB_RECIPIENTS members', async (t) => {
  const members = Array.from(
    { length: PUSH_JOB_RECIPIENTS * 2 + 1 },
    (_, i) => `u_m${String(i).padStart(7, '0')}`,
  )
  const jobs = pushJobsOf(ev.message(G, members[0]!, 1), 5, { kind: 'group', title: 'big', members })
  t.same(
    jobs.map((j) => [j.id, j.job.recipients.length]),
    [
      [`${G}:5:push:0`, PUSH_JOB_RECIPIENTS],
      [`${G}:5:push:1`, PUSH_JOB_RECIPIENTS],
    ],
  )
  t.equal(new Set(jobs.flatMap((j) => j.job.recipients)).size, members.length - 1)
})

t.test('the preview is one line, cut within PUSH_PREVIEW_CHARS, absent without text', async (t) => {
  t.equal(pushPreview(undefined), undefined)
  t.equal(pushPreview('   '), undefined)
  const p = pushPreview('😀'.repeat(PUSH_PREVIEW_CHARS))!
  t.ok(p.length <= PUSH_PREVIEW_CHARS, 'fits the schema’s maxLength')
  t.equal(p, `${'😀'.repeat((PUSH_PREVIEW_CHARS - 2) / 2)}…`, 'no surrogate pair is split')
})
