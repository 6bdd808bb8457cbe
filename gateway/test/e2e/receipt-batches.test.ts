import type { ServerFrameOf } from '@chatapp/contracts'
import { receiptEntries } from '@chatapp/domain'
import { createTestNamespace } from '@chatapp/infra'
import type { StoredEvent } from '@chatapp/kit'
import t from 'tap'
import type { Gateway } from '../../src/gateway.js'
import { type TestGateways, testGateways } from '../support/gateway.js'
import { startProjectorProcess } from '../support/projector.js'
import { isType, TestClient } from '../support/ws-client.js'

type Ev = ServerFrameOf<'event'>

const A = 'u_sender001'
const member = (i: number) => `u_member${String(i).padStart(3, '0')}`

const connect = async (
  t: { teardown(f: () => unknown): void },
  gws: TestGateways,
  url: string,
  user: string,
) => {
  const c = await TestClient.open(url, { token: await gws.token(user) })
  t.teardown(() => c.close())
  await c.waitFor(isType('hello'))
  const from = c.frames.length
  c.send({ type: 'sync', rid: 'first' })
  await c.waitFor(isType('synced'), 10_000, from)
  return c
}

/** Every event on the conversation's `.r` lane, read back from the stream. */
const receiptLane = async (gw: Gateway, id: string): Promise<StoredEvent[]> => {
  const log = gw.ctx.conversationLog
  const out: StoredEvent[] = []
  for await (const e of log.read(id, 0, await log.lastSeq(id, 'r'), 'r')) out.push(e)
  return out
}

t.test(
  'a group read wave is appended as a few batches, and the sender still learns every watermark',
  async (t) => {
    const tn = await createTestNamespace()
    t.teardown(tn.cleanup)
    // Users learn of new conversations from notices the projector's reactors publish (ADR 0150).
    const projector = await startProjectorProcess(tn)
    t.teardown(projector.kill)
    const gws = await testGateways(tn)
    // A window wide enough that 20 receipts sent at once land in one or two batches on a busy machine.
    const gw = await gws.start({ receiptBatchMs: 300 })
    t.teardown(() => gw.close())
    const members = Array.from({ length: 20 }, (_, i) => member(i))
    const a = await connect(t, gws, gw.url, A)
    const clients: TestClient[] = []
    for (const u of members) clients.push(await connect(t, gws, gw.url, u))
    const grp = (
      (await a.request({ type: 'group.create', title: 'wave', memberIds: members })) as ServerFrameOf<'ok'>
    ).conversationId!
    const m = (await a.request({
      type: 'send',
      conversationId: grp,
      clientMsgId: 'cm_wave0001',
      kind: 'text',
      text: 'hello all',
    })) as ServerFrameOf<'sent'>
    await Promise.all(clients.map((c) => c.waitFor((f): f is Ev => f.type === 'event' && f.seq === m.seq)))

    for (const c of clients) c.send({ type: 'receipt', conversationId: grp, kind: 'delivered', upTo: m.seq })

    // The sender learns each member's delivered watermark, from batches or plain receipts alike.
    const seen = new Set<string>()
    await a.waitFor((f) => {
      if (f.type === 'event' && f.lane === 'r')
        for (const x of receiptEntries(f.event))
          if (x.kind === 'delivered' && x.upTo >= m.seq) seen.add(x.userId)
      return members.every((u) => seen.has(u))
    }, 15_000)
    t.equal(seen.size, members.length, 'every member’s delivered watermark reached the sender')

    const lane = await receiptLane(gw, grp)
    t.ok(lane.length <= 3, `${members.length} receipts took ${lane.length} appends on the .r lane`)
    t.ok(
      lane.some((e) => e.event.type === 'receipt.batch' && e.event.actor === 'system'),
      'at least one receipt.batch, written by the system',
    )

    // Delivered watermarks go to the senders they cover, not back to their authors (ADR 0070):
    // otherwise every member would get every batch. A ping answered after the sender has seen
    // the batches proves each member's socket has already carried anything sent before it.
    await Promise.all(clients.map((c) => c.request({ type: 'ping' })))
    const echoed = clients.filter((c) =>
      c.frames.some((f) => f.type === 'event' && f.lane === 'r' && receiptEntries(f.event).length > 0),
    )
    t.equal(echoed.length, 0, 'no member got the delivered receipts back')
  },
)

t.test(
  'a lone pending receipt is a plain receipt; a removed member’s pending receipt is dropped',
  async (t) => {
    const tn = await createTestNamespace()
    t.teardown(tn.cleanup)
    // Users learn of new conversations from notices the projector's reactors publish (ADR 0150).
    const projector = await startProjectorProcess(tn)
    t.teardown(projector.kill)
    const gws = await testGateways(tn)
    // A long window: the removal below is appended while both receipts are still pending.
    const gw = await gws.start({ receiptBatchMs: 2000 })
    t.teardown(() => gw.close())
    const [B, C] = [member(1), member(2)]
    const a = await connect(t, gws, gw.url, A)
    const b = await connect(t, gws, gw.url, B)
    const c = await connect(t, gws, gw.url, C)
    const grp = (
      (await a.request({ type: 'group.create', title: 'drop', memberIds: [B, C] })) as ServerFrameOf<'ok'>
    ).conversationId!
    const m = (await a.request({
      type: 'send',
      conversationId: grp,
      clientMsgId: 'cm_drop0001',
      kind: 'text',
      text: 'hi',
    })) as ServerFrameOf<'sent'>
    await c.waitFor((f): f is Ev => f.type === 'event' && f.seq === m.seq)
    await b.waitFor((f): f is Ev => f.type === 'event' && f.seq === m.seq)

    c.send({ type: 'receipt', conversationId: grp, kind: 'delivered', upTo: m.seq })
    // A receipt on a cached state is decided without I/O, so C's pong (the next frame on the same
    // socket) proves the receipt is pending, not refused.
    await c.request({ type: 'ping' })
    const removed = await a.request({ type: 'group.remove', conversationId: grp, userId: C })
    t.equal(removed.type, 'ok')
    b.send({ type: 'receipt', conversationId: grp, kind: 'delivered', upTo: m.seq })

    const toA = await a.waitFor(
      (f): f is Ev =>
        f.type === 'event' && f.lane === 'r' && receiptEntries(f.event).some((x) => x.userId === B),
      10_000,
    )
    t.match(toA.event, { type: 'receipt.delivered', actor: B, data: { upTo: m.seq } }, 'a plain receipt')
    const lane = await receiptLane(gw, grp)
    t.same(
      lane.map((e) => [e.event.type, e.event.actor]),
      [['receipt.delivered', B]],
      'C’s pending receipt was dropped at flush',
    )
    t.notOk(c.frames.some(isType('error')), 'C’s receipt was accepted before the removal')
  },
)
