import type { ChatEvent } from '@chatapp/contracts'
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream'
import t from 'tap'
import { created, ev, sent, U } from './support/events.js'
import { append, waitFor } from './support/log.js'
import { viewsNamespace } from './support/views-namespace.js'

/**
 * Issue 10: events the log holds but PostgreSQL refuses, appended straight to the log as a
 * gateway that let them through would. None of them may stop the shard: each is dead-lettered
 * with the SQLSTATE, and the events after it are projected.
 */
const { n, js, jsm, q, offsetOf, start: startOn, verify } = await viewsNamespace(1)
const offset = () => offsetOf(0)
// Poison and good events share batches: the good ones must survive the split.
const start = () => startOn({ lingerMs: 200 })

const photo = (mediaId: string, name: string) => ({
  mediaId,
  kind: 'image' as const,
  mime: 'image/jpeg',
  size: 10,
  name,
})
const withMedia = (conv: string, k: number, media: ReturnType<typeof photo>): ChatEvent =>
  ev('message.sent', conv, U.ann, {
    clientMsgId: `cmid-media-${k}`,
    deviceId: 'dev1',
    n: k,
    kind: 'image',
    media,
  })

t.test(
  'events PostgreSQL refuses are dead-lettered with their SQLSTATE, and the shard projects what follows',
  async (t) => {
    const conv = 'c_poison001'
    const p = await start()
    t.teardown(p.stop)
    // A constraint the views may carry (an operator's, a later migration's): one name per media.
    await q('CREATE UNIQUE INDEX media_one_name ON V.media (conversation_id, name)')
    t.teardown(() => q('DROP INDEX IF EXISTS V.media_one_name'))
    await append(js, n, created(conv))
    const poison: Record<string, number> = {}
    const good: number[] = []
    // Messages are numbered as the log's rules want (a refused message is still message n: the
    // next one is n + 1), so each is refused for its data only.
    good.push(await append(js, n, sent(conv, U.ann, 1, 'before')))
    poison.nulText = await append(js, n, sent(conv, U.ann, 2, 'nul \u0000 here'))
    good.push(await append(js, n, sent(conv, U.bob, 3, 'after the NUL')))
    poison.nulTitle = await append(js, n, ev('conversation.renamed', conv, U.ann, { title: 'Te\u0000am' }))
    poison.nulMediaName = await append(js, n, withMedia(conv, 4, photo('m_poison01', 'a\u0000.jpg')))
    poison.intOverflow = await append(
      js,
      n,
      ev('media.ready', conv, 'system', { mediaId: 'm_poison02', variants: [], width: 2 ** 31 }),
    )
    good.push(await append(js, n, withMedia(conv, 5, photo('m_poison02', 'same.jpg'))))
    poison.uniqueKey = await append(js, n, withMedia(conv, 6, photo('m_poison03', 'same.jpg')))
    const last = await append(js, n, sent(conv, U.cat, 7, 'the last one'))
    good.push(last)
    await waitFor(async () => (await offset()) >= last, 15_000, 'projection past every poison event')

    const texts = (
      await q('SELECT seq, text FROM V.messages WHERE conversation_id = $1 ORDER BY seq', [conv])
    ).map((r) => [Number(r.seq), r.text])
    t.same(
      texts.map(([seq]) => seq),
      good,
      'every good event is projected, none of the poison',
    )
    t.match((await q('SELECT title, last_n FROM V.conversations WHERE conversation_id = $1', [conv]))[0], {
      title: 'Team',
      last_n: 7,
    })
    const dls = await q('SELECT seq, code, reason FROM V.dead_letters ORDER BY seq')
    t.same(
      dls.map((d) => Number(d.seq)),
      Object.values(poison).sort((a, b) => a - b),
    )
    const reason = (seq: number) => dls.find((d) => Number(d.seq) === seq)?.reason as string
    t.match(reason(poison.nulText!), /SQLSTATE 22021/)
    t.match(reason(poison.nulTitle!), /SQLSTATE 22021/)
    t.match(reason(poison.nulMediaName!), /SQLSTATE 22(021|P05)/)
    t.match(reason(poison.intOverflow!), /SQLSTATE 22003/)
    t.match(reason(poison.uniqueKey!), /SQLSTATE 23505 .*media_one_name/)
    t.ok(dls.every((d) => d.code === 'EVENT_INVALID'))
    const dlq = await jsm.streams.info(n.deadLetterStream)
    t.ok(dlq.state.messages >= dls.length, 'copied to the dead-letter stream')
    await p.stop()
  },
)

t.test('a namespace already stuck on such an event recovers on the next projector start', async (t) => {
  const conv = 'c_stuck0001'
  await append(js, n, created(conv))
  const bad = await append(js, n, sent(conv, U.ann, 1, '\u0000'))
  const after = await append(js, n, sent(conv, U.bob, 2, 'after'))
  // What an older projector left: its durable consumer delivering the poison over and over, the
  // offset just before it.
  const stream = n.convStream(0)
  await jsm.consumers.delete(stream, n.projectorConsumer(0)).catch(() => {})
  await jsm.consumers.add(stream, {
    durable_name: n.projectorConsumer(0),
    ack_policy: AckPolicy.All,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: 200,
  })
  const old = await js.consumers.get(stream, n.projectorConsumer(0))
  for await (const m of await old.fetch({ max_messages: 200, expires: 1000 })) {
    m.nak()
    if (m.seq === after) break
  }
  t.ok((await offset()) < bad, 'the offset stands before the poison')
  const p = await start()
  t.teardown(p.stop)
  await waitFor(async () => (await offset()) >= after, 15_000, 'recovery')
  t.equal((await q('SELECT text FROM V.messages WHERE conversation_id = $1', [conv]))[0]?.text, 'after')
  t.match((await q('SELECT reason FROM V.dead_letters WHERE seq = $1', [bad]))[0], {
    reason: /SQLSTATE 22021/,
  })
  await p.stop()
  // Rebuild and verify fold the log the same way: the same event refused, no difference.
  // (This conversation only: the other one broke a constraint the scratch schema does not have.)
  const r = await verify(conv)
  t.same(r.differences, [])
})
