import type { ChatEvent } from '@chatapp/contracts'
import t from 'tap'
import { effectsOf, membershipChanges } from '../src/effects.js'
import { ev } from '../src/testing/given.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const G = 'c_group0001'

t.test(
  'membership events notify each user whose conversation set changes, with ids stable per event',
  async (t) => {
    const created = effectsOf(ev.created(G, A, [B]), 1)
    t.same(
      created.map((x) => x.kind === 'notice' && [x.id, x.notice.userId, x.notice.joined, x.notice.convSeq]),
      [
        [`${G}:1:${A}`, A, true, 1],
        [`${G}:1:${B}`, B, true, 1],
      ],
    )
    t.match(effectsOf(ev.removed(G, A, B), 7), [
      { kind: 'notice', notice: { userId: B, joined: false, convSeq: 7 } },
    ])
    t.match(effectsOf(ev.left(G, B), 8), [{ kind: 'notice', notice: { userId: B, joined: false } }])
    t.match(effectsOf(ev.added(G, A, B), 9), [{ kind: 'notice', notice: { userId: B, joined: true } }])
    t.same(effectsOf(ev.created(G, A, [B]), 1), created, 'the same event yields the same effects')
    t.same(membershipChanges(ev.renamed(G, A, 'x')), [])
  },
)

t.test('a message with media yields its job; a text message nothing', async (t) => {
  const m = ev.message(G, A, 1) as Extract<ChatEvent, { type: 'message.sent' }>
  t.same(effectsOf(m, 2), [])
  const withMedia = {
    ...m,
    data: {
      ...m.data,
      kind: 'document' as const,
      media: {
        mediaId: 'm_abcdefgh',
        kind: 'document' as const,
        mime: 'application/pdf',
        size: 9,
        name: 'a.pdf',
      },
    },
  }
  t.match(effectsOf(withMedia, 2), [
    {
      kind: 'media-job',
      id: `m_abcdefgh:${G}`,
      job: {
        mediaId: 'm_abcdefgh',
        conversationId: G,
        uploaderId: A,
        kind: 'document',
        name: 'a.pdf',
        key: 'media/m_abcdefgh/original',
      },
    },
  ])
  const unnamed = {
    ...withMedia,
    data: {
      ...withMedia.data,
      media: { mediaId: 'm_abcdefgh', kind: 'image' as const, mime: 'image/png', size: 9 },
    },
  }
  t.notOk('name' in (effectsOf(unnamed, 2)[0] as { job: object }).job)
})
