import { type ChatEvent, encodeJson, names, streamSpecs } from '@chatapp/contracts'
import { JetStreamApiError } from '@nats-io/jetstream'
import { RequestError, TimeoutError } from '@nats-io/nats-core'
import t from 'tap'
import { createConversationLog } from '../../src/log/conversation-log.js'
import { isTransient, withRetry } from '../../src/log/transient.js'
import { createLogger } from '../../src/logger.js'
import { connectNats, deleteNamespaceStreams, ensureStreams, jetstreamManager } from '../../src/nats.js'

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const newNs = () => `k${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`
const A = 'u_aaaaaaaa'
const C = 'c_logtest01'

const message = (n: number, conversationId = C): ChatEvent => ({
  v: 1,
  type: 'message.sent',
  id: `${conversationId}:${A}:cm${n}`,
  conversationId,
  actor: A,
  at: 1,
  data: { clientMsgId: `cm_0000000${n}`, deviceId: 'd1', n, kind: 'text', text: `m${n}` },
})
const receipt = (upTo: number): ChatEvent => ({
  v: 1,
  type: 'receipt.read',
  id: `r${upTo}`,
  conversationId: C,
  actor: A,
  at: 1,
  data: { upTo },
})

const setup = async (t: { teardown(f: () => unknown): void }, shards = 1) => {
  const ns = newNs()
  const n = names(ns, shards)
  const nc = await connectNats(url, 'kit-log-test', createLogger('test', 'silent'))
  const jsm = await jetstreamManager(nc)
  t.teardown(async () => {
    await deleteNamespaceStreams(jsm, ns)
    await nc.close()
  })
  return { ns, n, nc, jsm }
}

t.test('appends with an expectation, refuses a stale one, and de-duplicates by Msg-Id', async (t) => {
  const { n, nc, jsm } = await setup(t)
  await ensureStreams(jsm, streamSpecs(n))
  const log = await createConversationLog(nc, n)
  const a = await log.append(message(1), { expectLastSeq: 0, msgId: 'x1' })
  t.match(a, { ok: true, seq: 1, duplicate: false, uncertain: false })
  t.match(await log.append(message(2), { expectLastSeq: 0 }), { ok: false, reason: 'wrong-last-sequence' })
  t.match(await log.append(message(1), { expectLastSeq: 0, msgId: 'x1' }), {
    ok: true,
    seq: 1,
    duplicate: true,
  })
  t.match(await log.append(receipt(1)), { ok: true, seq: 2 })
  t.match(await log.append(message(2), { expectLastSeq: 1 }), { ok: true, seq: 3 })
  t.equal(await log.lastSeq(C, 'm'), 3)
  t.equal(await log.lastSeq(C, 'r'), 2)
  t.equal(await log.lastSeq('c_nothing01', 'm'), 0)
  const got = await log.get(C, 3)
  t.match(got, { seq: 3, lane: 'm', prev: 1, event: { data: { n: 2 } } })
  t.equal(await log.get(C, 99), undefined)
  t.equal(await log.get('c_other0001', 3), undefined, 'a sequence of another conversation is not this one')
})

t.test(
  'reads a range in order from one lane or both, short by direct gets and long by a consumer that is gone after',
  async (t) => {
    const { n, nc, jsm } = await setup(t)
    await ensureStreams(jsm, streamSpecs(n))
    const bad: number[] = []
    const log = await createConversationLog(nc, n, {
      longReadAfter: 5,
      onUndecodable: (w) => bad.push(w.seq),
    })
    let last = 0
    for (let i = 1; i <= 30; i++) {
      const r = await log.append(message(i), { expectLastSeq: last })
      if (r.ok) last = r.seq
      await log.append(receipt(last))
      // Another conversation interleaves on the same shard stream.
      await log.append(message(i, 'c_logtest02'))
    }
    // A record that does not decode is skipped, not fatal.
    await nc.request(n.convSubject(C, 'm'), encodeJson({ v: 1, type: 'garbage' }))
    const stream = n.convStream(0)
    const all: { seq: number }[] = []
    for await (const e of log.read(C, 0, 1_000)) all.push(e)
    t.equal(all.length, 60, 'both lanes of the conversation and nothing else')
    t.ok(
      all.every((e, i) => i === 0 || e.seq > all[i - 1]!.seq),
      'in order',
    )
    t.same(bad, [91])
    const m: number[] = []
    for await (const e of log.read(C, 10, 40, 'm')) m.push(e.seq)
    t.ok(m.length > 0 && m.every((s) => s > 10 && s <= 40))
    const empty: unknown[] = []
    for await (const e of log.read(C, 500, 400)) empty.push(e)
    t.equal(empty.length, 0)
    const consumers = await jsm.consumers.list(stream).next()
    t.equal(consumers.length, 0, 'no consumer left behind')
    t.equal(log.ranges.longReadsOpen(), 0)
  },
)

