import type { ChatEvent } from '@chatapp/contracts'
import t from 'tap'
import { emptyState, evolve } from '../../src/conversations/state.js'
import { inboxEntry } from '../../src/live/inbox.js'
import { tailStart } from '../../src/live/sync.js'

const id = 'd_inboxtest1'
const ev = (type: ChatEvent['type'], actor: string, data: unknown): ChatEvent =>
  ({ v: 1, type, id: `${type}${Math.random()}`, conversationId: id, actor, at: 7, data }) as ChatEvent
const msg = (actor: string, n: number) =>
  ev('message.sent', actor, { clientMsgId: `cm_0000000${n}`, deviceId: 'd', n, kind: 'text', text: `m${n}` })

const state = () => {
  const s = emptyState(id)
  evolve(
    s,
    ev('conversation.created', 'u_aaaaaaaa', {
      kind: 'direct',
      title: null,
      members: [
        { userId: 'u_aaaaaaaa', role: 'admin' },
        { userId: 'u_bbbbbbbb', role: 'admin' },
      ],
    }),
    1,
    'm',
  )
  for (let n = 1; n <= 5; n++) evolve(s, msg('u_aaaaaaaa', n), n + 1, 'm')
  evolve(s, ev('receipt.read', 'u_bbbbbbbb', { upTo: 3 }), 7, 'r')
  return s
}

t.test('an inbox entry counts unread messages after the read watermark and names the peer', async (t) => {
  const e = inboxEntry(state(), 'u_bbbbbbbb')
  t.equal(e?.unread, 3)
  t.equal(e?.peerId, 'u_aaaaaaaa')
  t.equal(e?.lastSeq, 7)
  t.equal(e?.lastMessage?.text, 'm5')
  t.equal(e?.readUpTo, 3)
  t.equal(inboxEntry(state(), 'u_aaaaaaaa')?.unread, 0, 'a sender has read their own messages')
  t.equal(inboxEntry(state(), 'u_cccccccc'), undefined, 'nothing for a non-member')
})

t.test('a new device starts before the tail-th latest message, or at the start', async (t) => {
  const s = state()
  t.equal(tailStart(s, 2), 4, 'the last two messages are seqs 5 and 6')
  t.equal(tailStart(s, 50), 0, 'fewer messages than the tail: everything')
  t.equal(tailStart(s, 0), 7, 'tail 0: nothing')
})
