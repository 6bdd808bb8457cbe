import { type ChatClient, connect } from '@chatapp/client'
import type { ServerFrameOf } from '@chatapp/contracts'

type EventFrame = ServerFrameOf<'event'>

import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { testGateways } from '../support/gateway.js'
import { startProjectorProcess } from '../support/projector.js'

const A = 'u_alice0001'
const B = 'u_bob000001'

/** Resolves when `pred` holds, checked after every event of `c` (bounded). */
const until = (c: ChatClient, pred: () => boolean, ms = 10_000) =>
  new Promise<void>((resolve, reject) => {
    if (pred()) return resolve()
    const timer = setTimeout(() => reject(new Error('timed out')), ms)
    const check = () => {
      if (pred()) {
        clearTimeout(timer)
        resolve()
      }
    }
    c.on('event', check)
    c.on('synced', check)
  })

t.test('the client library chats through two gateways and survives one shutting down', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  // Users learn of new conversations from notices the projector's reactors publish (ADR 0150).
  const projector = await startProjectorProcess(tn)
  t.teardown(projector.kill)
  const gws = await testGateways(tn)
  const g1 = await gws.start()
  const g2 = await gws.start()
  t.teardown(() => g1.close())
  const client = (urls: string[], user: string) => {
    const c = connect(urls, {
      deviceId: 'dev1',
      tokenProvider: () => gws.token(user),
      autoDeliver: true,
      backoff: { baseMs: 50, maxMs: 200 },
      pingIntervalMs: 0,
    })
    t.teardown(() => c.close())
    return c
  }
  const a = client([g1.url], A)
  const b = client([g2.url, g1.url], B)
  const seen: EventFrame[] = []
  b.on('event', (f) => seen.push(f))
  await Promise.all([a.ready(), b.ready()])

  const { conversationId } = await a.openDirect(B)
  const dm = conversationId!
  const texts = (fs: EventFrame[]) =>
    fs.flatMap((f) => (f.event.type === 'message.sent' ? [f.event.data.text] : []))
  for (let i = 0; i < 5; i++) await a.send(dm, { text: `m${i}` })
  await until(b, () => texts(seen).length === 5)

  // Gateway 2 shuts down (1001): B reconnects to gateway 1 and catches up.
  await g2.close()
  const sends = Promise.all(Array.from({ length: 5 }, (_, i) => a.send(dm, { text: `m${i + 5}` })))
  await sends
  await until(b, () => texts(seen).length === 10)
  t.same(
    texts(seen),
    Array.from({ length: 10 }, (_, i) => `m${i}`),
    'every message once, in order',
  )
  const seqs = seen.map((f) => f.seq)
  t.same(
    seqs,
    [...new Set(seqs)].sort((x, y) => x - y),
  )
})
