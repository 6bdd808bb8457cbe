import t from 'tap'
import { ReceiptCoalescer } from '../src/receipt-coalescer.js'

const A = 'd_conv000a'
const B = 'c_group00b'

t.test('many marks for one conversation become one frame with the highest watermark', async (t) => {
  const r = new ReceiptCoalescer()
  t.ok(r.mark(A, 'delivered', 3), 'the first mark asks for a flush')
  t.notOk(r.mark(A, 'delivered', 7), 'later marks ride along')
  t.notOk(r.mark(A, 'delivered', 5))
  t.notOk(r.mark(A, 'read', 4))
  t.notOk(r.mark(B, 'read', 9))
  t.same(r.drain(), [
    { type: 'receipt', conversationId: A, kind: 'delivered', upTo: 7 },
    { type: 'receipt', conversationId: A, kind: 'read', upTo: 4 },
    { type: 'receipt', conversationId: B, kind: 'read', upTo: 9 },
  ])
  t.notOk(r.hasPending)
  t.same(r.drain(), [])
})

t.test('a watermark at or below the one already sent is not sent again', async (t) => {
  const r = new ReceiptCoalescer()
  r.mark(A, 'read', 10)
  r.drain()
  t.notOk(r.mark(A, 'read', 10))
  t.notOk(r.mark(A, 'read', 8))
  t.notOk(r.hasPending)
  t.ok(r.mark(A, 'delivered', 10), 'the other kind is independent')
  t.same(r.drain(), [{ type: 'receipt', conversationId: A, kind: 'delivered', upTo: 10 }])
})

const stored = (conversationId: string, deliveredUpTo: number, readUpTo: number) => ({
  conversationId,
  kind: 'direct' as const,
  title: null,
  role: 'member' as const,
  memberCount: 2,
  lastSeq: 100,
  lastMessage: null,
  unread: 0,
  deliveredUpTo,
  readUpTo,
})

t.test('after a sync, watermarks written above the stored ones are written again', async (t) => {
  const r = new ReceiptCoalescer()
  r.mark(A, 'read', 10)
  r.mark(B, 'delivered', 7)
  r.drain()
  t.ok(r.reconcile([stored(A, 4, 4), stored(B, 7, 0)]))
  t.same(
    r.drain(),
    [{ type: 'receipt', conversationId: A, kind: 'read', upTo: 10 }],
    'B has what it was sent',
  )
  t.notOk(r.reconcile([stored(A, 10, 10)]), 'stored now: nothing to repeat')
  t.same(r.drain(), [])
})

t.test('reconcile keeps the higher of a pending and a lost watermark', async (t) => {
  const r = new ReceiptCoalescer()
  r.mark(A, 'delivered', 20)
  r.mark(A, 'read', 5)
  r.drain()
  r.mark(A, 'read', 6)
  r.mark(A, 'delivered', 3) // below what was written: dropped at once
  r.reconcile([stored(A, 0, 0)])
  t.same(r.drain(), [
    { type: 'receipt', conversationId: A, kind: 'delivered', upTo: 20 },
    { type: 'receipt', conversationId: A, kind: 'read', upTo: 6 },
  ])
})

t.test('a watermark stored above what this device wrote (another device) becomes the floor', async (t) => {
  const r = new ReceiptCoalescer()
  r.mark(A, 'read', 5)
  r.drain()
  t.notOk(r.reconcile([stored(A, 30, 30)]))
  t.notOk(r.mark(A, 'read', 25), 'below the stored watermark: not sent')
  t.same(r.drain(), [])
  r.mark(A, 'read', 31)
  t.same(r.drain(), [{ type: 'receipt', conversationId: A, kind: 'read', upTo: 31 }])
})

t.test('conversations the inbox does not list, or never written to, are left alone', async (t) => {
  const r = new ReceiptCoalescer()
  r.mark(A, 'read', 5)
  r.drain()
  t.notOk(r.reconcile([stored(B, 0, 0)]), 'A is not listed (left or removed): not repeated')
  t.notOk(r.reconcile([]))
  t.same(r.drain(), [])
  t.ok(r.mark(B, 'read', 1), 'B was never written to: no floor was set')
})
