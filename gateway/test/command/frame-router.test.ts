import type { ServerFrame, ServerFrameOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { testGateways } from '../support/gateway.js'
import { startProjectorProcess } from '../support/projector.js'
import { isType, TestClient } from '../support/ws-client.js'

const A = 'u_alice0001'
const B = 'u_bob000001'

const errorCode = (f: ServerFrame) => (f.type === 'error' ? f.code : `not an error: ${f.type}`)

t.test('the WebSocket protocol refuses every bad input with its code and goes on', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  const gws = await testGateways(tn)
  const gw = await gws.start({
    allowedOrigins: ['https://app.example'],
    limits: {
      ...(await import('@chatapp/contracts')).DEFAULT_LIMITS,
      maxFrameBytes: 2048,
      maxTextLength: 1000,
      authTimeoutMs: 300,
      connFramesPerSecond: 5,
      connBurst: 20,
    },
  })
  t.teardown(() => gw.close())
  const tokenA = await gws.token(A)
  await gws.token(B)

  await t.test('an Origin outside the allowlist is refused with 403 before the upgrade', async (t) => {
    await t.rejects(TestClient.open(gw.url, { token: tokenA, origin: 'https://evil.example' }), /HTTP 403/)
    const ok = await TestClient.open(gw.url, { token: tokenA, origin: 'https://app.example' })
    await ok.waitFor(isType('hello'))
    t.equal(ok.ws.protocol, 'chatapp.v1', 'only chatapp.v1 is echoed back, never the token')
    ok.close()
    // The web app served by the gateway itself passes whatever the allowlist says.
    const own = new URL(gw.url)
    const page = await TestClient.open(gw.url, { token: tokenA, origin: `http://${own.host}` })
    await page.waitFor(isType('hello'))
    page.close()
  })

  await t.test(
    'a bad token in the subprotocol closes with 4401 after an UNAUTHENTICATED error',
    async (t) => {
      const c = await TestClient.open(gw.url, { token: 'not-a-jwt' })
      const closed = await c.waitClosed()
      t.equal(closed.code, 4401)
      t.equal(errorCode(c.frames[0]!), 'UNAUTHENTICATED')
    },
  )

  await t.test('authentication by auth frame, and its deadline (4408)', async (t) => {
    const c = await TestClient.open(gw.url)
    c.send({ type: 'ping', rid: 'p0' })
    t.equal(errorCode(await c.waitFor(isType('error'))), 'UNAUTHENTICATED', 'frames before auth are refused')
    c.send({ type: 'auth', token: tokenA })
    const hello = await c.waitFor(isType('hello'))
    t.equal(hello.userId, A)
    t.equal(hello.limits.maxFrameBytes, 2048, 'hello announces the limits')
    c.send({ type: 'auth', token: tokenA })
    t.equal(
      errorCode(await c.waitFor((f) => f.type === 'error' && f.code === 'ALREADY_AUTHENTICATED')),
      'ALREADY_AUTHENTICATED',
    )
    c.close()
    const idle = await TestClient.open(gw.url)
    t.equal((await idle.waitClosed()).code, 4408, 'no auth frame in time closes with 4408')
  })

  await t.test(
    'malformed, unknown, invalid and foreign frames get codes; the connection goes on',
    async (t) => {
      const c = await TestClient.open(gw.url, { token: tokenA })
      t.teardown(() => c.close())
      await c.waitFor(isType('hello'))
      const expectError = async (frame: unknown, code: string) => {
        const from = c.frames.length
        c.send(frame)
        const f = await c.waitFor(isType('error'), 5000, from)
        t.equal(f.code, code, `${JSON.stringify(frame).slice(0, 60)} → ${code}`)
        return f
      }
      await expectError('{"type": "send",', 'BAD_JSON')
      const from0 = c.frames.length
      c.ws.send(Buffer.from('{"type":"ping","rid":"bin"}'), { binary: true })
      const bin = await c.waitFor(isType('error'), 5000, from0)
      t.match(bin, { code: 'INVALID_FRAME', message: /binary/ }, 'a binary frame is refused, not parsed')
      await expectError({ type: 'teleport' }, 'UNKNOWN_FRAME')
      // Every refusal of a frame that carried a rid answers that rid (a client correlating by
      // rid would otherwise wait for ever).
      t.equal((await expectError({ type: 'teleport', rid: 'u1' }, 'UNKNOWN_FRAME')).rid, 'u1')
      t.equal((await expectError({ type: 'send', rid: 'i1', kind: 'text' }, 'INVALID_FRAME')).rid, 'i1')
      // One character PostgreSQL cannot hold once stopped a projector shard: refused at the door.
      const nul = await expectError(
        {
          type: 'send',
          rid: 'z1',
          conversationId: 'c_doesnotexist',
          clientMsgId: 'cm_00000002',
          kind: 'text',
          text: 'a\u0000b',
        },
        'UNSUPPORTED_CHARACTER',
      )
      t.equal(nul.rid, 'z1')
      t.same(nul.details, ['/text: U+0000 or an unpaired surrogate'])
      await expectError(
        { type: 'group.create', rid: 'z2', title: 'x\u0000', memberIds: [] },
        'UNSUPPORTED_CHARACTER',
      )
      const inv = await expectError(
        { type: 'send', rid: 'x', conversationId: 'nope', kind: 'text' },
        'INVALID_FRAME',
      )
      t.ok(inv.details && inv.details.length > 0, 'INVALID_FRAME names the fields')
      await expectError(
        {
          type: 'send',
          rid: 'x',
          conversationId: 'c_doesnotexist',
          clientMsgId: 'cm_00000001',
          kind: 'text',
          text: 'x',
        },
        'NOT_A_MEMBER',
      )
      await expectError({ type: 'typing', conversationId: 'c_doesnotexist', active: true }, 'NOT_A_MEMBER')
      await expectError({ type: 'direct.open', rid: 'd', peerId: 'u_nobody0001' }, 'USER_NOT_FOUND')
      await expectError({ type: 'direct.open', rid: 'd', peerId: A }, 'SELF_CONVERSATION')
      const from = c.frames.length
      c.send({ type: 'ping', rid: 'still-here' })
      const pong = await c.waitFor(isType('pong'), 5000, from)
      t.equal(pong.rid, 'still-here', 'the connection is still usable')
    },
  )

  await t.test('text over the limit is refused with TEXT_TOO_LONG', async (t) => {
    const c = await TestClient.open(gw.url, { token: tokenA })
    t.teardown(() => c.close())
    await c.waitFor(isType('hello'))
    const opened = (await c.request({ type: 'direct.open', peerId: B })) as ServerFrameOf<'ok'>
    const r = await c.request({
      type: 'send',
      conversationId: opened.conversationId,
      clientMsgId: 'cm_toolong1',
      kind: 'text',
      text: 'x'.repeat(1500),
    })
    t.equal(errorCode(r), 'TEXT_TOO_LONG')
    const big = await TestClient.open(gw.url, { token: tokenA })
    await big.waitFor(isType('hello'))
    big.send({ type: 'ping', pad: 'x'.repeat(3000) })
    t.equal((await big.waitClosed()).code, 1009, 'a frame over maxFrameBytes closes with 1009')
    t.equal(errorCode(big.frames.at(-1)!), 'FRAME_TOO_LARGE')
  })

  await t.test('a logged-out session is closed with 4403, other sessions stay', async (t) => {
    const phone = await TestClient.open(gw.url, { token: await gws.token(A, 'phone') })
    const laptop = await TestClient.open(gw.url, { token: await gws.token(A, 'laptop') })
    t.teardown(() => laptop.close())
    await phone.waitFor(isType('hello'))
    await laptop.waitFor(isType('hello'))
    gw.closeSessions(A, [`s_${A}_phone`])
    t.equal((await phone.waitClosed()).code, 4403)
    laptop.send({ type: 'ping', rid: 'alive' })
    t.equal((await laptop.waitFor(isType('pong'))).rid, 'alive')
  })

  await t.test('floods get RATE_LIMITED with retryAfterMs, then 4429', async (t) => {
    const c = await TestClient.open(gw.url, { token: tokenA })
    await c.waitFor(isType('hello'))
    for (let i = 0; i < 60; i++) c.send({ type: 'ping', rid: `flood${i}` })
    const limited = await c.waitFor((f) => f.type === 'error' && f.code === 'RATE_LIMITED')
    t.ok(limited.type === 'error' && (limited.retryAfterMs ?? 0) > 0)
    t.match(limited, { rid: /^flood\d+$/ }, 'the refusal answers the request it refused')
    t.equal((await c.waitClosed()).code, 4429)
  })
})

