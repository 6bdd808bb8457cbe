import type { ChatEvent } from '@chatapp/contracts'
import t from 'tap'
import { emptyState, evolve, fromSnapshot, lastSeq, nAt, toSnapshot } from '../../src/conversations/state.js'

const id = 'c_state0001'
const ev = (type: ChatEvent['type'], actor: string, data: unknown): ChatEvent =>
  ({ v: 1, type, id: `${type}${Math.random()}`, conversationId: id, actor, at: 5, data }) as ChatEvent

t.test('folding the same event twice changes nothing (live and stream may both deliver it)', async (t) => {
  const s = emptyState(id)
  const created = ev('conversation.created', 'u_aaaaaaaa', {
    kind: 'group',
    title: 't',
    members: [{ userId: 'u_aaaaaaaa', role: 'admin' }],
  })
  evolve(s, created, 1, 'm')
  const msg = ev('message.sent', 'u_aaaaaaaa', {
    clientMsgId: 'cm_0000001',
    deviceId: 'd',
    n: 1,
    kind: 'text',
    text: 'x',
  })
  evolve(s, msg, 2, 'm')
  evolve(s, msg, 2, 'm')
  t.equal(s.n, 1)
  t.equal(s.lastM, 2)
  evolve(s, ev('receipt.delivered', 'u_aaaaaaaa', { upTo: 2 }), 3, 'r')
  t.equal(lastSeq(s), 3)
  // A message stored before a receipt but folded after it still counts: lanes are tracked apart.
  evolve(s, ev('media.ready', 'system', { mediaId: 'm_abcdefgh', variants: [] }), 4, 'm')
  t.equal(s.lastM, 4)
})

t.test('a snapshot round-trips the state', async (t) => {
  const s = emptyState(id)
  evolve(
    s,
    ev('conversation.created', 'u_aaaaaaaa', {
      kind: 'group',
      title: 't',
      members: [
        { userId: 'u_aaaaaaaa', role: 'admin' },
        { userId: 'u_bbbbbbbb', role: 'member' },
      ],
    }),
    1,
    'm',
  )
  const back = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(s))))
  t.same([...back.members.entries()], [...s.members.entries()])
  t.equal(back.lastM, 1)
})

t.test('n at a sequence comes from the recent window, with a lower bound beyond it', async (t) => {
  const s = emptyState(id)
  s.recent = [
    [10, 5],
    [12, 6],
  ]
  s.lastM = 12
  s.n = 6
  t.equal(nAt(s, 11), 5)
  t.equal(nAt(s, 12), 6)
  t.equal(nAt(s, 3), 4)
  t.equal(nAt(emptyState(id), 0), 0)
})
