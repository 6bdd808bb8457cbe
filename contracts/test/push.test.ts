import t from 'tap'
import { decodePushJob } from '../src/codec.js'
import type { PushJob } from '../src/push.js'

const C = 'c_group0001'
const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'
const v2: PushJob = {
  v: 2,
  batch: 'push:0:7:0',
  items: [
    {
      type: 'message',
      conversationId: C,
      conversationKind: 'group',
      title: 'T',
      seq: 9,
      firstSeq: 7,
      count: 2,
      senderId: A,
      kind: 'text',
      recipients: [B],
      part: 0,
      at: 20,
      firstAt: 10,
      mentioned: [B],
    },
    {
      type: 'reaction',
      conversationId: C,
      conversationKind: 'group',
      title: 'T',
      seq: 10,
      firstSeq: 10,
      senderId: B,
      recipients: [A],
      part: 0,
      at: 30,
      firstAt: 30,
      emoji: '👍',
      messageSeq: 7,
    },
  ],
}
const v1 = {
  v: 1,
  conversationId: C,
  conversationKind: 'direct',
  title: null,
  seq: 4,
  senderId: A,
  kind: 'text',
  recipients: [B],
  part: 1,
  at: 5,
}

t.test('a v2 job decodes as it is; a v1 job queued before the upgrade as its one item', async (t) => {
  t.same(decodePushJob(JSON.stringify(v2)), { ok: true, value: v2 })
  t.same(decodePushJob(JSON.stringify(v1)), {
    ok: true,
    value: {
      v: 2,
      batch: `${C}:4:push:1`,
      items: [
        {
          type: 'message',
          conversationId: C,
          conversationKind: 'direct',
          title: null,
          seq: 4,
          firstSeq: 4,
          senderId: A,
          recipients: [B],
          part: 1,
          at: 5,
          firstAt: 5,
          count: 1,
          kind: 'text',
        },
      ],
    },
  })
  const withPreview = decodePushJob(JSON.stringify({ ...v1, preview: 'hi' }))
  t.match(withPreview, { ok: true, value: { items: [{ preview: 'hi' }] } })
})

t.test('a job of an unknown version, a broken shape or no JSON is refused with the reason', async (t) => {
  t.match(decodePushJob(JSON.stringify({ v: 3, items: [] })), {
    ok: false,
    error: { message: 'unknown push job version 3: this worker reads 1, 2' },
  })
  t.match(decodePushJob('null'), { ok: false, error: { message: /version undefined/ } })
  t.match(decodePushJob('{}'), { ok: false, error: { message: /version undefined/ } })
  t.match(decodePushJob(JSON.stringify({ ...v2, items: [] })), { ok: false, error: { details: [/items/] } })
  t.match(decodePushJob(JSON.stringify({ ...v1, seq: 'four' })), { ok: false, error: { details: [/seq/] } })
  t.match(decodePushJob('{'), { ok: false, error: { code: 'BAD_JSON' } })
})
