import { jetstream } from '@nats-io/jetstream'
import pg from 'pg'
import t from 'tap'
import { eventually } from '../support/projector.js'
import { startPushStack } from '../support/push-stack.js'

/**
 * The push worker killed with SIGKILL (a real process) at the two points that matter: after it
 * took a burst's jobs and before it sent anything, and in the middle of a burst (two devices told
 * and recorded, a third request in flight). After a restart nothing is lost, and no device that
 * was told is told again; the request that was in flight when the worker died is repeated with
 * the same notification id and Topic, so the push service replaces it (what a browser shows once).
 */
t.setTimeout(120_000)
// A long window: the test kills the worker inside it.
const s = await startPushStack(t, { PUSH_COALESCE_MS: '1500' })
const db = new pg.Pool({ connectionString: s.tn.stack.databaseUrl, max: 1 })
t.teardown(() => db.end())
const schema = s.tn.names.dbSchemas.gateway

const alice = await s.device('alice', 'desk')
const people = await Promise.all(['bob', 'carol', 'dave'].map((n) => s.device(n, 'phone')))
const subs = []
for (const p of people) subs.push(await s.subscribe(p))
const [bob, carol, dave] = subs as [(typeof subs)[0], (typeof subs)[0], (typeof subs)[0]]
const desk = await alice.connect()
const created = await desk.request({
  type: 'group.create',
  title: 'Crash',
  memberIds: people.map((p) => p.userId),
})
if (created.type !== 'ok') throw new Error('group not created')
const G = created.conversationId!
let sent = 0
const send = async (text: string) => {
  const f = await desk.request({
    type: 'send',
    conversationId: G,
    clientMsgId: `cm_crash_${++sent}`,
    kind: 'text',
    text,
  })
  if (f.type !== 'sent') throw new Error('not sent')
  return f.seq
}
const mark = async (targetId: string) =>
  Number(
    (
      await db.query(`SELECT seq FROM "${schema}".push_marks WHERE target_id = $1 AND conversation_id = $2`, [
        targetId,
        G,
      ])
    ).rows[0]?.seq ?? 0,
  )

/**
 * Kills the worker while dave's push service holds his request, lets it answer again, restarts
 * the worker, and waits for dave's repeated notification and an empty queue.
 */
const killWhileDaveWaits = async (daveBefore: number, what: string) => {
  await s.worker.kill()
  s.push.behave(dave.sub.id, {})
  s.push.release()
  await s.restartWorker()
  await eventually(
    async () => s.push.of(dave.sub.id).length === daveBefore + 2,
    20_000,
    'dave’s notification after the restart',
  )
  await s.settled(what)
}

t.test('killed after taking a burst, before sending: after a restart each device gets it once', async (t) => {
  await send('one')
  await send('two')
  const last = await send('three')
  // The worker holds the jobs of the three messages (one to three: a job is a projector batch)
  // for its window; it dies inside it.
  await eventually(async () => await s.taken(G, last), 10_000, 'the burst taken')
  await s.worker.kill()
  t.equal(s.push.received.length, 0, 'nothing was sent before the kill')
  await s.restartWorker()
  await eventually(
    async () => [bob, carol, dave].every((x) => s.push.of(x.sub.id).length > 0),
    20_000,
    'every device told after the restart',
  )
  await s.settled('the redelivered burst')
  for (const x of [bob, carol, dave]) {
    const got = s.push.of(x.sub.id)
    t.equal(got.length, 1, 'exactly one notification')
    t.match(got[0]!.payload, { seq: last, count: 3 }, 'standing for the whole burst')
  }
})