t.test(
  'a read of both lanes walks each by its literal subject, never a wildcard (a scan on nats-server 2.9)',
  async (t) => {
    const { n, nc, jsm } = await setup(t)
    await ensureStreams(jsm, streamSpecs(n))
    const log = await createConversationLog(nc, n)
    let last = 0
    for (let i = 1; i <= 4; i++) {
      const r = await log.append(message(i), { expectLastSeq: last })
      if (r.ok) last = r.seq
      await log.append(receipt(last))
    }
    // Every get the reader sends, as the server receives it.
    const stream = n.convStream(0)
    const spy = await connectNats(url, 'kit-log-spy', createLogger('test', 'silent'))
    t.teardown(() => spy.close())
    const filters: string[] = []
    const sub = spy.subscribe(`$JS.API.STREAM.MSG.GET.${stream}`, {
      callback: (_e, m) => {
        const q = JSON.parse(new TextDecoder().decode(m.data)) as { next_by_subj?: string }
        if (q.next_by_subj) filters.push(q.next_by_subj)
      },
    })
    await spy.flush()
    const seqs: number[] = []
    for await (const e of log.read(C, 0, 1_000)) seqs.push(e.seq)
    await spy.flush()
    sub.unsubscribe()
    t.same(seqs, [1, 2, 3, 4, 5, 6, 7, 8], 'both lanes, merged in stream order')
    t.ok(filters.length >= 8, 'the reads went through the spied gets')
    t.same([...new Set(filters)].sort(), [n.convSubject(C, 'm'), n.convSubject(C, 'r')], 'literal subjects')
  },
)

t.test(
  'merged lane reads with every long-read slot taken go on by gets instead of waiting forever',
  async (t) => {
    const { n, nc, jsm } = await setup(t)
    await ensureStreams(jsm, streamSpecs(n))
    // One slot: the first lane's long read takes it while the merge pulls the other lane, which
    // used to wait for the slot its own reader holds.
    const log = await createConversationLog(nc, n, { longReadAfter: 3, maxLongReads: 1 })
    let last = 0
    for (let i = 1; i <= 12; i++) {
      const r = await log.append(message(i), { expectLastSeq: last })
      if (r.ok) last = r.seq
      await log.append(receipt(last))
    }
    const read = async () => {
      const seqs: number[] = []
      for await (const e of log.read(C, 0, 1_000)) seqs.push(e.seq)
      return seqs
    }
    const bound = new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 10_000).unref())
    const got = await Promise.race([Promise.all([read(), read()]), bound])
    t.not(got, 'stuck', 'both reads finish')
    if (got !== 'stuck')
      for (const seqs of got)
        t.same(
          seqs,
          Array.from({ length: 24 }, (_, i) => i + 1),
        )
    t.equal(log.ranges.longReadsOpen(), 0)
  },
)

// nats-server answers a resend whose original is proposed but not yet stored (a leader change)
// with a duplicate of sequence 0, and keeps answering so if that proposal was lost. No test can
// make the server do it on cue: a responder on the subject (no stream holds it in this namespace)
// gives the acknowledgements, over the real connection, as the leader would.
t.test('a duplicate acknowledged with sequence 0 is an unconfirmed append, not a stored one', async (t) => {
  const { n, nc } = await setup(t)
  const leader = await connectNats(url, 'kit-log-test-leader', createLogger('test', 'silent'))
  t.teardown(() => leader.close())
  const acks = [
    { stream: 'conv-0', seq: 0, duplicate: true },
    { stream: 'conv-0', seq: 7, duplicate: true },
  ]
  leader.subscribe(n.convSubject(C, 'm'), {
    callback: (_err, m) => {
      m.respond(encodeJson(acks.shift()))
    },
  })
  await leader.flush()
  const log = await createConversationLog(nc, n)
  t.same(
    await log.append(message(1), { expectLastSeq: 0, msgId: 'x1' }),
    { ok: false, reason: 'unconfirmed-duplicate', uncertain: true },
    'no sequence to read the original at: whether it is stored is unknown',
  )
  t.same(
    await log.append(message(1), { expectLastSeq: 0, msgId: 'x1' }),
    { ok: true, seq: 7, duplicate: true, uncertain: false },
    'once stored, the duplicate names its sequence',
  )
})

t.test('an append retries while the stream has no leader, and succeeds once it has one', async (t) => {
  const { n, nc, jsm } = await setup(t)
  const log = await createConversationLog(nc, n, { deadlineMs: 10_000, attemptTimeoutMs: 500 })
  // No stream answers yet: NATS says "no responders", as while a stream's leader is elected.
  const pending = log.append(message(1), { expectLastSeq: 0, msgId: 'late' })
  await new Promise((r) => setTimeout(r, 300))
  await ensureStreams(jsm, streamSpecs(n))
  const r = await pending
  t.match(r, { ok: true, seq: 1, uncertain: true })
})

t.test(
  'an append that keeps failing ends UNAVAILABLE with a retry hint, not an internal error',
  async (t) => {
    const { n, nc } = await setup(t)
    const log = await createConversationLog(nc, n, { deadlineMs: 400, attemptTimeoutMs: 100 })
    await t.rejects(log.append(message(1)), { code: 'UNAVAILABLE', retryAfterMs: 1_000 })
  },
)

t.test('transient failures are told from the others', async (t) => {
  t.ok(isTransient(new TimeoutError()))
  t.ok(isTransient(new RequestError('x')))
  t.ok(
    isTransient(
      new JetStreamApiError({ code: 503, err_code: 10008, description: 'temporarily unavailable' }),
    ),
  )
  t.notOk(
    isTransient(new JetStreamApiError({ code: 400, err_code: 10071, description: 'wrong last sequence' })),
  )
  t.ok(isTransient(new Error('jetstream is not enabled')))
  t.notOk(isTransient(new Error('boom')))
  t.notOk(isTransient('string'))
  await t.rejects(
    withRetry('x', async () => Promise.reject(new Error('boom')), { deadlineMs: 1000 }),
    /boom/,
  )
  let calls = 0
  const retried: number[] = []
  const v = await withRetry(
    'x',
    async () => {
      if (++calls < 3) throw new TimeoutError()
      return 7
    },
    { deadlineMs: 5_000, firstPauseMs: 1, onRetry: (_e, a) => retried.push(a) },
  )
  t.equal(v, 7)
  t.same(retried, [0, 1])
})
