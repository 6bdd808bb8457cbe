import t from 'tap'
import { memberTicks, tickOf, type Watermarks } from '../src/ticks.js'

const members = (m: Record<string, Watermarks>) => new Map(Object.entries(m))
const ME = 'u_me'

t.test('a message without a sequence is pending; stored and unseen is sent', async (t) => {
  const m = members({ [ME]: { delivered: 0, read: 0 }, bob: { delivered: 4, read: 0 } })
  t.equal(tickOf(undefined, ME, m), 'pending')
  t.equal(tickOf(5, ME, m), 'sent')
})

t.test('in a direct chat the peer’s watermarks move the ticks to delivered, then read', async (t) => {
  t.equal(tickOf(5, ME, members({ bob: { delivered: 5, read: 0 } })), 'delivered')
  t.equal(tickOf(5, ME, members({ bob: { delivered: 9, read: 5 } })), 'read')
  t.equal(tickOf(5, ME, members({ bob: { delivered: 0, read: 7 } })), 'read', 'read implies delivered')
})

t.test('in a group the ticks move when the last member gets there, and say who is where', async (t) => {
  const m = members({
    [ME]: { delivered: 0, read: 0 },
    bob: { delivered: 8, read: 8 },
    carol: { delivered: 8, read: 3 },
    dave: { delivered: 2, read: 2 },
  })
  t.equal(tickOf(8, ME, m), 'sent', 'dave has not got it')
  t.same(memberTicks(8, ME, m), [
    { userId: 'bob', state: 'read' },
    { userId: 'carol', state: 'delivered' },
    { userId: 'dave', state: 'sent' },
  ])
  m.set('dave', { delivered: 8, read: 0 })
  t.equal(tickOf(8, ME, m), 'delivered')
  m.set('carol', { delivered: 8, read: 8 })
  m.set('dave', { delivered: 8, read: 9 })
  t.equal(tickOf(8, ME, m), 'read')
})

t.test('a conversation with nobody else (members not loaded yet) shows sent, never read', async (t) => {
  t.equal(tickOf(5, ME, members({ [ME]: { delivered: 9, read: 9 } })), 'sent')
})
