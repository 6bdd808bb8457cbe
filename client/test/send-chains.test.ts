import type { ClientFrame } from '@chatapp/contracts'
import t from 'tap'
import type { PendingRequest } from '../src/request-table.js'
import { SendChains } from '../src/send-chains.js'

const A = 'd_conv00000a'
const B = 'd_conv00000b'

const send = (rid: string, conversationId = A, onWire = false): PendingRequest => ({
  rid,
  kind: 'send',
  frame: { type: 'send', rid, conversationId } as ClientFrame,
  resend: true,
  giveUpAt: 1e12,
  written: onWire,
  answerBy: onWire ? 1e12 : undefined,
  failures: 0,
  startedAt: 0,
  resolve: () => {},
  reject: () => {},
})
const rids = (ps: readonly PendingRequest[]) => ps.map((p) => p.rid)

t.test('without a failure there is no chain: sends are pipelined', async (t) => {
  const chains = new SendChains()
  t.notOk(chains.enqueue(send('1')))
  t.equal(chains.size, 0)
  t.same(chains.settled(send('1')), { wasHead: false, next: undefined })
})

t.test('a refused send and every later unanswered send of its conversation form the chain', async (t) => {
  const chains = new SendChains()
  const [a1, a2, a3] = [send('1', A, true), send('2', A, true), send('3', A, true)]
  a1.answerBy = undefined // refused: no attempt on the wire
  t.notOk(chains.refused(A))
  t.equal(chains.failed(a1, [a1, a2, a3]), 1, 'the head waits one backoff step')
  t.ok(chains.refused(A), 'its writes must say retry: true')
  t.same(rids(chains.queued(A)), ['1', '2', '3'])
  t.notOk(chains.has(B), 'other conversations are not held')
  t.ok(chains.enqueue(send('4')), 'a new send of the conversation queues at the end')
  t.same(rids(chains.queued(A)), ['1', '2', '3', '4'])
  a2.answerBy = undefined
  t.equal(chains.failed(a2, []), undefined, 'a later send refused behind the head waits its turn')
  t.equal(chains.failed(a1, []), 2, 'the head refused again: the next backoff step')
  t.equal(chains.due(A), a1)
})

t.test('the next send is written only once the head is settled, one at a time', async (t) => {
  const chains = new SendChains()
  const [a1, a2, a3] = [send('1'), send('2', A, true), send('3')]
  chains.failed(a1, [a1, a2, a3])
  a2.answerBy = undefined // its refusal (by the order block) came back meanwhile
  const after1 = chains.settled(a1)
  t.equal(after1.wasHead, true)
  t.equal(after1.next, a2)
  t.equal(chains.failed(a1, [a2, a3]), undefined, 'a stale answer of a settled send changes nothing')
  t.same(chains.settled(a2), { wasHead: true, next: a3 })
  t.same(chains.settled(a3), { wasHead: true, next: undefined })
  t.equal(chains.size, 0, 'an empty chain ends: pipelined again')
  t.notOk(chains.enqueue(send('5')))
})

t.test('a head whose earlier attempt is still on the wire is awaited, not written twice', async (t) => {
  const chains = new SendChains()
  const [a1, a2] = [send('1', A, true), send('2', A, true)]
  // a2 was refused while a1, made before it, is still unanswered: a1 heads the chain.
  t.equal(chains.failed(a2, [a1, a2]), undefined, 'wait for the earlier send first')
  t.equal(chains.due(A), a1)
  const next = chains.settled(a1)
  t.same(next, { wasHead: true, next: undefined }, 'a2 has an attempt on the wire: await its answer')
  t.equal(chains.failed(a2, [a2]), 1, 'its refusal then schedules it')
})

t.test('a send stored out of turn (answered while queued) leaves the chain', async (t) => {
  const chains = new SendChains()
  const [a1, a2, a3] = [send('1'), send('2', A, true), send('3', A, true)]
  chains.failed(a1, [a1, a2, a3])
  t.same(chains.settled(a3), { wasHead: false, next: undefined })
  t.same(rids(chains.queued(A)), ['1', '2'])
})

t.test('a new connection chains every conversation with unanswered sends and writes each head', async (t) => {
  const chains = new SendChains()
  chains.failed(send('0'), [send('0')])
  const heads = chains.restart([send('1', A), send('2', B), send('3', A)])
  t.same(rids(heads), ['1', '2'])
  t.notOk(chains.refused(A), 'a new connection holds no refusal')
  t.same(rids(chains.queued(A)), ['1', '3'], 'an earlier chain is replaced')
  t.same(rids(chains.queued(B)), ['2'])
  chains.clear()
  t.equal(chains.size, 0)
  t.same(chains.restart([]), [])
})
