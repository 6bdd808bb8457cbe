import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ChatEvent } from '@chatapp/contracts'
import { storedByMsgId } from '@chatapp/infra'
import t from 'tap'
import { created, ev, U } from './support/events.js'
import { append, waitFor } from './support/log.js'
import { killHard, spawnProjector, spawnScript } from './support/projector-process.js'
import { viewsNamespace } from './support/views-namespace.js'

/**
 * Issue 11's crash windows on the reactor side (ADR 0150): a projector killed with SIGKILL after
 * the batch that wrote the effects committed and before they were published, or after JetStream
 * acknowledged them and before the outbox forgot them. After a restart every effect is stored on
 * its subject exactly once (counted by Msg-Id = effect id), and the live RePublish delivered it
 * exactly once.
 */
t.setTimeout(90_000)
const { tn, n, jsm, js, q, offsetOf } = await viewsNamespace(1)
const child = fileURLToPath(new URL('./support/effects-crash-child.mjs', import.meta.url))

/** Every live delivery of the user stream's subjects, by Msg-Id. */
const live = new Map<string, number>()
const sub = tn.nc.subscribe(`${n.ns}.live.user.>`, {
  callback: (_err, m) => {
    const id = m.headers?.get('Nats-Msg-Id') ?? '(none)'
    live.set(id, (live.get(id) ?? 0) + 1)
  },
})
t.teardown(() => sub.unsubscribe())
await tn.nc.flush()

const outbox = async () => (await q('SELECT id FROM V.effect_outbox ORDER BY id')).map((r) => r.id as string)

/** The child projector, stopped at `stage`; resolves once it printed each of `ids` there. */
const crashingProjector = async (stage: string, ids: string[]): Promise<ChildProcess> => {
  const proc = spawnScript(child, tn, { stage })
  t.teardown(() => killHard(proc))
  const reached = new Set<string>()
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the child never reached ${stage}: ${[...reached]}`)),
      30_000,
    )
    let out = ''
    proc.stdout!.on('data', (d) => {
      out += d
      for (const line of out.split('\n')) {
        const [at, id] = line.split(' ')
        if (at === stage && id) reached.add(id)
      }
      if (ids.every((id) => reached.has(id))) {
        clearTimeout(timer)
        resolve()
      }
    })
    proc.once('exit', (code) => reject(new Error(`the child exited with ${code}`)))
  })
  return proc
}

const effectsOfGroup = (conv: string, seq: number, members: string[], invited: string[]) => [
  ...members.map((u) => `${conv}:${seq}:${u}`),
  ...invited.map((u) => `${conv}:${seq}:${u}:invitation`),
]

const groupWith = (conv: string, invited: string[]): ChatEvent => ({
  ...created(conv),
  data: { ...created(conv).data, invited },
})

const restartAndDrain = async () => {
  const p = spawnProjector(tn.env)
  t.teardown(() => killHard(p))
  await waitFor(
    async () => (await outbox()).length === 0,
    20_000,
    'the restarted projector drained the outbox',
  )
  return p
}

t.test(
  'killed after the commit, before any publication: every effect is published once after a restart',
  async (t) => {
    const conv = 'c_crash0001'
    const c1 = await append(js, n, groupWith(conv, [U.dan]))
    const c2 = await append(js, n, ev('member.removed', conv, U.ann, { userId: U.cat }))
    const c3 = await append(js, n, ev('member.joined', conv, U.dan, { userId: U.dan }))
    const expected = [
      ...effectsOfGroup(conv, c1, [U.ann, U.bob, U.cat], [U.dan]),
      `${conv}:${c2}:${U.cat}`,
      `${conv}:${c3}:${U.dan}`,
      `${conv}:${c3}:${U.dan}:invitation`,
    ].sort()
    // The first round of publications hangs; every batch behind it commits regardless.
    const proc = await crashingProjector('before-publish', [`${conv}:${c1}:${U.ann}`])
    await waitFor(async () => (await offsetOf(0)) >= c3, 20_000, 'every event committed')
    await waitFor(
      async () => (await outbox()).length === expected.length,
      10_000,
      'every effect in the outbox',
    )
    t.same(await outbox(), expected, 'committed with the views, none published')
    await killHard(proc)
    t.equal((await storedByMsgId(jsm, n.userStream, `${n.ns}.user.>`)).size, 0, 'nothing was published')

    const p = await restartAndDrain()
    const stored = await storedByMsgId(jsm, n.userStream, `${n.ns}.user.>`)
    t.same([...stored.keys()].sort(), expected)
    t.ok(
      [...stored.values()].every((k) => k === 1),
      'each stored once',
    )
    await waitFor(async () => expected.every((id) => live.has(id)), 10_000, 'live deliveries')
    t.same(
      expected.map((id) => live.get(id)),
      expected.map(() => 1),
      'each delivered live once',
    )
    await killHard(p)
  },
)

t.test('killed after the PubAck, before the outbox forgot it: published again, stored once', async (t) => {
  const conv = 'c_crash0002'
  const before = await storedByMsgId(jsm, n.userStream, `${n.ns}.user.>`)
  // One event, so one batch and one round of publications, all acknowledged before the kill.
  const c1 = await append(js, n, groupWith(conv, [U.dan]))
  const expected = effectsOfGroup(conv, c1, [U.ann, U.bob, U.cat], [U.dan]).sort()
  const proc = await crashingProjector('before-delete', expected)
  await killHard(proc)
  t.same(await outbox(), expected, 'acknowledged, but still in the outbox')
  await restartAndDrain()
  const stored = await storedByMsgId(jsm, n.userStream, `${n.ns}.user.>`)
  t.equal(stored.size, before.size + expected.length)
  t.same(
    expected.map((id) => stored.get(id)),
    expected.map(() => 1),
    'the second publication was dropped by its Msg-Id',
  )
  await waitFor(async () => expected.every((id) => live.has(id)), 10_000, 'live deliveries')
  t.same(
    expected.map((id) => live.get(id)),
    expected.map(() => 1),
    'each delivered live once',
  )
})
