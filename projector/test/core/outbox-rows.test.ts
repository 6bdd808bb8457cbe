import { names } from '@chatapp/contracts'
import { effectsOf, pushItemOf, pushJobsOfBatch } from '@chatapp/domain'
import t from 'tap'
import { outboxRoute } from '../../src/core/outbox-rows.js'
import { created, ev, GROUP, U } from '../support/events.js'

const n = names('ns', 4)
const routeOrNot = outboxRoute(n, 2)
const route = routeOrNot

t.test('each effect is published where its readers look, with its id as the Msg-Id', async (t) => {
  const invite = { ...created(), data: { ...created().data, invited: [U.dan] } }
  const rows = effectsOf(invite, 5).map((x) => route(x, 5))
  t.same(
    rows.map((r) => [r.id, r.subject, r.shard, r.seq]),
    [
      [`${GROUP}:5:${U.ann}`, n.userSubject(U.ann), 2, 5],
      [`${GROUP}:5:${U.bob}`, n.userSubject(U.bob), 2, 5],
      [`${GROUP}:5:${U.cat}`, n.userSubject(U.cat), 2, 5],
      [`${GROUP}:5:${U.dan}:invitation`, n.userInvitationSubject(U.dan), 2, 5],
    ],
  )
  t.match(JSON.parse(rows[0]!.payload), { v: 1, id: rows[0]!.id, userId: U.ann, joined: true, convSeq: 5 })
  const photo = ev('message.sent', GROUP, U.ann, {
    clientMsgId: 'c1',
    deviceId: 'd',
    n: 1,
    kind: 'image',
    media: { mediaId: 'm_photo0001', kind: 'image', mime: 'image/jpeg', size: 3 },
  })
  const [job] = effectsOf(photo, 9).map((x) => route(x, 9))
  t.same([job!.id, job!.subject], [`m_photo0001:${GROUP}`, n.mediaJobSubject('image')])
  t.match(JSON.parse(job!.payload), {
    mediaId: 'm_photo0001',
    conversationId: GROUP,
    key: 'media/m_photo0001/original',
  })
  const items = [
    pushItemOf(
      ev('message.sent', GROUP, U.ann, { clientMsgId: 'c2', deviceId: 'd', n: 2, kind: 'text', text: 'hi' }),
      10,
      {
        kind: 'group',
        title: 'g',
        members: [U.ann, U.bob],
      },
    )!,
  ]
  const [p] = pushJobsOfBatch(`${routeOrNot.pushBatch}:10`, items)
  const push = route({ kind: 'push', ...p! }, 10)
  t.same([push.id, push.subject], ['push:2:10:0', n.pushJobSubject(GROUP)])
  t.match(JSON.parse(push.payload), {
    v: 2,
    batch: 'push:2:10:0',
    items: [{ conversationId: GROUP, seq: 10, recipients: [U.bob] }],
  })
  t.throws(() => route({ kind: 'nope' } as never, 1), /unhandled effect nope/)
})

t.test('with PROJECTOR_PUSH_JOBS=false the batch collects no push items', async (t) => {
  t.equal(routeOrNot.pushBatch, 'push:2')
  t.equal(outboxRoute(n, 2, { pushJobs: false }).pushBatch, undefined)
})
