import { DeliverPolicy, jetstreamManager } from '@nats-io/jetstream'
import { Registry } from 'prom-client'
import t from 'tap'
import { applyBatch } from '../src/applier.js'
import { positionConsumer } from '../src/consumer-position.js'
import { StateCache } from '../src/state-cache.js'
import { created, ev, GROUP, sent, U } from './support/events.js'
import { append, waitFor } from './support/log.js'
import { viewsNamespace } from './support/views-namespace.js'

const { tn, n, schema, js, pool, q, offsetOf, start: startOn } = await viewsNamespace(2)

/** A projector on this file's namespace; `extra` holds what a test changes (ack wait, linger). */
const start = async (extra: { ackWaitMs?: number; lingerMs?: number } = {}) => {
  const registry = new Registry()
  return { p: await startOn({ registry, ...extra }), registry }
}

const media = { mediaId: 'm_photo001', kind: 'image' as const, mime: 'image/jpeg', size: 100 }

t.test('a crash between commit and ack has no double effect', async (t) => {
  // Apply the first events as a projector would, then deliver the same batch again (the process
  // died after COMMIT and before the ack, or a replay): nothing changes.
  const conv = 'c_crash0001'
  await append(js, n, created(conv))
  await append(js, n, sent(conv, U.ann, 1))
  const shard = n.shardOf(conv)
  const { p: p0 } = await start({ ackWaitMs: 1000 })
  await waitFor(async () => (await offsetOf(shard)) >= 2, 10_000, 'first projection')
  await p0.stop()
  const before = await q('SELECT * FROM V.members WHERE conversation_id = $1 ORDER BY user_id', [conv])
  const ordered = await js.consumers.get(n.convStream(shard), { filter_subjects: n.convAllSubject(conv) })
  const entries = []
  for await (const m of await ordered.fetch({ max_messages: 2, expires: 2000 })) {
    entries.push({ stream: m.info.stream, seq: m.seq, subject: m.subject, data: m.data })
    if (entries.length === 2) break
  }
  const again = await applyBatch(pool, schema, shard, entries, { continuity: { kind: 'server' } })
  t.equal(again.skipped, 2, 'both events are at or below the offset')
  t.equal(again.applied, 0)
  t.same(await q('SELECT * FROM V.members WHERE conversation_id = $1 ORDER BY user_id', [conv]), before)
  t.equal((await q('SELECT count(*)::int AS c FROM V.messages WHERE conversation_id = $1', [conv]))[0].c, 1)
})

t.test('a batch committed but never acked is applied once, and what follows it too', async (t) => {
  const conv = 'c_noack0001'
  const shard = n.shardOf(conv)
  const jsm = await jetstreamManager(tn.nc)
  await positionConsumer(jsm, n, shard, (await offsetOf(shard)) + 1, { batch: 50, ackWaitMs: 30_000 })
  await append(js, n, created(conv))
  await append(js, n, sent(conv, U.bob, 1))
  // Take the messages from the durable consumer, apply them, and never ack (the crash).
  const durable = await js.consumers.get(n.convStream(shard), n.projectorConsumer(shard))
  const taken = []
  for await (const m of await durable.fetch({ max_messages: 2, expires: 1000 })) taken.push(m)
  t.equal(taken.length, 2)
  const first = await applyBatch(
    pool,
    schema,
    shard,
    taken.map((m) => ({ stream: m.info.stream, seq: m.seq, subject: m.subject, data: m.data })),
    { continuity: { kind: 'reader' } },
  )
  t.equal(first.applied, taken.length)
  const later = await append(js, n, sent(conv, U.bob, 2))
  // A new projector starts from the stored offset, not from what the consumer thinks is pending.
  const { p } = await start({ ackWaitMs: 30_000 })
  t.teardown(p.stop)
  await waitFor(async () => (await offsetOf(shard)) >= later, 10_000, 'the later event')
  t.equal((await q('SELECT count(*)::int AS c FROM V.messages WHERE conversation_id = $1', [conv]))[0].c, 2)
  t.equal((await q('SELECT last_n FROM V.conversations WHERE conversation_id = $1', [conv]))[0].last_n, 2)
  await p.stop()
})

