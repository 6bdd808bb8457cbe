import { errorBody } from '@chatapp/contracts'
import t, { type Test } from 'tap'
import {
  CONV,
  FakeGateway,
  messageEvent,
  startClient,
  USER_A,
  USER_B,
  waitFor,
} from './fixtures/fake-gateway.js'

/** For requests the test leaves unanswered: close() rejects them at teardown. */
const ignore = (p: Promise<unknown>) => {
  p.catch(() => {})
}

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

t.test('send resolves on the sent frame that carries its rid', async (t) => {
  const { client, conn } = await live(t)
  const p = client.send(CONV, { text: 'hello' })
  const f = await conn.next('send')
  t.match(f, { conversationId: CONV, kind: 'text', text: 'hello' })
  t.match(f.clientMsgId, /^[A-Za-z0-9_-]{22}$/)
  t.notOk('retry' in f, 'a first send is no retry')
  conn.send({
    type: 'sent',
    rid: 'other',
    conversationId: CONV,
    clientMsgId: f.clientMsgId,
    seq: 1,
    n: 1,
    at: 1,
    duplicate: false,
  })
  conn.send({
    type: 'sent',
    rid: f.rid,
    conversationId: CONV,
    clientMsgId: f.clientMsgId,
    seq: 12,
    n: 3,
    at: 99,
    duplicate: false,
  })
  t.same(await p, {
    conversationId: CONV,
    clientMsgId: f.clientMsgId,
    seq: 12,
    n: 3,
    at: 99,
    duplicate: false,
  })
  t.equal(client.pending, 0)
})

t.test('a media send carries kind, mediaId and the caption as text', async (t) => {
  const { client, conn } = await live(t)
  ignore(
    client.send(
      CONV,
      { kind: 'image', mediaId: 'm_media0001', caption: 'look' },
      { clientMsgId: 'myown-id-001' },
    ),
  )
  const f = await conn.next('send')
  t.match(f, { kind: 'image', mediaId: 'm_media0001', text: 'look', clientMsgId: 'myown-id-001' })
  ignore(client.send(CONV, { kind: 'audio', mediaId: 'm_media0002' }))
  const g = await conn.next('send')
  t.notOk('text' in g)
})

t.test('a refusal that is not retryable rejects the send with a typed error carrying its code', async (t) => {
  const { client, conn, errors } = await live(t)
  const p = client.send(CONV, { text: 'x' })
  const f = await conn.next('send')
  conn.send({ type: 'error', rid: f.rid, ...errorBody('NOT_A_MEMBER') })
  await t.rejects(p, { name: 'ChatClientError', code: 'NOT_A_MEMBER', retryable: false })
  const q = client.send(CONV, { text: 'y' })
  const g = await conn.next('send')
  conn.send({ type: 'error', rid: g.rid, ...errorBody('MEDIA_KIND_MISMATCH') })
  await t.rejects(q, { code: 'MEDIA_KIND_MISMATCH', retryable: false })
  t.equal(errors.length, 0, 'answered errors are not also error events')
})

t.test('a text over the announced limit is refused locally', async (t) => {
  const { client, conn } = await live(t)
  await t.rejects(client.send(CONV, { text: 'x'.repeat(4097) }), { code: 'TEXT_TOO_LONG' })
  t.equal(conn.count('send'), 0)
})

t.test(
  'unacknowledged sends are resent after a drop with the same clientMsgId and retry: true',
  async (t) => {
    const { client, gw, conn } = await live(t)
    const p1 = client.send(CONV, { text: 'one' })
    const p2 = client.send(CONV, { text: 'two' })
    const a1 = await conn.next('send')
    const a2 = await conn.next('send')
    conn.send({
      type: 'sent',
      rid: a1.rid,
      conversationId: CONV,
      clientMsgId: a1.clientMsgId,
      seq: 5,
      n: 1,
      at: 1,
      duplicate: false,
    })
    t.equal((await p1).seq, 5)
    conn.ws.terminate() // a2 is lost in flight
    const c1 = await gw.conn(1)
    c1.send({ type: 'hello', userId: USER_A, deviceId: 'dev1', sessionId: 's2', serverTime: 1, limits: {} })
    const sync = await c1.next('sync')
    const b2 = await c1.next('send')
    t.ok(c1.frames.indexOf(sync) < c1.frames.indexOf(b2), 'the sync goes first')
    t.equal(b2.clientMsgId, a2.clientMsgId)
    t.equal(b2.text, 'two')
    t.equal(b2.retry, true)
    t.equal(c1.count('send'), 1, 'the acknowledged send is not resent')
    c1.send({
      type: 'sent',
      rid: b2.rid,
      conversationId: CONV,
      clientMsgId: b2.clientMsgId,
      seq: 6,
      n: 2,
      at: 2,
      duplicate: true,
    })
    t.match(await p2, { seq: 6, duplicate: true })
  },
)

