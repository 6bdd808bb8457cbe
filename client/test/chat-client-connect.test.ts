import { CLOSE_CODES } from '@chatapp/contracts'
import t from 'tap'
import { connect } from '../src/chat-client.js'
import { MemoryCursorStore } from '../src/cursor-store.js'
import { ChatClientError } from '../src/errors.js'
import {
  CONV,
  FakeGateway,
  hello,
  messageEvent,
  startClient,
  USER_A,
  waitFor,
  whenClosed,
} from './fixtures/fake-gateway.js'

t.test('authenticates with the subprotocol header and syncs from the stored cursors', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const store = new MemoryCursorStore({ [CONV]: 41, c_group0001: 7 })
  const { client, states, tokens } = startClient(gw, { cursorStore: store, syncTail: 20 })
  t.teardown(() => client.close())
  const conn = await gw.conn(0)
  t.same(conn.protocols, ['chatapp.v1', 'bearer.tok1'])
  t.same(tokens, [{ forceRefresh: false }])
  t.equal(conn.ws.protocol, 'chatapp.v1')
  const sync = await conn.handshake()
  t.same(sync.cursors, { [CONV]: 41, c_group0001: 7 })
  t.equal(sync.tail, 20)
  await client.ready()
  t.same(states, ['connecting', 'authenticating', 'syncing', 'live'])
  t.equal(client.userId, 'u_alice0001')
})

t.test(
  'with auth "frame", sends the token in an auth frame first, no bearer protocol, and the Origin',
  async (t) => {
    const gw = await FakeGateway.start()
    t.teardown(() => gw.close())
    const { client } = startClient(gw, { auth: 'frame', origin: 'https://app.example.org' })
    t.teardown(() => client.close())
    const conn = await gw.conn(0)
    t.same(conn.protocols, ['chatapp.v1'])
    t.equal(conn.req.headers.origin, 'https://app.example.org', 'the Origin option is sent')
    t.notOk(conn.req.url?.includes('tok'), 'the token never travels in the URL')
    const auth = await conn.next('auth')
    t.equal(auth.token, 'tok1')
    t.equal(conn.frames[0]?.type, 'auth')
    await conn.handshake()
    await client.ready()
  },
)

t.test('cursors advance as events are processed and are sent on the next connection', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const store = new MemoryCursorStore()
  const { client, events } = startClient(gw, { cursorStore: store })
  t.teardown(() => client.close())
  const c0 = await gw.conn(0)
  const first = await c0.handshake()
  t.same(first.cursors, {}, 'a new device has no cursors')
  c0.send(messageEvent(3, 0))
  c0.send(messageEvent(5, 3))
  await waitFor('two events', () => events.length === 2)
  t.equal(store.cursors.get(CONV), 5)
  c0.ws.terminate()
  const c1 = await gw.conn(1)
  const again = await c1.handshake()
  t.same(again.cursors, { [CONV]: 5 })
})

t.test('a 4401 close makes the client fetch a fresh token once and reconnect at once', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const { client, tokens } = startClient(gw, { backoff: { baseMs: 60_000, maxMs: 60_000 } })
  t.teardown(() => client.close())
  const c0 = await gw.conn(0)
  c0.ws.close(CLOSE_CODES.UNAUTHENTICATED.code, 'expired')
  const c1 = await gw.conn(1)
  t.same(tokens, [{ forceRefresh: false }, { forceRefresh: true }], 'no backoff wait before the refresh')
  t.same(c1.protocols, ['chatapp.v1', 'bearer.tok2'])
  await c1.handshake()
  await client.ready()
  // A later expiry, after a successful session, gets its own refresh.
  c1.ws.close(4401, 'expired again')
  const c2 = await gw.conn(2)
  t.same(tokens.at(-1), { forceRefresh: true })
  await c2.handshake()
  await client.ready()
})

t.test('a second 4401 right after a refresh closes the client with UNAUTHENTICATED', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const { client, errors, tokens } = startClient(gw)
  const closed = whenClosed(client)
  const pending = t.rejects(client.send(CONV, { text: 'never' }), { code: 'UNAUTHENTICATED' })
  ;(await gw.conn(0)).ws.close(4401)
  ;(await gw.conn(1)).ws.close(4401)
  const info = await closed
  t.equal(info.code, 4401)
  t.equal(info.error?.code, 'UNAUTHENTICATED')
  t.equal(client.state, 'closed')
  t.equal(tokens.length, 2)
  t.ok(errors.some((e) => e.code === 'UNAUTHENTICATED'))
  await pending // unanswered sends fail with the reason
  await t.rejects(client.send(CONV, { text: 'late' }), { code: 'CLIENT_CLOSED' })
})