t.test('each event type is projected', async (t) => {
  const { p, registry } = await start()
  t.teardown(p.stop)
  await append(js, n, created(GROUP))
  await append(js, n, ev('conversation.renamed', GROUP, U.ann, { title: 'Renamed' }))
  await append(js, n, ev('member.added', GROUP, U.ann, { userId: U.dan, role: 'member' }))
  const s1 = await append(js, n, sent(GROUP, U.bob, 1, 'hi'))
  const s2 = await append(
    js,
    n,
    ev('message.sent', GROUP, U.ann, {
      clientMsgId: 'cmid-photo',
      deviceId: 'd1',
      n: 2,
      kind: 'image',
      media,
    }),
  )
  await append(js, n, ev('receipt.delivered', GROUP, U.cat, { upTo: s2 }))
  await append(js, n, ev('receipt.read', GROUP, U.cat, { upTo: s1 }))
  await append(
    js,
    n,
    ev('media.ready', GROUP, 'system', {
      mediaId: media.mediaId,
      variants: [{ name: 'thumb', mime: 'image/webp', size: 9 }],
      width: 4,
      height: 3,
    }),
  )
  await append(js, n, ev('member.role_changed', GROUP, U.ann, { userId: U.cat, role: 'admin' }))
  await append(js, n, ev('member.removed', GROUP, U.ann, { userId: U.cat }))
  const last = await append(js, n, ev('member.left', GROUP, U.ann, { userId: U.ann }))
  await waitFor(async () => (await offsetOf(n.shardOf(GROUP))) >= last, 10_000, 'projection')

  const [conv] = await q('SELECT * FROM V.conversations WHERE conversation_id = $1', [GROUP])
  t.match(conv, { title: 'Renamed', last_n: 2, last_msg_seq: s2, last_seq: last, member_count: 2 })
  const members = await q(
    'SELECT user_id, role, active, delivered_up_to, read_up_to FROM V.members WHERE conversation_id = $1 ORDER BY user_id',
    [GROUP],
  )
  t.same(
    members.map((m) => [m.user_id, m.role, m.active]),
    [
      [U.ann, 'admin', false],
      [U.bob, 'admin', true], // promoted: longest-standing when the last admin left
      [U.cat, 'admin', false],
      [U.dan, 'member', true],
    ],
  )
  t.match(members[2], { delivered_up_to: s2, read_up_to: s1 })
  t.match(members[1], { read_up_to: s1 }, 'the sender has read their own message')
  const msgs = await q(
    'SELECT seq, n, sender_id, kind, text, media_id FROM V.messages WHERE conversation_id = $1 ORDER BY seq',
    [GROUP],
  )
  t.same(
    msgs.map((m) => [Number(m.seq), m.n, m.kind, m.media_id]),
    [
      [s1, 1, 'text', null],
      [s2, 2, 'image', media.mediaId],
    ],
  )
  const [m] = await q('SELECT state, kind, width, variants FROM V.media WHERE conversation_id = $1', [GROUP])
  t.match(m, { state: 'ready', kind: 'image', width: 4, variants: [{ name: 'thumb' }] })

  // media.failed on another media
  const conv2 = 'c_failmedia1'
  await append(js, n, created(conv2))
  await append(
    js,
    n,
    ev('message.sent', conv2, U.ann, {
      clientMsgId: 'cmid-vid01',
      deviceId: 'd1',
      n: 1,
      kind: 'video',
      media: { ...media, mediaId: 'm_video001', kind: 'video', mime: 'video/mp4' },
    }),
  )
  const f = await append(
    js,
    n,
    ev('media.failed', conv2, 'system', {
      mediaId: 'm_video001',
      code: 'MEDIA_CORRUPT',
      reason: 'truncated',
    }),
  )
  await waitFor(async () => (await offsetOf(n.shardOf(conv2))) >= f, 10_000, 'media.failed')
  t.match((await q('SELECT state, failure_code FROM V.media WHERE conversation_id = $1', [conv2]))[0], {
    state: 'failed',
    failure_code: 'MEDIA_CORRUPT',
  })

  const text = await registry.metrics()
  t.match(text, /projector_events_total\{type="message.sent"[^}]*\} [1-9]/)
  t.match(text, /projector_batch_size_count/)
  t.match(text, /projector_apply_seconds_count/)
  t.match(text, /projector_lag_seconds\{shard="\d"/)
  t.match(text, /projector_lag_events\{shard="\d"[^}]*\} 0/)
  await p.stop()
})

