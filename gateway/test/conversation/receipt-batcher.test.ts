import type { ChatEvent } from '@chatapp/contracts'
import { type ConversationState, emptyState, evolve } from '@chatapp/domain'
import t from 'tap'
import {
  addPending,
  createReceiptBatcher,
  flushEvents,
  type PendingReceipts,
} from '../../src/conversation/receipt-batcher.js'

const fold = (s: ConversationState, event: ChatEvent, seq: number, lane: 'm' | 'r') =>
  evolve(s, { seq, lane, event })

const id = 'c_batch0001'
const [A, B, C, D] = ['u_aaaaaaaa', 'u_bbbbbbbb', 'u_cccccccc', 'u_dddddddd']
const ev = (type: ChatEvent['type'], actor: string, data: unknown): ChatEvent =>
  ({ v: 1, type, id: `${type}${Math.random()}`, conversationId: id, actor, at: 5, data }) as ChatEvent
let ids = 0
const ctx = { now: 7, newId: () => `e${++ids}` }

/** A group of A, B, C with one message from A at seq 2. */
const group = (): ConversationState => {
  const s = emptyState(id)
  fold(
    s,
    ev('conversation.created', A, {
      kind: 'group',
      title: 't',
      members: [A, B, C].map((userId) => ({ userId, role: userId === A ? 'admin' : 'member' })),
    }),
    1,
    'm',
  )
  fold(
    s,
    ev('message.sent', A, { clientMsgId: 'cm_0000001', deviceId: 'd', n: 1, kind: 'text', text: 'x' }),
    2,
    'm',
  )
  return s
}

t.test('a pending watermark only grows, per user and kind', async (t) => {
  const p: PendingReceipts = new Map()
  addPending(p, B, 'delivered', 5)
  addPending(p, B, 'delivered', 3)
  addPending(p, B, 'read', 4)
  addPending(p, B, 'read', 2)
  addPending(p, C, 'read', 6)
  t.same(
    [...p],
    [
      [B, { delivered: 5, read: 4 }],
      [C, { delivered: 0, read: 6 }],
    ],
  )
})

t.test('one pending receipt is flushed as the plain receipt of its author', async (t) => {
  const p: PendingReceipts = new Map()
  addPending(p, B, 'delivered', 2)
  const events = flushEvents(group(), p, ctx)
  t.match(events, [{ type: 'receipt.delivered', actor: B, conversationId: id, at: 7, data: { upTo: 2 } }])
})

t.test('several pending receipts become one receipt.batch written by the system', async (t) => {
  const p: PendingReceipts = new Map()
  addPending(p, B, 'delivered', 2)
  addPending(p, C, 'delivered', 2)
  addPending(p, C, 'read', 2)
  const [e, ...rest] = flushEvents(group(), p, ctx)
  t.same(rest, [])
  t.match(e, {
    type: 'receipt.batch',
    actor: 'system',
    // C's delivered watermark is implied by its read one.
    data: { delivered: [{ userId: B, upTo: 2 }], read: [{ userId: C, upTo: 2 }] },
  })
})

t.test('entries of users who are no longer members, or already so, are dropped at flush', async (t) => {
  const s = group()
  const p: PendingReceipts = new Map()
  addPending(p, B, 'delivered', 2)
  addPending(p, C, 'delivered', 2)
  addPending(p, D, 'read', 2) // never a member
  addPending(p, A, 'read', 2) // the sender has read their own message
  fold(s, ev('member.removed', A, { userId: C }), 3, 'm')
  t.match(flushEvents(s, p, ctx), [{ type: 'receipt.delivered', actor: B }])
  fold(s, ev('receipt.delivered', B, { upTo: 2 }), 4, 'r')
  t.same(flushEvents(s, p, ctx), [], 'nothing left to record')
})

t.test('the state folds every entry of a batch, monotonically', async (t) => {
  const s = group()
  fold(s, ev('receipt.read', B, { upTo: 2 }), 3, 'r')
  fold(
    s,
    ev('receipt.batch', 'system', {
      delivered: [
        { userId: C, upTo: 2 },
        { userId: D, upTo: 2 },
      ],
      read: [{ userId: B, upTo: 1 }],
    }),
    4,
    'r',
  )
  t.match(s.members.get(B), { read: 2, delivered: 2 }, 'a lower watermark in a batch moves nothing')
  t.match(s.members.get(C), { read: 0, delivered: 2 })
  t.notOk(s.members.has(D))
})

t.test('a batch is flushed after batchMs, or at once at maxEntries, and on flushAll', async (t) => {
  const appended: ChatEvent[] = []
  let waiter: (() => void) | undefined
  const batcher = createReceiptBatcher({
    state: async () => group(),
    append: async (e) => {
      appended.push(e)
      waiter?.()
    },
    batchMs: 60_000,
    maxEntries: 2,
    newId: ctx.newId,
    onError: (err) => t.fail(String(err)),
  })
  const next = () => new Promise<void>((resolve) => (waiter = resolve))
  let done = next()
  batcher.add(id, B, 'delivered', 2)
  batcher.add(id, C, 'delivered', 2)
  await done
  t.match(appended, [{ type: 'receipt.batch' }], 'full at two entries: flushed without waiting')
  batcher.add(id, B, 'read', 2)
  t.equal(appended.length, 1)
  done = next()
  await batcher.flushAll()
  await done
  t.match(appended[1], { type: 'receipt.read', actor: B }, 'flushAll appends what is pending')

  const timed = createReceiptBatcher({
    state: async () => group(),
    append: async (e) => {
      appended.push(e)
      waiter?.()
    },
    batchMs: 5,
    newId: ctx.newId,
    onError: (err) => t.fail(String(err)),
  })
  done = next()
  timed.add(id, C, 'read', 2)
  // The batcher's timer is unref'd (shutdown flushes); this bound keeps the test process alive.
  let bound: NodeJS.Timeout | undefined
  await Promise.race([
    done,
    new Promise((_, reject) => {
      bound = setTimeout(() => reject(new Error('not flushed within 5 s')), 5000)
    }),
  ])
  clearTimeout(bound)
  t.match(appended[2], { type: 'receipt.read', actor: C }, 'flushed by its timer')
})

t.test(
  'a batch whose append fails is not dropped: it is merged with newer receipts and tried again',
  async (t) => {
    const appended: ChatEvent[] = []
    const errors: unknown[] = []
    let failures = 2
    let waiter: (() => void) | undefined
    const batcher = createReceiptBatcher({
      state: async () => group(),
      append: async (e) => {
        if (failures-- > 0) throw new Error('no responders')
        appended.push(e)
        waiter?.()
      },
      batchMs: 5,
      maxRetryPauseMs: 20,
      newId: ctx.newId,
      onError: (err) => errors.push(err),
    })
    const done = new Promise<void>((resolve) => (waiter = resolve))
    batcher.add(id, B, 'delivered', 2)
    batcher.add(id, C, 'read', 2)
    let bound: NodeJS.Timeout | undefined
    await Promise.race([
      done,
      new Promise((_, reject) => {
        bound = setTimeout(() => reject(new Error('never appended')), 5000)
      }),
    ])
    clearTimeout(bound)
    t.equal(errors.length, 2, 'both failures were reported')
    t.match(appended, [
      {
        type: 'receipt.batch',
        data: { delivered: [{ userId: B, upTo: 2 }], read: [{ userId: C, upTo: 2 }] },
      },
    ])
    t.equal(batcher.pendingConversations(), 0)
  },
)
