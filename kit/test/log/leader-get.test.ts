import { jetstream } from '@nats-io/jetstream'
import { headers } from '@nats-io/nats-core'
import t from 'tap'
import { createJsRequests } from '../../src/log/js-requests.js'
import { createLogger } from '../../src/logger.js'
import { connectNats, jetstreamManager } from '../../src/nats.js'

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const uniq = () => `lg${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`

t.test(
  'leader gets: by sequence, last and next by subject, headers, and null when nothing matches',
  async (t) => {
    const nc = await connectNats(url, 'kit-leader-get', createLogger('test', 'silent'))
    const jsm = await jetstreamManager(nc)
    const name = uniq()
    t.teardown(async () => {
      await jsm.streams.delete(name).catch(() => {})
      await nc.close()
    })
    await jsm.streams.add({ name, subjects: [`${name}.>`], allow_direct: true })
    const js = jetstream(nc)
    const h = headers()
    h.set('Nats-Msg-Id', 'first')
    h.set('Chatapp-Test', 'a: b')
    await js.publish(`${name}.a`, 'one', { headers: h })
    await js.publish(`${name}.b`, 'two')
    await js.publish(`${name}.a`, new Uint8Array([0, 255, 10]))
    const req = createJsRequests(nc)

    const one = await req.leaderGet(name, { seq: 1 }, 2000)
    t.equal(one?.seq, 1)
    t.equal(one?.subject, `${name}.a`)
    t.equal(new TextDecoder().decode(one?.data), 'one')
    t.equal(one?.header('Nats-Msg-Id'), 'first')
    t.equal(one?.header('chatapp-test'), 'a: b', 'names are case-insensitive, values keep their colons')
    t.equal((await req.leaderGet(name, { last_by_subj: `${name}.a` }, 2000))?.seq, 3)
    const next = await req.leaderGet(name, { seq: 2, next_by_subj: `${name}.a` }, 2000)
    t.equal(next?.seq, 3)
    t.same([...(next?.data ?? [])], [0, 255, 10], 'binary payloads survive')
    t.equal(next?.header('Nats-Msg-Id'), undefined)
    t.equal(await req.leaderGet(name, { seq: 4, next_by_subj: `${name}.a` }, 2000), null)
    t.equal(await req.leaderGet(name, { last_by_subj: `${name}.zzz` }, 2000), null)
    await t.rejects(req.leaderGet(`${name}-missing`, { seq: 1 }, 2000), 'a missing stream is an error')
  },
)

// What a direct get risks and a leader get does not: another copy of the stream answering. A
// mirror with `mirror_direct` answers the origin's direct gets from its own copy — here one that
// still holds a message the origin no longer has, like a replica that diverged from its leader.
t.test('a direct get may be answered by another copy of the stream; a leader get never is', async (t) => {
  const nc = await connectNats(url, 'kit-leader-get', createLogger('test', 'silent'))
  const jsm = await jetstreamManager(nc)
  const origin = uniq()
  const mirror = `${origin}-m`
  t.teardown(async () => {
    await jsm.streams.delete(mirror).catch(() => {})
    await jsm.streams.delete(origin).catch(() => {})
    await nc.close()
  })
  await jsm.streams.add({ name: origin, subjects: [`${origin}.>`], allow_direct: true })
  await jsm.streams.add({ name: mirror, mirror: { name: origin }, mirror_direct: true, allow_direct: true })
  const js = jetstream(nc)
  await js.publish(`${origin}.a`, 'ghost')
  // The mirror has it before the origin forgets it (mirrors do not follow purges).
  for (let i = 0; (await jsm.streams.info(mirror)).state.messages < 1; i++) {
    if (i > 200) throw new Error('the mirror did not catch up')
    await new Promise((r) => setTimeout(r, 25))
  }
  await jsm.streams.purge(origin)
  const req = createJsRequests(nc)
  let fromTheCopy = 0
  for (let i = 0; i < 40; i++) {
    const d = await req.directGet(origin, { last_by_subj: `${origin}.a` }, 2000)
    if (d) fromTheCopy++
    t.equal(await req.leaderGet(origin, { last_by_subj: `${origin}.a` }, 2000), null)
  }
  t.ok(fromTheCopy > 0, `direct gets answered from the copy ${fromTheCopy} times of 40`)
})