t.test('a poison event is dead-lettered and later events still project', async (t) => {
  const { p, registry } = await start()
  t.teardown(p.stop)
  const conv = 'c_poison001'
  await append(js, n, created(conv))
  const bad = (
    await js.publish(n.convSubject(conv, 'm'), new TextEncoder().encode('{"type":"message.sent","v":1}'))
  ).seq
  const unknownConv = await append(js, n, sent('c_nowhere01', U.ann, 1))
  const good = await append(js, n, sent(conv, U.ann, 1, 'still here'))
  await waitFor(async () => (await offsetOf(n.shardOf(conv))) >= good, 10_000, 'projection past the poison')
  await waitFor(async () => (await offsetOf(n.shardOf('c_nowhere01'))) >= unknownConv, 10_000, 'other shard')
  t.equal((await q('SELECT text FROM V.messages WHERE conversation_id = $1', [conv]))[0].text, 'still here')
  const dls = await q('SELECT seq, code, reason FROM V.dead_letters ORDER BY seq')
  t.ok(dls.find((d) => Number(d.seq) === bad && d.code === 'EVENT_INVALID'))
  t.ok(dls.find((d) => d.code === 'EVENT_REJECTED' && /before the conversation was created/.test(d.reason)))
  const dlq = await (await jetstreamManager(tn.nc)).streams.info(n.deadLetterStream)
  t.ok(dlq.state.messages >= 2, 'published to the dead-letter stream too')
  t.match(await registry.metrics(), /projector_dead_letters_total(\{[^}]*\})? [2-9]/)
  await p.stop()
})

t.test('a batch that is not full lingers for more events, so a burst is one transaction', async (t) => {
  const { p, registry } = await start({ lingerMs: 1500 })
  t.teardown(p.stop)
  const conv = 'c_linger001'
  await append(js, n, created(conv))
  let last = 0
  for (let i = 1; i <= 9; i++) last = await append(js, n, sent(conv, U.ann, i))
  await waitFor(async () => (await offsetOf(n.shardOf(conv))) >= last, 10_000, 'the burst projected')
  const metrics = await registry.metrics()
  t.match(metrics, /projector_batch_size_count(\{[^}]*\})? 1\n/, 'one transaction')
  t.match(metrics, /projector_batch_size_sum(\{[^}]*\})? 10\n/, 'for all ten events')
  await p.stop()
})

t.test(
  'a writer whose batch does not follow the stored offset applies nothing: no writer can make a hole',
  async (t) => {
    const conv = 'c_stale0001'
    const shard = n.shardOf(conv)
    await append(js, n, created(conv))
    const { p } = await start()
    const s1 = await append(js, n, sent(conv, U.ann, 1))
    await waitFor(async () => (await offsetOf(shard)) >= s1, 10_000, 'projection')
    await p.stop()
    const skipped = await append(js, n, sent(conv, U.ann, 2))
    const later = await append(js, n, sent(conv, U.ann, 3))
    const stored = await js.consumers.get(n.convStream(shard), { filter_subjects: n.convAllSubject(conv) })
    const entries = []
    for await (const m of await stored.fetch({ max_messages: 10, expires: 2000 })) {
      if (m.seq === later)
        entries.push({ stream: m.info.stream, seq: m.seq, subject: m.subject, data: m.data })
      if (m.seq >= later) break
    }
    const r = await applyBatch(pool, schema, shard, entries, { continuity: { kind: 'server' } })
    t.same(r.hole, { after: s1, next: later })
    t.equal(r.applied, 0)
    t.equal(await offsetOf(shard), s1, 'the offset did not move past the missing event')
    t.equal((await q('SELECT count(*)::int AS c FROM V.messages WHERE conversation_id = $1', [conv]))[0].c, 1)
    t.ok(skipped < later)
  },
)

