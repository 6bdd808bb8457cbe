import type { StoredEvent } from '@chatapp/kit'
import t from 'tap'
import { Room } from '../../src/feed/room.js'
import { RoomTails } from '../../src/feed/room-tail.js'

const ev = (seq: number, lane: 'm' | 'r' = 'm'): StoredEvent =>
  ({ seq, lane, event: { type: 'message.sent' } }) as unknown as StoredEvent

t.test(
  'a tail is exact: seeded from a read, fed in order, extended back by a read that meets it',
  async (t) => {
    const tails = new RoomTails(100)
    const room = new Room('d_x')
    tails.seed(room, { m: { from: 10, to: 14, events: [ev(12), ev(14)] } }, { m: 14, r: 13 })
    t.same(room.tail!.m, { from: 10, to: 14, events: [ev(12), ev(14)] })
    t.same(room.tail!.r, { from: 13, to: 13, events: [] }, 'no read of lane r: empty, from where the room is')
    tails.append(room, 'm', ev(14)) // already held
    tails.append(room, 'm', ev(16))
    tails.advance(room, 'm', 18) // an undecodable record
    tails.append(room, 'r', ev(17, 'r'))
    t.same(
      room.tail!.m.events.map((e) => e.seq),
      [12, 14, 16],
    )
    t.equal(room.tail!.m.to, 18)
    tails.prepend(room, { m: { from: 4, to: 12, events: [ev(6), ev(12)] } })
    t.same(
      room.tail!.m.events.map((e) => e.seq),
      [6, 12, 14, 16],
      'a read that meets it extends it back',
    )
    t.equal(room.tail!.m.from, 4)
    tails.prepend(room, { m: { from: 0, to: 3, events: [ev(2)] } })
    t.equal(room.tail!.m.from, 4, 'one that does not meet it is left out (a gap would be claimed)')
    t.equal(tails.size(), 5)
  },
)

t.test('the budget is for the whole gateway: the oldest event added anywhere goes first', async (t) => {
  const tails = new RoomTails(3)
  const a = new Room('d_a')
  const b = new Room('d_b')
  tails.seed(a, {}, { m: 0, r: 0 })
  tails.seed(b, {}, { m: 0, r: 0 })
  tails.append(a, 'm', ev(1))
  tails.append(b, 'm', ev(2))
  tails.append(a, 'm', ev(3))
  tails.append(b, 'm', ev(4))
  t.equal(tails.size(), 3)
  t.same(a.tail!.m, { from: 1, to: 3, events: [ev(3)] }, 'a lost its oldest: it starts after it')
  t.same(
    b.tail!.m.events.map((e) => e.seq),
    [2, 4],
  )
  tails.drop(a)
  t.equal(a.tail, undefined)
  t.equal(tails.size(), 2, 'a closed room gives its events back')
  for (let i = 5; i < 10_000; i++) tails.append(b, 'm', ev(i))
  t.same(
    b.tail!.m.events.map((e) => e.seq),
    [9997, 9998, 9999],
  )
  t.equal(b.tail!.m.from, 9996)
})
