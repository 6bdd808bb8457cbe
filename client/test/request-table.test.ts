import type { ClientFrame } from '@chatapp/contracts'
import t from 'tap'
import { type PendingRequest, type RequestKind, RequestTable } from '../src/request-table.js'

const entry = (
  rid: string,
  kind: RequestKind,
  deadline: number,
  resend = kind === 'send',
): PendingRequest => ({
  rid,
  kind,
  frame: { type: 'ping', rid } as ClientFrame,
  resend,
  deadline,
  written: false,
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

t.test('expiry removes the requests whose deadline passed, oldest first', async (t) => {
  const table = new RequestTable(5)
  table.add(entry('a', 'send', 10))
  table.add(entry('b', 'send', 20))
  table.add(entry('c', 'send', 30))
  t.same(
    table.expire(20).map((p) => p.rid),
    ['a', 'b'],
  )
  t.same(
    table.all().map((p) => p.rid),
    ['c'],
  )
  t.same(table.expire(25), [])
})

t.test('after a drop, sends and resendable commands stay in order; pings and others go', async (t) => {
  const table = new RequestTable(10)
  table.add(entry('s1', 'send', 10))
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
  t.equal(table.clear().length, 3)
  t.equal(table.size, 0)
})