t.test(
  'killed mid-burst: devices told are not told again, the one in flight is repeated under its Topic',
  async (t) => {
    const before = new Map([bob, carol, dave].map((x) => [x.sub.id, s.push.of(x.sub.id).length]))
    // dave's push service takes the request and does not answer before the worker dies.
    s.push.behave(dave.sub.id, { hold: true })
    await send('four')
    const last = await send('five')
    await eventually(
      async () =>
        (await mark(bob.target.id)) === last &&
        (await mark(carol.target.id)) === last &&
        s.push.of(dave.sub.id).length === before.get(dave.sub.id)! + 1,
      20_000,
      'bob and carol told and recorded, dave’s request in flight',
    )
    await killWhileDaveWaits(before.get(dave.sub.id)!, 'the redelivered burst')
    for (const x of [bob, carol]) {
      const got = s.push.of(x.sub.id).slice(before.get(x.sub.id)!)
      t.equal(got.length, 1, 'told and recorded before the kill: not told again')
      t.match(got[0]!.payload, { seq: last, count: 2 })
    }
    const daves = s.push.of(dave.sub.id).slice(before.get(dave.sub.id)!)
    t.equal(daves[0]!.payload.id, daves[1]!.payload.id, 'the repeat carries the same notification id')
    t.equal(daves[0]!.topic, daves[1]!.topic, 'and the same Topic')
    t.match(
      s.push.mailbox(dave.sub.id),
      [{ seq: last, count: 2 }],
      'the push service replaced the unanswered one: the browser shows one notification',
    )
    t.equal(await mark(dave.target.id), last)
  },
)

t.test(
  'a job of two conversations killed between their bursts: it comes back whole, and who was told is not told again',
  async (t) => {
    // A batch job as the projector writes one when two conversations' messages share a batch
    // (ADR 0193), published here so that it surely holds both: G's burst goes at once, G2's
    // request is held by dave's push service when the worker dies.
    const g2 = await desk.request({ type: 'group.create', title: 'Crash 2', memberIds: [people[2]!.userId] })
    if (g2.type !== 'ok') throw new Error('group not created')
    const G2 = g2.conversationId!
    const before = new Map([bob, carol, dave].map((x) => [x.sub.id, s.push.of(x.sub.id).length]))
    const item = (conversationId: string, seq: number, recipients: string[]) => ({
      type: 'message' as const,
      conversationId,
      conversationKind: 'group' as const,
      title: 'Crash',
      seq,
      firstSeq: seq - 1,
      count: 2,
      senderId: alice.userId,
      kind: 'text' as const,
      preview: `job item ${seq}`,
      recipients,
      part: 0,
      at: Date.now(),
      firstAt: Date.now(),
    })
    s.push.behave(dave.sub.id, { hold: true })
    const job = {
      v: 2,
      batch: 'push:0:99999:0',
      items: [item(G, 10_000, [people[0]!.userId]), item(G2, 10_001, [people[2]!.userId])],
    }
    await jetstream(s.tn.nc).publish(s.tn.names.pushJobSubject(G), JSON.stringify(job), { msgID: job.batch })
    await eventually(
      async () =>
        (await mark(bob.target.id)) === 10_000 &&
        s.push.of(dave.sub.id).length === before.get(dave.sub.id)! + 1,
      20_000,
      'bob told and recorded for G, dave’s request for G2 in flight',
    )
    await killWhileDaveWaits(before.get(dave.sub.id)!, 'the redelivered job')
    const bobs = s.push.of(bob.sub.id).slice(before.get(bob.sub.id)!)
    t.equal(bobs.length, 1, 'bob, told and recorded before the kill, is not told again')
    t.match(bobs[0]!.payload, { conversationId: G, seq: 10_000, count: 2 })
    const daves = s.push.of(dave.sub.id).slice(before.get(dave.sub.id)!)
    t.match(daves, [
      { payload: { conversationId: G2, seq: 10_001 } },
      { payload: { conversationId: G2, seq: 10_001 } },
    ])
    t.equal(daves[0]!.payload.id, daves[1]!.payload.id, 'the repeat carries the same notification id')
    t.same(s.push.of(carol.sub.id).slice(before.get(carol.sub.id)!), [], 'carol was in neither item')
  },
)
