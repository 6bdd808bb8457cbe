import t from 'tap'
import { addChanges, emptyPlan, mergeMedia, planSize } from '../../src/core/batch-plan.js'
import type { MediaPatch, MemberRow } from '../../src/core/rows.js'

const member = (role: 'admin' | 'member', active = true): MemberRow => ({
  conversationId: 'c_x000001',
  userId: 'u_a000001',
  role,
  active,
  joinedSeq: 1,
  joinOrd: 0,
  leftSeq: null,
})

t.test('the last absolute row of a key wins', async (t) => {
  const p = emptyPlan()
  addChanges(p, [
    { t: 'member', row: member('member') },
    { t: 'member', row: member('admin', false) },
  ])
  t.equal(p.members.size, 1)
  t.match([...p.members.values()][0], { role: 'admin', active: false })
})

t.test('watermarks coalesce to the maximum of each lane', async (t) => {
  const p = emptyPlan()
  const w = (delivered: number, read: number) => ({
    t: 'watermark' as const,
    patch: { conversationId: 'c_x000001', userId: 'u_a000001', delivered, read },
    member: member('member'),
  })
  addChanges(p, [w(5, 0), w(3, 3), w(4, 2)])
  t.match([...p.watermarks.values()][0], { delivered: 5, read: 3 })
})

t.test('a message is inserted once per sequence', async (t) => {
  const p = emptyPlan()
  const row = {
    conversationId: 'c_x000001',
    seq: 3,
    n: 1,
    senderId: 'u_a000001',
    deviceId: 'd',
    clientMsgId: 'cmid0001',
    kind: 'text' as const,
    text: 'a',
    mediaId: null,
    media: null,
    at: 1,
    replyTo: null,
    forwarded: null,
    mentions: null,
    editedAt: null,
    deletedAt: null,
    deletedBy: null,
  }
  addChanges(p, [
    { t: 'message', row },
    { t: 'message', row: { ...row, text: 'b' } },
  ])
  t.equal(p.messages.size, 1)
  t.equal([...p.messages.values()][0]!.text, 'a')
  t.equal(planSize(p), 1)
})

t.test('a later pending never undoes ready; ready keeps the reference of pending', async (t) => {
  const base: MediaPatch = { conversationId: 'c_x000001', mediaId: 'm_x000001', state: 'pending', seq: 2 }
  const ref = { mediaId: 'm_x000001', kind: 'image' as const, mime: 'image/png', size: 1 }
  const ready = mergeMedia({ ...base, ref }, { ...base, state: 'ready', seq: 3, variants: [] })
  t.match(ready, { state: 'ready', ref, seq: 3 })
  t.match(mergeMedia(ready, { ...base, seq: 2 }), { state: 'ready', seq: 3 })
  const p = emptyPlan()
  addChanges(p, [
    { t: 'media', patch: { ...base, ref } },
    { t: 'media', patch: { ...base, state: 'failed', seq: 4, failureCode: 'MEDIA_CORRUPT' } },
  ])
  t.match([...p.media.values()][0], { state: 'failed', ref, failureCode: 'MEDIA_CORRUPT' })
})

t.test('an unknown change is a programming error', async (t) => {
  t.throws(() => addChanges(emptyPlan(), [{ t: 'nope' } as never]), /unhandled change/)
})