t.test('a client that stops reading is closed as a slow consumer (4430)', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  // Users learn of new conversations from notices the projector's reactors publish (ADR 0150).
  const projector = await startProjectorProcess(tn)
  t.teardown(projector.kill)
  const gws = await testGateways(tn)
  const gw = await gws.start({
    maxBackpressureBytes: 256 * 1024,
    limits: {
      ...(await import('@chatapp/contracts')).DEFAULT_LIMITS,
      maxTextLength: 60_000,
      connFramesPerSecond: 10_000,
      connBurst: 10_000,
      userFramesPerSecond: 10_000,
      userBurst: 10_000,
    },
  })
  t.teardown(() => gw.close())
  const a = await TestClient.open(gw.url, { token: await gws.token(A) })
  const b = await TestClient.open(gw.url, { token: await gws.token(B) })
  t.teardown(() => a.close())
  for (const c of [a, b]) {
    await c.waitFor(isType('hello'))
    c.send({ type: 'sync', rid: 's' })
    await c.waitFor(isType('synced'))
  }
  const dm = ((await a.request({ type: 'direct.open', peerId: B })) as ServerFrameOf<'ok'>).conversationId!
  await b.waitFor((f) => f.type === 'event' && f.conversationId === dm)
  // B stops reading: the kernel buffers fill, then the gateway's send buffer passes its bound.
  const raw = (b.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket
  raw.pause()
  // Well past what the kernel's socket buffers absorb on loopback (a few MiB).
  const text = 'x'.repeat(60_000)
  for (let i = 0; i < 400 && !b.closed; i++) {
    const r = await a.request({
      type: 'send',
      conversationId: dm,
      clientMsgId: `cm_slow${String(i).padStart(5, '0')}`,
      kind: 'text',
      text,
    })
    if (r.type !== 'sent') break
  }
  raw.resume()
  t.equal((await b.waitClosed(10_000)).code, 4430)
})