t.test('an HTTP 401 on the upgrade is treated like 4401; a 403 ends the session', async (t) => {
  const gw = await FakeGateway.start({ refuse: (n) => (n <= 2 ? 401 : undefined) })
  t.teardown(() => gw.close())
  const { client, tokens } = startClient(gw)
  const closed = whenClosed(client)
  const info = await closed
  t.equal(info.error?.code, 'UNAUTHENTICATED')
  t.same(tokens, [{ forceRefresh: false }, { forceRefresh: true }])

  const gw403 = await FakeGateway.start({ refuse: () => 403 })
  t.teardown(() => gw403.close())
  const other = startClient(gw403)
  const closed403 = await whenClosed(other.client)
  t.equal(closed403.error?.code, 'HANDSHAKE_REFUSED')
  t.match(closed403.error?.message, /403/)
  t.equal(gw403.attempts, 1, 'no retry')
})

t.test('4403 (session revoked) stops without reconnecting', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const { client } = startClient(gw)
  const conn = await gw.conn(0)
  await conn.handshake()
  await client.ready()
  const closed = whenClosed(client)
  conn.ws.close(CLOSE_CODES.SESSION_REVOKED.code, 'logged out')
  const info = await closed
  t.equal(info.code, 4403)
  t.equal(info.error?.code, 'SESSION_ENDED')
  t.equal(gw.attempts, 1)
})

t.test('backs off exponentially between failed attempts, then gives up when bounded', async (t) => {
  const gw = await FakeGateway.start({ refuse: () => 503 })
  t.teardown(() => gw.close())
  // random() = 0.99: each delay is just under its ceiling, 40 · 2^attempt.
  const { client, states } = startClient(gw, {
    backoff: { baseMs: 40, maxMs: 1000 },
    random: () => 0.99,
    maxReconnectAttempts: 3,
  })
  const info = await whenClosed(client)
  t.equal(info.error?.code, 'UNAVAILABLE')
  t.equal(gw.attempts, 4, 'the first attempt and three reconnects')
  const gaps = gw.attemptTimes.slice(1).map((at, i) => at - gw.attemptTimes[i]!)
  t.ok(gaps[0]! >= 39, `first wait ${gaps[0]} ≥ 39`)
  t.ok(gaps[1]! >= 79, `second wait ${gaps[1]} ≥ 79`)
  t.ok(gaps[2]! >= 158, `third wait ${gaps[2]} ≥ 158`)
  t.equal(states.filter((s) => s === 'reconnecting').length, 3)
  t.equal(client.stats.reconnects, 3)
})

t.test('the backoff starts over once a connection reached live', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const { client } = startClient(gw, { backoff: { baseMs: 40, maxMs: 5000 }, random: () => 0.99 })
  t.teardown(() => client.close())
  for (let i = 0; i < 3; i++) (await gw.conn(i)).ws.terminate()
  const c3 = await gw.conn(3)
  await c3.handshake()
  await client.ready()
  c3.ws.terminate()
  await gw.conn(4)
  const wait = gw.attemptTimes[4]! - gw.attemptTimes[3]!
  t.ok(wait < 300, `after live the first wait is short again (${wait} ms, ceiling 40)`)
})

t.test('close() stops reconnecting, also while waiting to reconnect', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const { client, states } = startClient(gw, { backoff: { baseMs: 50, maxMs: 50 }, random: () => 0.99 })
  const conn = await gw.conn(0)
  await conn.handshake()
  await client.ready()
  conn.ws.terminate()
  await waitFor('reconnecting', () => client.state === 'reconnecting')
  await client.close()
  t.equal(client.state, 'closed')
  t.equal(states.at(-1), 'closed')
  // Bounded wait for an absence: well past the backoff ceiling (50 ms), nothing reconnects.
  await t.rejects(gw.conn(1, 400), /timed out/)
  t.equal(gw.attempts, 1)
  await t.resolves(client.close(), 'closing twice is harmless')
})

t.test('close() on a live client closes the socket with 1000 and fails pending requests', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const { client } = startClient(gw)
  const conn = await gw.conn(0)
  await conn.handshake()
  await client.ready()
  const pending = t.rejects(client.send(CONV, { text: 'unanswered' }), { code: 'CLIENT_CLOSED' })
  await conn.next('send')
  await client.close()
  await pending
  await waitFor('server saw the close', () => conn.closed !== undefined)
  t.equal(conn.closed?.code, 1000)
  await t.rejects(client.ready(), { code: 'CLIENT_CLOSED' })
})

