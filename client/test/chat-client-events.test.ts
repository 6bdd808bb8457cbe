import type { ServerFrame } from '@chatapp/contracts'
import t, { type Test } from 'tap'
import { MemoryCursorStore } from '../src/cursor-store.js'
import {
  CONV,
  FakeGateway,
  messageEvent,
  receiptEvent,
  startClient,
  USER_A,
  USER_B,
  waitFor,
} from './fixtures/fake-gateway.js'

const live = async (t: Test, opts: Parameters<typeof startClient>[1] = {}) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const c = startClient(gw, opts)
  t.teardown(() => c.client.close())
  const conn = await gw.conn(0)
  await conn.handshake()
  await c.client.ready()
  return { gw, conn, ...c }
}

t.test('emits inbox, then synced, then live events', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const { client } = startClient(gw)
  t.teardown(() => client.close())
  const order: string[] = []
  client.on('hello', () => order.push('hello'))
  client.on('inbox', (convs) => order.push(`inbox:${convs.length}`))
  client.on('synced', () => order.push('synced'))
  client.on('event', (f) => order.push(`event:${f.seq}`))
  const conn = await gw.conn(0)
  conn.send({
    type: 'hello',
    userId: 'u_alice0001',
    deviceId: 'dev1',
    sessionId: 's',
    serverTime: 1,
    limits: {},
  })
  const sync = await conn.next('sync')
  conn.send({
    type: 'inbox',
    rid: sync.rid,
    conversations: [
      {
        conversationId: CONV,
        kind: 'direct',
        title: null,
        role: 'admin',
        memberCount: 2,
        lastSeq: 1,
        lastMessage: null,
        unread: 0,
        deliveredUpTo: 0,
        readUpTo: 0,
      },
    ],
  })
  conn.send(messageEvent(1, 0))
  conn.send({ type: 'synced', rid: sync.rid, cursors: { [CONV]: 1 } })
  conn.send(messageEvent(2, 1))
  await waitFor('live event', () => order.length === 5)
  t.same(order, ['hello', 'inbox:1', 'event:1', 'synced', 'event:2'])
})

t.test('a replayed event is dropped: the app sees every seq once', async (t) => {
  const store = new MemoryCursorStore()
  const { conn, events, client } = await live(t, { cursorStore: store })
  conn.send(messageEvent(1, 0))
  conn.send(messageEvent(2, 1))
  conn.send(messageEvent(1, 0))
  conn.send(messageEvent(2, 1))
  conn.send(messageEvent(3, 2))
  await waitFor('seq 3', () => events.some((e) => e.seq === 3))
  t.same(
    events.map((e) => e.seq),
    [1, 2, 3],
  )
  t.equal(client.stats.duplicates, 2)
  t.equal(store.cursors.get(CONV), 3)
})

t.test('receipts and messages interleave on their own lanes without false gaps', async (t) => {
  const { conn, events, client } = await live(t)
  conn.send(messageEvent(1, 0))
  conn.send(receiptEvent(2, 0, 1))
  conn.send(messageEvent(3, 1))
  conn.send(receiptEvent(4, 2, 3))
  await waitFor('four events', () => events.length === 4)
  t.equal(client.stats.gaps, 0)
  t.equal(conn.count('sync'), 1, 'no resync')
})

