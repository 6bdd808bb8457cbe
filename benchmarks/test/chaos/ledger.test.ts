import t from 'tap'
import { Ledger } from '../../src/chaos/ledger.js'

const members = new Map([
  ['c1', ['a', 'b']],
  ['c2', ['a', 'b', 'c']],
])

t.test('an acknowledged message every member got once, in order, passes', async (t) => {
  const l = new Ledger(members)
  l.sent('c1', 'a', 'm1', 0)
  l.acked('c1', 'm1', 10, 1, 5)
  l.delivered('a', 'c1', 10, 1, 'm1', 6)
  l.delivered('b', 'c1', 10, 1, 'm1', 7)
  t.match(l.judge(), {
    sent: 1,
    acked: 1,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    failed: 0,
    pendingDeliveries: 0,
  })
})

t.test('a member that never got an acknowledged message is a loss; a rejected send a failure', async (t) => {
  const l = new Ledger(members)
  l.sent('c2', 'a', 'm1', 0)
  l.acked('c2', 'm1', 3, 1, 1)
  l.delivered('a', 'c2', 3, 1, 'm1', 2)
  l.delivered('b', 'c2', 3, 1, 'm1', 2)
  t.equal(l.outstanding(), 1)
  l.sent('c2', 'a', 'm2', 0)
  l.failed('c2', 'm2', 'CLIENT_TIMEOUT')
  const v = l.judge()
  t.match(v, { lost: 1, failed: 1, failedCodes: { CLIENT_TIMEOUT: 1 } })
  t.match(v.examples, [/never reached c/])
})

t.test('the same seq twice, one send under two seqs, and a step back in order are all caught', async (t) => {
  const l = new Ledger(members)
  l.sent('c1', 'a', 'm1', 0)
  l.acked('c1', 'm1', 10, 1, 1)
  l.delivered('b', 'c1', 10, 1, 'm1', 2)
  l.delivered('b', 'c1', 10, 1, 'm1', 3)
  l.delivered('b', 'c1', 12, 2, 'm1', 3) // stored twice
  l.delivered('b', 'c1', 11, 1, 'mX', 4) // back in order
  const v = l.judge()
  t.equal(v.duplicated, 2)
  t.equal(v.reordered, 1)
})

t.test('the longest pause is charged to the last fault before the message reached everyone', async (t) => {
  const l = new Ledger(members)
  l.fault({ kind: 'gateway', target: 'gateway-1', at: 100 })
  l.sent('c1', 'a', 'm1', 150)
  l.acked('c1', 'm1', 1, 1, 160)
  l.delivered('a', 'c1', 1, 1, 'm1', 160)
  l.delivered('b', 'c1', 1, 1, 'm1', 1_150)
  l.fault({ kind: 'nats', target: 'nats-2', at: 2_000, leader: true })
  l.sent('c1', 'a', 'm2', 2_100)
  l.acked('c1', 'm2', 2, 2, 2_200)
  l.delivered('a', 'c1', 2, 2, 'm2', 2_200)
  l.delivered('b', 'c1', 2, 2, 'm2', 9_100)
  // Sent after a media-worker kill, stalled by the NATS kill that followed it before it arrived:
  // the NATS kill's pause, not the media worker's.
  l.fault({ kind: 'media-worker', target: 'media-worker-1', at: 10_000 })
  l.sent('c1', 'a', 'm3', 11_000)
  l.fault({ kind: 'nats', target: 'nats-1', at: 11_500, leader: true })
  l.acked('c1', 'm3', 3, 3, 18_000)
  l.delivered('a', 'c1', 3, 3, 'm3', 18_000)
  l.delivered('b', 'c1', 3, 3, 'm3', 19_000)
  t.same(l.judge().longestPauseMs, { gateway: 1_000, nats: 8_000 })
  t.same(l.ackedByConversation().get('c1'), [
    { seq: 1, n: 1 },
    { seq: 2, n: 2 },
    { seq: 3, n: 3 },
  ])
})