t.test('a state cache never serves a conversation another writer changed since', async (t) => {
  const conv = 'c_cache0001'
  const shard = n.shardOf(conv)
  const read = async (from: number) => {
    const c = await js.consumers.get(n.convStream(shard), {
      filter_subjects: n.convAllSubject(conv),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
    })
    const m = await c.next({ expires: 2000 })
    return [{ stream: m!.info.stream, seq: m!.seq, subject: m!.subject, data: m!.data }]
  }
  const mine = new StateCache()
  const theirs = new StateCache()
  const o = (cache: StateCache) => ({ continuity: { kind: 'reader' } as const, cache })
  // Move this shard's offset to just before the conversation, so these writers own what follows.
  const { p } = await start()
  const c0 = await append(js, n, created(conv, [U.ann, U.bob]))
  await waitFor(async () => (await offsetOf(shard)) >= c0, 10_000, 'creation')
  await p.stop()
  const a1 = await append(js, n, sent(conv, U.ann, 1))
  await applyBatch(pool, schema, shard, await read(a1), o(mine))
  t.equal(mine.size, 1, 'mine now caches the conversation')
  const added = await append(js, n, ev('member.added', conv, U.ann, { userId: U.dan, role: 'member' }))
  await applyBatch(pool, schema, shard, await read(added), o(theirs))
  const fromDan = await append(js, n, sent(conv, U.dan, 2))
  const r = await applyBatch(pool, schema, shard, await read(fromDan), o(mine))
  t.equal(r.deadLetters.length, 0, 'dan is a member: the cached state without him was not used')
  t.equal(r.applied, 1)
})

t.test('a writer that knows where the shard stands applies a batch as one statement', async (t) => {
  const conv = 'c_fastpath1'
  const shard = n.shardOf(conv)
  const { p } = await start()
  const c0 = await append(js, n, created(conv, [U.ann, U.bob]))
  await waitFor(async () => (await offsetOf(shard)) >= c0, 10_000, 'creation')
  await p.stop()
  const calls = { connect: 0, query: 0 }
  const counted = new Proxy(pool, {
    get: (target, key) => {
      if (key === 'connect' || key === 'query') calls[key]++
      const v = Reflect.get(target, key)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
  const cache = new StateCache()
  const one = async (seq: number) => {
    const c = await js.consumers.get(n.convStream(shard), {
      filter_subjects: n.convAllSubject(conv),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: seq,
    })
    const m = (await c.next({ expires: 2000 }))!
    return [{ stream: m.info.stream, seq: m.seq, subject: m.subject, data: m.data }]
  }
  await applyBatch(counted, schema, shard, await one(await append(js, n, sent(conv, U.ann, 1))), {
    continuity: { kind: 'reader' },
    cache,
  })
  t.same(calls, { connect: 1, query: 0 }, 'the first batch takes the careful path: a transaction')
  const second = await append(js, n, sent(conv, U.bob, 2))
  const r = await applyBatch(counted, schema, shard, await one(second), {
    continuity: { kind: 'reader' },
    cache,
  })
  t.same(calls, { connect: 1, query: 1 }, 'the second is one statement')
  t.equal(r.applied, 1)
  t.equal(await offsetOf(shard), second)
  t.equal((await q('SELECT last_n FROM V.conversations WHERE conversation_id = $1', [conv]))[0].last_n, 2)
})