t.test('a gap on a lane triggers a resync of that conversation from before the hole', async (t) => {
  const store = new MemoryCursorStore()
  const { conn, events, client } = await live(t, { cursorStore: store })
  const inboxes: unknown[] = []
  client.on('inbox', (c) => inboxes.push(c))
  conn.send(messageEvent(1, 0, undefined, 'c_other0001'))
  conn.send(messageEvent(1, 0))
  conn.send(messageEvent(2, 1))
  await waitFor('three events', () => events.length === 3)
  // 3 and 4 are lost; 5 arrives with prev 4.
  conn.send(messageEvent(5, 4))
  conn.send(messageEvent(6, 5))
  const resync = await conn.next('sync')
  t.same(resync.cursors, { [CONV]: 2, c_other0001: 1 }, 'every cursor, the gapped one before the hole')
  t.equal(resync.tail, 0, 'no tail replay of conversations without a cursor')
  t.ok(resync.rid)
  t.equal(conn.count('sync'), 2, 'one resync for a burst of gapped events')
  t.equal(store.cursors.get(CONV), 2, 'the cursor stays before the hole')
  for (const [seq, prev] of [
    [3, 2],
    [4, 3],
    [5, 4],
    [6, 5],
  ] as const)
    conn.send(messageEvent(seq, prev))
  conn.send({ type: 'inbox', rid: resync.rid, conversations: [] })
  conn.send({ type: 'synced', rid: resync.rid, cursors: { [CONV]: 6 } })
  conn.send(messageEvent(7, 6))
  await waitFor('seq 7', () => events.some((e) => e.seq === 7))
  t.same(
    events.filter((e) => e.conversationId === CONV).map((e) => e.seq),
    [1, 2, 3, 4, 5, 6, 7],
  )
  t.equal(inboxes.length, 0, "the resync's inbox is not reported again")
  t.equal(store.cursors.get(CONV), 7)
  t.equal(client.stats.resyncs, 1)
  t.equal(client.state, 'live', 'a resync does not leave live')
})

t.test('a refused resync drops the socket and the reconnect syncs from before the hole', async (t) => {
  const { conn, gw, events, errors } = await live(t)
  conn.send(messageEvent(1, 0))
  conn.send(messageEvent(9, 8))
  const resync = await conn.next('sync')
  conn.send({ type: 'error', rid: resync.rid, code: 'UNAVAILABLE', message: 'down', retryable: true })
  const c1 = await gw.conn(1)
  const sync = await c1.handshake()
  t.same(sync.cursors, { [CONV]: 1 })
  t.ok(errors.some((e) => e.code === 'UNAVAILABLE'))
  c1.send(messageEvent(8, 1))
  c1.send(messageEvent(9, 8))
  await waitFor('seq 9', () => events.some((e) => e.seq === 9))
  t.same(
    events.map((e) => e.seq),
    [1, 8, 9],
  )
})

t.test('invalid frames become error events with their code, and the client carries on', async (t) => {
  const { conn, errors, events, client } = await live(t)
  conn.send('this is not json')
  conn.send({ type: 'teleport', to: 'mars' })
  conn.send({ type: 'event', conversationId: CONV, seq: -1 })
  conn.send('[1,2,3]')
  conn.ws.send(Buffer.from([0xff, 0xfe, 0xfd]))
  await waitFor('five errors', () => errors.length === 5)
  t.same(
    errors.map((e) => e.code),
    ['BAD_JSON', 'UNKNOWN_FRAME', 'INVALID_FRAME', 'INVALID_FRAME', 'BAD_JSON'],
  )
  t.ok(errors[2]?.details?.length, 'schema details are kept')
  t.equal(client.stats.invalidFrames, 5)
  conn.send(messageEvent(1, 0))
  await waitFor('an event after the garbage', () => events.length === 1)
  t.equal(client.state, 'live')
})

t.test('an error frame without a pending request is an error event', async (t) => {
  const { conn, errors } = await live(t)
  conn.send({ type: 'error', code: 'RATE_LIMITED', message: 'slow down', retryable: true, retryAfterMs: 100 })
  conn.send({
    type: 'sent',
    rid: 'nobody',
    conversationId: CONV,
    clientMsgId: 'abcdefgh',
    seq: 1,
    n: 1,
    at: 1,
    duplicate: false,
  })
  conn.send({ type: 'ok', rid: 'nobody' })
  await waitFor('error event', () => errors.length === 1)
  t.match(errors[0], { code: 'RATE_LIMITED', retryAfterMs: 100 })
})