t.test('sends made while disconnected wait in the outbox and go out without retry', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const { client } = startClient(gw)
  t.teardown(() => client.close())
  const p = client.send(CONV, { text: 'early' })
  const conn = await gw.conn(0)
  await conn.handshake()
  const f = await conn.next('send')
  t.notOk('retry' in f)
  conn.send({
    type: 'sent',
    rid: f.rid,
    conversationId: CONV,
    clientMsgId: f.clientMsgId,
    seq: 1,
    n: 1,
    at: 1,
    duplicate: false,
  })
  t.equal((await p).seq, 1)
})

t.test('the outbox is bounded and sends give up after giveUpAfterMs', async (t) => {
  const { client, conn } = await live(t, { maxPending: 2, giveUpAfterMs: 80 })
  const a = t.rejects(client.send(CONV, { text: '1' }), { code: 'CLIENT_TIMEOUT', retryable: true })
  const b = t.rejects(client.send(CONV, { text: '2' }), { code: 'CLIENT_TIMEOUT' })
  await t.rejects(client.send(CONV, { text: '3' }), { code: 'OUTBOX_FULL' })
  await Promise.all([a, b])
  t.equal(conn.count('send'), 2)
  t.equal(client.pending, 0)
})

t.test('commands resolve on ok and reject on error', async (t) => {
  const { client, conn } = await live(t)
  const open = client.openDirect(USER_B)
  const f = await conn.next('direct.open')
  t.equal(f.peerId, USER_B)
  conn.send({ type: 'ok', rid: f.rid, conversationId: CONV, seq: 1 })
  t.same(await open, { conversationId: CONV, seq: 1 })

  const calls: Array<[Promise<unknown>, string]> = [
    [client.createGroup('Team', [USER_B]), 'group.create'],
    [client.addMember('c_group0001', USER_B), 'group.add'],
    [client.removeMember('c_group0001', USER_B), 'group.remove'],
    [client.promote('c_group0001', USER_B), 'group.promote'],
    [client.demote('c_group0001', USER_B), 'group.demote'],
    [client.rename('c_group0001', 'New'), 'group.rename'],
    [client.leave('c_group0001'), 'group.leave'],
  ]
  for (const [p, type] of calls) {
    const frame = await conn.next(type as 'group.add')
    conn.send({ type: 'error', rid: frame.rid, ...errorBody('NOT_ADMIN') })
    await t.rejects(p, { code: 'NOT_ADMIN' }, type)
  }
})

t.test('after a drop, commands are resent, group.create too (with the same clientGroupId)', async (t) => {
  const { client, gw, conn } = await live(t)
  const create = client.createGroup('Team', [USER_B])
  const open = client.openDirect(USER_B)
  const firstCreate = await conn.next('group.create')
  const first = await conn.next('direct.open')
  conn.ws.terminate()
  const c1 = await gw.conn(1)
  await c1.handshake()
  const againCreate = await c1.next('group.create')
  t.equal(againCreate.clientGroupId, firstCreate.clientGroupId)
  const again = await c1.next('direct.open')
  t.equal(again.rid, first.rid)
  c1.send({ type: 'ok', rid: againCreate.rid, conversationId: 'c_group0001', seq: 1 })
  c1.send({ type: 'ok', rid: again.rid, conversationId: CONV })
  t.equal((await open).conversationId, CONV)
  t.equal((await create).conversationId, 'c_group0001')
})

t.test('receipts are coalesced: one frame per conversation with the highest watermark', async (t) => {
  const { client, conn } = await live(t, { receiptDelayMs: 30 })
  client.markRead(CONV, 3)
  client.markRead(CONV, 9)
  client.markRead(CONV, 7)
  client.markDelivered(CONV, 9)
  const r1 = await conn.next('receipt')
  const r2 = await conn.next('receipt')
  t.same(
    [r1, r2],
    [
      { type: 'receipt', conversationId: CONV, kind: 'delivered', upTo: 9 },
      { type: 'receipt', conversationId: CONV, kind: 'read', upTo: 9 },
    ],
  )
  client.markRead(CONV, 9)
  client.markRead(CONV, 10)
  t.same(await conn.next('receipt'), { type: 'receipt', conversationId: CONV, kind: 'read', upTo: 10 })
  t.equal(conn.count('receipt'), 3)
})