t.test('a token provider that throws is retried with backoff and reported', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  let calls = 0
  const { client, errors } = startClient(gw, {
    tokenProvider: async () => {
      calls += 1
      if (calls === 1) throw new Error('auth server down')
      return 'tokok'
    },
  })
  t.teardown(() => client.close())
  const conn = await gw.conn(0)
  t.same(conn.protocols, ['chatapp.v1', 'bearer.tokok'])
  t.match(errors[0], { code: 'UNAVAILABLE', message: /auth server down/ })
})

t.test('a dead connection (no traffic between two pings) is dropped and replaced', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const { client } = startClient(gw, { pingIntervalMs: 30 })
  t.teardown(() => client.close())
  const c0 = await gw.conn(0)
  await c0.handshake()
  await client.ready()
  await c0.next('ping')
  // The fake never answers: the next tick finds no traffic and drops the socket.
  const c1 = await gw.conn(1)
  t.ok(c1, 'reconnected')
  await waitFor('old socket closed', () => c0.closed !== undefined)
})

t.test('ready() times out when the server never finishes the sync', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const { client } = startClient(gw)
  t.teardown(() => client.close())
  await t.rejects(client.ready(50), { code: 'CLIENT_TIMEOUT' })
})

t.test('a token provider that rejects with a non-retryable ChatClientError ends the session', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const { client } = startClient(gw, {
    tokenProvider: async () => {
      throw new ChatClientError('INVALID_REFRESH_TOKEN')
    },
  })
  const info = await whenClosed(client)
  t.equal(info.error?.code, 'INVALID_REFRESH_TOKEN')
  t.equal(gw.attempts, 0, 'never connected')
})

t.test('a refused first sync drops the connection and syncs again on a new one', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const { client, errors } = startClient(gw)
  t.teardown(() => client.close())
  const c0 = await gw.conn(0)
  c0.send(hello())
  const sync = await c0.next('sync')
  c0.send({ type: 'error', rid: sync.rid, code: 'UNAVAILABLE', message: 'views down', retryable: true })
  const c1 = await gw.conn(1)
  await c1.handshake()
  await client.ready()
  t.match(errors, [{ code: 'UNAVAILABLE', message: 'views down' }])
})

t.test('with several gateway URLs, a reconnect after a failure tries the next one', async (t) => {
  const g1 = await FakeGateway.start()
  const g2 = await FakeGateway.start()
  t.teardown(() => Promise.all([g1.close(), g2.close()]))
  const { client } = startClient([g1, g2])
  t.teardown(() => client.close())
  t.equal(client.url, g1.url)
  const c0 = await g1.conn(0)
  await c0.handshake()
  await client.ready()
  await g1.close() // the gateway dies
  const c1 = await g2.conn(0)
  t.equal(client.url, g2.url)
  await c1.handshake()
  await client.ready()
  t.equal(g1.attempts, 1)
})

t.test('a malformed URL or token ends the session with INVALID_CONFIG instead of throwing', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const bad = connect('not a url', { deviceId: 'dev1', tokenProvider: async () => 'tok' })
  t.equal((await whenClosed(bad)).error?.code, 'INVALID_CONFIG')
  const { client } = startClient(gw, { tokenProvider: async () => 'has spaces, and a comma' })
  t.equal((await whenClosed(client)).error?.code, 'INVALID_CONFIG')
  t.equal(gw.attempts, 0)
})

t.test('a sync refused as busy reconnects no sooner than the server’s retryAfterMs', async (t) => {
  const gw = await FakeGateway.start()
  t.teardown(() => gw.close())
  const { client } = startClient(gw, { backoff: { baseMs: 20, maxMs: 5000 }, random: () => 0.5 })
  t.teardown(() => client.close())
  const c0 = await gw.conn(0)
  c0.send(hello(USER_A))
  const sync = await c0.next('sync')
  c0.send({
    type: 'error',
    rid: sync.rid,
    code: 'UNAVAILABLE',
    message: 'busy',
    retryable: true,
    retryAfterMs: 400,
  })
  const c1 = await gw.conn(1, 5000)
  const wait = gw.attemptTimes[1]! - gw.attemptTimes[0]!
  t.ok(wait >= 400, `waited ${wait} ms ≥ 400 (the backoff alone would be ~10 ms)`)
  await c1.handshake()
  await client.ready()
  // The wait applied once: a later drop backs off as before.
  c1.ws.terminate()
  await gw.conn(2)
  const again = gw.attemptTimes[2]! - gw.attemptTimes[1]!
  t.ok(again < 300, `the next reconnect is back to the backoff (${again} ms)`)
})