t.test('a listener that throws does not break the client and is reported', async (t) => {
  const { conn, client, errors, events } = await live(t)
  client.on('event', () => {
    throw new Error('app bug')
  })
  conn.send(messageEvent(1, 0))
  conn.send(messageEvent(2, 1))
  await waitFor('two events', () => events.length === 2)
  t.equal(errors.length, 2)
  t.match(errors[0], { code: 'INTERNAL', message: /app bug/ })
})

t.test(
  'conversations the sync reports but the device has no event of start from the reported cursor',
  async (t) => {
    const gw = await FakeGateway.start()
    t.teardown(() => gw.close())
    const store = new MemoryCursorStore()
    const { client } = startClient(gw, { cursorStore: store, syncTail: 0 })
    t.teardown(() => client.close())
    const c0 = await gw.conn(0)
    c0.send({
      type: 'hello',
      userId: 'u_alice0001',
      deviceId: 'dev1',
      sessionId: 's',
      serverTime: 1,
      limits: {},
    })
    const sync = await c0.next('sync')
    c0.send({ type: 'synced', rid: sync.rid, cursors: { [CONV]: 30, c_group0001: 4 } })
    await client.ready()
    t.same(Object.fromEntries(store.cursors), { [CONV]: 30, c_group0001: 4 })
    c0.ws.terminate()
    const c1 = await gw.conn(1)
    t.same((await c1.handshake()).cursors, { [CONV]: 30, c_group0001: 4 })
  },
)

t.test(
  'a hole survives a drop: the reconnect syncs from before it even if the other lane moved on',
  async (t) => {
    const store = new MemoryCursorStore()
    const { conn, gw, events } = await live(t, { cursorStore: store })
    conn.send(messageEvent(1, 0))
    conn.send(messageEvent(5, 3)) // 2..3 missing on lane m
    const resync = await conn.next('sync')
    t.same(resync.cursors, { [CONV]: 1 })
    conn.send(receiptEvent(6, 0, 1)) // lane r goes on
    await waitFor('the receipt', () => events.some((e) => e.seq === 6))
    t.equal(store.cursors.get(CONV), 1, 'still held before the hole')
    conn.ws.terminate() // the resync is never answered
    const c1 = await gw.conn(1)
    const sync = await c1.handshake()
    t.same(sync.cursors, { [CONV]: 1 }, 'the reconnect asks from before the hole')
    await waitFor('its synced closes the hole', () => store.cursors.get(CONV) === 6)
  },
)

t.test(
  'being re-added to a group is not a hole: no resync, the join and what follows are delivered',
  async (t) => {
    const { conn, events, client } = await live(t)
    const G = 'c_group0001'
    conn.send(messageEvent(3, 0, USER_B, G))
    const added: ServerFrame = {
      type: 'event',
      conversationId: G,
      seq: 50,
      prev: 44,
      lane: 'm',
      event: {
        v: 1,
        type: 'member.added',
        id: 'e50',
        conversationId: G,
        actor: USER_B,
        at: 1,
        data: { userId: USER_A, role: 'member' },
      },
    }
    conn.send(added)
    conn.send(messageEvent(51, 50, USER_B, G))
    conn.send(receiptEvent(52, 47, 51, G))
    await waitFor('four events', () => events.length === 4)
    t.same(
      events.map((e) => e.seq),
      [3, 50, 51, 52],
    )
    t.equal(client.stats.gaps, 0)
    t.equal(conn.count('sync'), 1, 'no resync')
  },
)

t.test('someone else being added is no excuse for a hole', async (t) => {
  const { conn, client } = await live(t)
  conn.send(messageEvent(3, 0))
  conn.send({
    type: 'event',
    conversationId: CONV,
    seq: 9,
    prev: 7,
    lane: 'm',
    event: {
      v: 1,
      type: 'member.added',
      id: 'e9',
      conversationId: CONV,
      actor: USER_B,
      at: 1,
      data: { userId: 'u_carol0001', role: 'member' },
    },
  })
  await conn.next('sync')
  t.equal(client.stats.gaps, 1)
})
