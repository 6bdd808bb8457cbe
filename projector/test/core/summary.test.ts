import t from 'tap'
import { summarise } from '../../src/core/summary.js'
import { created, DIRECT, ev, GROUP, sent, U } from '../support/events.js'

t.test('each event type has a one-line summary', async (t) => {
  t.equal(summarise(created()), `group "Team" with ${U.ann}*, ${U.bob}, ${U.cat}`)
  t.equal(summarise(created(DIRECT, [U.ann, U.bob])), `direct with ${U.ann}*, ${U.bob}*`)
  t.equal(summarise(ev('conversation.renamed', GROUP, U.ann, { title: 'X' })), 'renamed to "X"')
  t.equal(
    summarise(ev('member.added', GROUP, U.ann, { userId: U.dan, role: 'member' })),
    `added ${U.dan} as member`,
  )
  t.equal(summarise(ev('member.invited', GROUP, U.ann, { userId: U.dan })), `invited ${U.dan}`)
  t.equal(
    summarise({ ...created(), data: { ...created().data, invited: [U.dan] } }),
    `group "Team" with ${U.ann}*, ${U.bob}, ${U.cat}, inviting ${U.dan}`,
  )
  t.equal(
    summarise(ev('member.joined', GROUP, U.dan, { userId: U.dan })),
    `${U.dan} joined (accepted an invitation)`,
  )
  t.equal(summarise(ev('member.invite_cancelled', GROUP, U.dan, { userId: U.dan })), `${U.dan} declined`)
  t.equal(
    summarise(ev('member.invite_cancelled', GROUP, U.ann, { userId: U.dan })),
    `withdrew ${U.dan}'s invitation`,
  )
  t.equal(summarise(ev('member.removed', GROUP, U.ann, { userId: U.dan })), `removed ${U.dan}`)
  t.equal(summarise(ev('member.left', GROUP, U.dan, { userId: U.dan })), `${U.dan} left`)
  t.equal(
    summarise(ev('member.role_changed', GROUP, U.ann, { userId: U.dan, role: 'admin' })),
    `${U.dan} is now admin`,
  )
  t.equal(summarise(sent(GROUP, U.ann, 3, 'hi\nthere')), '#3 text "hi there"')
  t.match(summarise(sent(GROUP, U.ann, 3, 'x'.repeat(100))), /…"$/)
  t.equal(
    summarise(
      ev('message.sent', GROUP, U.ann, {
        clientMsgId: 'cmid0001',
        deviceId: 'd',
        n: 1,
        kind: 'image',
        media: { mediaId: 'm_abc0001', kind: 'image', mime: 'image/png', size: 1 },
      }),
    ),
    '#1 image [image m_abc0001]',
  )
  t.equal(
    summarise(ev('media.ready', GROUP, 'system', { mediaId: 'm_abc0001', variants: [] })),
    'm_abc0001 ready (no variants)',
  )
  t.equal(
    summarise(
      ev('media.failed', GROUP, 'system', { mediaId: 'm_abc0001', code: 'MEDIA_CORRUPT', reason: 'bad' }),
    ),
    'm_abc0001 failed: MEDIA_CORRUPT bad',
  )
  t.equal(summarise(ev('receipt.delivered', GROUP, U.bob, { upTo: 4 })), 'delivered up to 4')
  t.equal(summarise(ev('receipt.read', GROUP, U.bob, { upTo: 4 })), 'read up to 4')
  t.equal(
    summarise(
      ev('receipt.batch', GROUP, 'system', {
        delivered: [
          { userId: U.bob, upTo: 4 },
          { userId: U.cat, upTo: 4 },
        ],
        read: [{ userId: U.bob, upTo: 3 }],
      }),
    ),
    '2 delivered, 1 read',
  )
})