// A message to a large group reaches its members' devices together; with one fixed delay their
// receipts came back to the gateway together too. Timers never fire early, so the low draw must
// beat the nominal delay and the high one cannot come before 1.49 times it.
t.test('the receipt flush waits from half to one and a half receiptDelayMs, drawn per flush', async (t) => {
  const early = await live(t, { receiptDelayMs: 4000, random: () => 0 })
  const t0 = performance.now()
  early.client.markRead(CONV, 3)
  t.same(await early.conn.next('receipt', 4000), {
    type: 'receipt',
    conversationId: CONV,
    kind: 'read',
    upTo: 3,
  })
  t.ok(
    performance.now() - t0 < 4000,
    `the lowest draw flushes before receiptDelayMs (${performance.now() - t0} ms)`,
  )
  const late = await live(t, { receiptDelayMs: 200, random: () => 0.99 })
  const t1 = performance.now()
  late.client.markRead(CONV, 4)
  await late.conn.next('receipt')
  t.ok(
    performance.now() - t1 >= 1.49 * 200 - 1,
    `the highest draw waits 1.49 × receiptDelayMs (${performance.now() - t1} ms)`,
  )
})

t.test('autoDeliver marks messages from others as delivered, never its own', async (t) => {
  const { conn, events } = await live(t, { autoDeliver: true, receiptDelayMs: 20 })
  conn.send(messageEvent(4, 0, USER_B))
  conn.send(messageEvent(6, 4, USER_A))
  await waitFor('two events', () => events.length === 2)
  t.same(await conn.next('receipt'), { type: 'receipt', conversationId: CONV, kind: 'delivered', upTo: 4 })
  conn.send(messageEvent(8, 6, USER_B))
  t.same(await conn.next('receipt'), { type: 'receipt', conversationId: CONV, kind: 'delivered', upTo: 8 })
})

t.test('receipts marked while disconnected are sent after the reconnect', async (t) => {
  const { client, gw, conn } = await live(t, { receiptDelayMs: 10 })
  conn.ws.terminate()
  await waitFor('disconnected', () => client.state !== 'live')
  client.markRead(CONV, 5)
  const c1 = await gw.conn(1)
  await c1.handshake()
  t.same(await c1.next('receipt'), { type: 'receipt', conversationId: CONV, kind: 'read', upTo: 5 })
})

t.test('typing is throttled; presence subscriptions are sent again after a reconnect', async (t) => {
  const { client, gw, conn } = await live(t, { typingIntervalMs: 10_000 })
  client.typing(CONV, true)
  client.typing(CONV, true)
  client.typing(CONV, false)
  client.typing(CONV, false)
  client.subscribePresence([USER_B])
  await conn.next('presence.subscribe')
  t.same(
    conn.frames.filter((f) => f.type === 'typing').map((f) => (f as { active: boolean }).active),
    [true, false],
  )
  const seen: unknown[] = []
  client.on('typing', (f) => seen.push(f))
  client.on('presence', (f) => seen.push(f))
  client.on('invitation', (f) => seen.push(f))
  conn.send({ type: 'typing', conversationId: CONV, userId: USER_B, active: true })
  conn.send({ type: 'presence', userId: USER_B, online: true, lastSeen: null })
  conn.send({ type: 'invitation', conversationId: CONV, pending: false })
  await waitFor('typing, presence and invitation', () => seen.length === 3)
  conn.ws.terminate()
  const c1 = await gw.conn(1)
  await c1.handshake()
  t.same((await c1.next('presence.subscribe')).userIds, [USER_B])
})

t.test('ping measures the round trip; it fails at once when not connected', async (t) => {
  const { client, conn } = await live(t)
  const rtt = client.ping()
  const f = await conn.next('ping')
  conn.send({ type: 'pong', rid: f.rid, serverTime: Date.now() })
  const ms = await rtt
  t.ok(ms >= 0 && ms < 3000, `rtt ${ms}`)
  conn.ws.terminate()
  await waitFor('disconnected', () => client.state !== 'live')
  await t.rejects(client.ping(), { code: 'CLIENT_DISCONNECTED' })
})
