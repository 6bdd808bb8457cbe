import type { ClientFrame } from '@chatapp/contracts'
import t from 'tap'
import { type PendingRequest, type RequestKind, RequestTable } from '../src/request-table.js'

const entry = (
  rid: string,
  kind: RequestKind,
  giveUpAt: number,
  resend = kind === 'send',
  conversationId = 'd_conv00000a',
): PendingRequest => ({
  rid,
  kind,
  frame: (kind === 'send' ? { type: 'send', rid, conversationId } : { type: 'ping', rid }) as ClientFrame,
  resend,
  giveUpAt,
  written: false,
  answerBy: undefined,
  failures: 0,
  startedAt: 0,
  resolve: () => {},
  reject: () => {},
})

t.test('request ids are unique and short', async (t) => {
  const table = new RequestTable(10)
  const ids = new Set(Array.from({ length: 1000 }, () => table.nextRid()))
  t.equal(ids.size, 1000)
  for (const id of ids) t.ok(id.length <= 64)
})

t.test('refuses requests beyond its bound', async (t) => {
  const table = new RequestTable(2)
  t.ok(table.add(entry('a', 'send', 10)))
  t.ok(table.add(entry('b', 'send', 10)))
  t.notOk(table.add(entry('c', 'send', 10)))
  t.equal(table.size, 2)
})

t.test('an answer takes its request out once; unknown rids are ignored', async (t) => {
  const table = new RequestTable(5)
  table.add(entry('a', 'command', 10))
  t.equal(table.take('a')?.rid, 'a')
  t.equal(table.take('a'), undefined)
  t.equal(table.take('zz'), undefined)
})

t.test('expiry removes the requests whose give-up time passed, in any order of the map', async (t) => {
  const table = new RequestTable(5)
  table.add(entry('a', 'send', 600))
  table.add(entry('b', 'ping', 20))
  table.add(entry('c', 'send', 10))
  table.add(entry('d', 'send', Number.POSITIVE_INFINITY))
  t.same(
    table.expire(20).map((p) => p.rid),
    ['b', 'c'],
  )
  t.same(
    table.all().map((p) => p.rid),
    ['a', 'd'],
  )
  t.same(table.expire(25), [])
  t.same(
    table.expire(1e15).map((p) => p.rid),
    ['a'],
    'never gives up on Infinity',
  )
})

t.test('unanswered lists attempts past their answer time and keeps them pending', async (t) => {
  const table = new RequestTable(5)
  const a = entry('a', 'send', 1000)
  const b = entry('b', 'send', 1000)
  const c = entry('c', 'send', 1000)
  a.answerBy = 50
  b.answerBy = 150
  table.add(a)
  table.add(b)
  table.add(c)
  t.same(
    table.unanswered(100).map((p) => p.rid),
    ['a'],
  )
  t.equal(table.size, 3)
})

t.test("sendsOf lists one conversation's pending sends in the order they were made", async (t) => {
  const table = new RequestTable(10)
  table.add(entry('1', 'send', 10, true, 'd_conv00000a'))
  table.add(entry('2', 'send', 10, true, 'd_conv00000b'))
  table.add(entry('3', 'command', 10, true))
  table.add(entry('4', 'send', 10, true, 'd_conv00000a'))
  t.same(
    table.sendsOf('d_conv00000a').map((p) => p.rid),
    ['1', '4'],
  )
  t.same(table.sendsOf('d_nobody0000'), [])
})

t.test('issued knows the rids it handed out, settled or not, and nothing else', async (t) => {
  const table = new RequestTable(10)
  const first = table.nextRid()
  const second = table.nextRid()
  t.ok(table.issued(first))
  t.ok(table.issued(second))
  t.same([first, second], ['1', '2'])
  t.notOk(table.issued('3'), 'not yet issued')
  t.notOk(table.issued('0'))
  t.notOk(table.issued('s1-from-elsewhere'))
  t.notOk(table.issued(''))
})

t.test('after a drop, sends and resendable commands stay in order; pings and others go', async (t) => {
  const table = new RequestTable(10)
  const onWire = entry('s1', 'send', 10)
  onWire.answerBy = 5
  table.add(onWire)
  table.add(entry('p1', 'ping', 10))
  table.add(entry('c1', 'command', 10, true))
  table.add(entry('g1', 'command', 10, false))
  table.add(entry('y1', 'sync', 10))
  table.add(entry('s2', 'send', 10))
  t.same(
    table
      .dropUnresendable()
      .map((p) => p.rid)
      .sort(),
    ['g1', 'p1', 'y1'],
  )
  t.same(
    table.all().map((p) => p.rid),
    ['s1', 'c1', 's2'],
  )
  t.equal(onWire.answerBy, undefined, 'nothing is on the wire any more')
  t.equal(table.clear().length, 3)
  t.equal(table.size, 0)
})
