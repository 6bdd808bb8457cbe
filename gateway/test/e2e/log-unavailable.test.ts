import type { ServerFrameOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { connectNats, createLogger } from '@chatapp/kit'
import { StallProxy } from '@chatapp/kit/testing'
import t from 'tap'
import { testGateways } from '../support/gateway.js'
import { isType, TestClient } from '../support/ws-client.js'

const A = 'u_alice0001'
const B = 'u_bob000001'

t.test(
  'while the log is unavailable a send is answered UNAVAILABLE with a retry hint, and later sends of the conversation wait for its resend',
  async (t) => {
    const tn = await createTestNamespace()
    t.teardown(tn.cleanup)
    const url = new URL(tn.env.NATS_URL!.split(',')[0]!.replace('nats://', 'http://'))
    const proxy = await StallProxy.start({ host: url.hostname, port: Number(url.port) })
    t.teardown(() => proxy.close())
    // The gateway's own NATS connection goes through the proxy; the test's does not.
    const nc = await connectNats(`nats://127.0.0.1:${proxy.port}`, 'gw-stalled', createLogger('t', 'silent'))
    t.teardown(() => nc.close())
    const gws = await testGateways(tn)
    const gw = await gws.start({ appendRetryMs: 800 }, { nc })
    t.teardown(() => gw.close())
    const a = await TestClient.open(gw.url, { token: await gws.token(A) })
    t.teardown(() => a.close())
    await gws.token(B)
    await a.waitFor(isType('hello'))
    const dm = ((await a.request({ type: 'direct.open', peerId: B })) as ServerFrameOf<'ok'>).conversationId!
    const send = (n: number, retry = false) => ({
      type: 'send',
      rid: `s${n}${retry ? 'r' : ''}`,
      conversationId: dm,
      clientMsgId: `cm_order_${n}`,
      kind: 'text',
      text: `m${n}`,
      ...(retry ? { retry: true } : {}),
    })

    proxy.pause()
    const from = a.frames.length
    a.send(send(1))
    a.send(send(2)) // pipelined behind the first
    const e1 = await a.waitFor((f) => f.type === 'error' && f.rid === 's1', 10_000, from)
    t.match(
      e1,
      { code: 'UNAVAILABLE', retryable: true, retryAfterMs: 1_000 },
      'not INTERNAL: a retryable pause',
    )
    const e2 = await a.waitFor((f) => f.type === 'error' && f.rid === 's2', 10_000, from)
    t.match(e2, { code: 'UNAVAILABLE' }, 'the send behind it is not tried before it')
    proxy.resume()

    // The log is back, but a send that is not the resend of the failed one still waits.
    const again = await a.request(send(2))
    t.match(again, { type: 'error', code: 'UNAVAILABLE' }, 'still blocked until the failed send is resent')
    const r1 = await a.request(send(1, true))
    const r2 = await a.request(send(2, true))
    t.equal(r1.type, 'sent')
    t.equal(r2.type, 'sent')
    const s1 = r1 as ServerFrameOf<'sent'>
    const s2 = r2 as ServerFrameOf<'sent'>
    t.ok(s1.seq < s2.seq && s1.n + 1 === s2.n, 'stored in the order the user sent them, once each')
  },
)

t.test('a send refused by the rate limiter blocks the sends behind it until it is resent', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  const gws = await testGateways(tn)
  const { DEFAULT_LIMITS } = await import('@chatapp/contracts')
  const gw = await gws.start({ limits: { ...DEFAULT_LIMITS, connFramesPerSecond: 1, connBurst: 3 } })
  t.teardown(() => gw.close())
  const a = await TestClient.open(gw.url, { token: await gws.token(A) })
  t.teardown(() => a.close())
  await gws.token(B)
  await a.waitFor(isType('hello'))
  const dm = ((await a.request({ type: 'direct.open', peerId: B })) as ServerFrameOf<'ok'>).conversationId!
  const send = (n: number, retry = false) => ({
    type: 'send',
    rid: `q${n}${retry ? 'r' : ''}`,
    conversationId: dm,
    clientMsgId: `cm_limit_${n}`,
    kind: 'text',
    text: `m${n}`,
    ...(retry ? { retry: true } : {}),
  })
  const from = a.frames.length
  for (let i = 1; i <= 4; i++) a.send(send(i))
  const refused = await a.waitFor((f) => f.type === 'error' && f.code === 'RATE_LIMITED', 5_000, from)
  const n = Number(String(refused.type === 'error' && refused.rid).slice(1))
  t.ok(n >= 2, `send ${n} was rate limited`)
  // Wait as the server says, then send the one after the refused one: it must still wait.
  const pause = (f: unknown) =>
    new Promise((r) => setTimeout(r, (f as { retryAfterMs: number }).retryAfterMs + 50))
  await pause(refused)
  const after = await a.request(send(n + 10))
  t.match(
    after,
    { type: 'error', code: 'RATE_LIMITED', message: /earlier send/ },
    'blocked behind the refused send',
  )
  await pause({ retryAfterMs: 1_000 })
  t.equal((await a.request(send(n, true))).type, 'sent', 'the resend of the refused one lifts the block')
})
