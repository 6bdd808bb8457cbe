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

t.test('after a drop, watermarks written on the lost connection are queued again', async (t) => {
  const r = new ReceiptCoalescer()
  r.mark(A, 'read', 10)
  r.drain()
  r.mark(A, 'read', 12)
  t.ok(r.requeueUnconfirmed())
  t.same(r.drain(), [{ type: 'receipt', conversationId: A, kind: 'read', upTo: 12 }])
  t.ok(r.requeueUnconfirmed(), 'written again on a connection that dropped too')
  r.drain()
  const fresh = new ReceiptCoalescer()
  t.notOk(fresh.requeueUnconfirmed(), 'nothing written, nothing to repeat')
})

t.test('requeue keeps the higher of a pending and a written watermark', async (t) => {
  const r = new ReceiptCoalescer()
  r.mark(A, 'delivered', 20)
  r.mark(A, 'read', 5)
  r.drain()
  r.mark(A, 'read', 6)
  r.requeueUnconfirmed()
  t.same(r.drain(), [
    { type: 'receipt', conversationId: A, kind: 'delivered', upTo: 20 },
    { type: 'receipt', conversationId: A, kind: 'read', upTo: 6 },
  ])
})
