import { createTestNamespace } from '@chatapp/infra'
import { connectNats, createConversationLog, createLogger, jetstreamManager } from '@chatapp/kit'
import type { NatsConnection } from '@nats-io/nats-core'
import t, { type Test } from 'tap'
import { createPresence, type Watcher } from '../../src/feed/presence.js'
import { createPresenceReader } from '../../src/feed/presence-query.js'
import { MISSED_REWRITES } from '../../src/feed/presence-roster.js'

// Presence held by the gateways (ADR 0174), over a real NATS: two gateways of one namespace,
// each with its own connection, as two processes would have.
const tn = await createTestNamespace()
t.teardown(tn.cleanup)
const log = createLogger('test', 'silent')
const REFRESH_MS = 150

const gateway = async (nc?: NatsConnection) => {
  const conn = nc ?? (await connectNats(tn.stack.natsUrl, 'presence-test', log))
  const { ranges } = await createConversationLog(conn, tn.names)
  const p = await createPresence(conn, tn.names, log, REFRESH_MS, ranges)
  return { nc: conn, p, ranges }
}

type Gateway = Awaited<ReturnType<typeof gateway>>

/** Gateways stopped cleanly when the test ends. */
const stopped = (t: Test, gs: Gateway[]) =>
  t.teardown(async () => {
    for (const g of gs) await g.p.close()
    for (const g of gs) await g.nc.close()
  })
const oneGateway = async (t: Test) => {
  const g = await gateway()
  stopped(t, [g])
  return g
}
const twoGateways = async (t: Test): Promise<[Gateway, Gateway]> => {
  const gs: [Gateway, Gateway] = [await gateway(), await gateway()]
  stopped(t, gs)
  return gs
}

/** A socket that records the presence frames it is sent. */
const watcher = () => {
  const frames: { userId: string; online: boolean; lastSeen: number | null }[] = []
  let wake = () => {}
  type Frame = (typeof frames)[number]
  const w: Watcher & { frames: Frame[]; until(f: (x: Frame) => boolean, ms?: number): Promise<Frame> } = {
    frames,
    sendRaw(text: string) {
      frames.push(JSON.parse(text))
      wake()
      return true
    },
    async until(f, ms = 5_000) {
      const deadline = Date.now() + ms
      for (;;) {
        const hit = frames.find(f)
        if (hit) return hit
        if (Date.now() > deadline) throw new Error(`no such frame within ${ms} ms: ${JSON.stringify(frames)}`)
        await new Promise<void>((r) => {
          wake = r
          setTimeout(r, deadline - Date.now()).unref()
        })
      }
    },
  }
  return w
}

const user = (i: number) => `u_pres${String(i).padStart(6, '0')}`

t.test('nothing per user is stored on NATS: the bucket holds one entry per gateway', async (t) => {
  const [g1, g2] = await twoGateways(t)
  for (let i = 0; i < 200; i++) (i % 2 ? g1 : g2).p.devices(user(i), [`dev${i}`])
  const reader = createPresenceReader(tn.nc, tn.names, g1.ranges, log)
  const online = await reader.devicesOnline([user(0), user(1), user(199), user(999)])
  t.same([...online.get(user(0))!], ['dev0'], 'a device on one gateway')
  t.same([...online.get(user(1))!], ['dev1'], 'a device on the other')
  t.same([...online.get(user(199))!], ['dev199'])
  t.same([...online.get(user(999))!], [], 'never connected: no device')
  const jsm = await jetstreamManager(tn.nc)
  const info = await jsm.streams.info(`KV_${tn.names.presenceBucket}`, { subjects_filter: '>' })
  t.equal(
    info.state.num_subjects,
    2,
    `subjects in the presence bucket: ${info.state.num_subjects}, for 200 users`,
  )
})

t.test('a watcher sees users come, move between gateways and leave, with lastSeen', async (t) => {
  const [g1, g2] = await twoGateways(t)
  const A = user(1000)
  const B = user(1001)
  g2.p.devices(A, ['phone'])
  const w = watcher()
  await g1.p.subscribe(w, [A, B])
  t.match(w.frames, [
    { userId: A, online: true },
    { userId: B, online: false, lastSeen: null },
  ])
  t.equal(w.frames.length, 2, 'one frame per user, the state after the query')

  const stillOn = w.frames.length
  g1.p.devices(A, ['laptop'])
  g2.p.devices(A, [])
  g2.p.devices(B, ['tab']) // after A's change from the same gateway, so A's has arrived too
  await w.until((f) => f.userId === B && f.online)
  t.notOk(
    w.frames.slice(stillOn).some((f) => f.userId === A),
    'A left one gateway while on another: no change to tell',
  )
  const before = Date.now()
  g1.p.devices(A, [])
  const off = await w.until((f) => f.userId === A && !f.online)
  t.ok(off.lastSeen! >= before, 'offline with the time A left the last gateway')

  // A watcher that subscribes later still learns when A was last seen (no TTL on it).
  const w2 = watcher()
  await g2.p.subscribe(w2, [A])
  t.match(w2.frames, [{ userId: A, online: false, lastSeen: off.lastSeen }])
})

t.test("a crashed gateway's users go offline for watchers when its roster rewrites stop", async (t) => {
  const g1 = await gateway()
  const g2 = await gateway()
  t.teardown(async () => {
    await g1.p.close()
    await g1.nc.close()
  })
  const C = user(2000)
  g2.p.devices(C, ['phone'])
  const w = watcher()
  await g1.p.subscribe(w, [C])
  t.match(w.frames, [{ userId: C, online: true }])
  const crashedAt = Date.now()
  await g2.nc.close() // no goodbye: its timer keeps running on a closed connection, writing nothing
  const closedAt = Date.now()
  const off = await w.until((f) => f.userId === C && !f.online, 20 * REFRESH_MS)
  const toldAt = Date.now()
  // A rewrite may still go out while the connection closes (the close flushes; under load it took
  // over 150 ms once), and the watcher's gateway stamps "alive" when its next roster read sees it:
  // so "last known alive" is at most about one read interval after the close (two, for a late
  // timer on a loaded machine), and well before the watcher was told.
  t.ok(
    off.lastSeen! >= crashedAt - MISSED_REWRITES * REFRESH_MS && off.lastSeen! <= closedAt + 2 * REFRESH_MS,
    `lastSeen is when the gateway was last known alive (${off.lastSeen! - crashedAt} ms from the crash, the close took ${closedAt - crashedAt} ms)`,
  )
  t.ok(toldAt - off.lastSeen! >= (MISSED_REWRITES - 1) * REFRESH_MS, 'not the time the watcher noticed')
  t.match(g1.p.stats(), { gatewaysGone: 1, gateways: 1 }, 'counted for operators')
  const reader = createPresenceReader(tn.nc, tn.names, g1.ranges, log)
  t.same([...(await reader.devicesOnline([C])).get(C)!], [], 'the push worker sees no device either')
  await g2.p.close()
})

t.test(
  'a change lost on the way is recovered: the next change shows the gap and the watcher asks again',
  async (t) => {
    const g1 = await gateway()
    // g2's changes reach g1 through a subscription that drops the first one for D.
    const raw = await connectNats(tn.stack.natsUrl, 'presence-lossy', log)
    let dropped = 0
    const lossy = new Proxy(raw, {
      get(target, prop, receiver) {
        if (prop !== 'subscribe') {
          const v = Reflect.get(target, prop, receiver)
          return typeof v === 'function' ? v.bind(target) : v
        }
        return (subject: string, opts: Parameters<NatsConnection['subscribe']>[1]) => {
          if (subject !== tn.names.presenceChangesSubject || !opts?.callback)
            return target.subscribe(subject, opts)
          const callback = opts.callback
          return target.subscribe(subject, {
            ...opts,
            callback: (err, m) => {
              if (!err && dropped === 0 && m.string().includes(user(3000))) {
                dropped++
                return
              }
              callback(err, m)
            },
          })
        }
      },
    })
    const watching = await gateway(lossy)
    t.teardown(async () => {
      await watching.p.close()
      await g1.p.close()
      await raw.close()
      await g1.nc.close()
    })
    const D = user(3000)
    const E = user(3001)
    const w = watcher()
    await watching.p.subscribe(w, [D, E])
    t.match(w.frames, [
      { userId: D, online: false },
      { userId: E, online: false },
    ])
    g1.p.devices(D, ['phone']) // lost on the way to the watching gateway
    g1.p.devices(E, ['phone']) // arrives, numbered one past the last it saw
    await w.until((f) => f.userId === E && f.online)
    await w.until((f) => f.userId === D && f.online)
    t.equal(dropped, 1, 'the change for D was dropped, and D was learned by asking again')
    t.equal(watching.p.stats().resyncs, 1, 'counted for operators')
  },
)

t.test('hostile input on the presence subjects is refused, and the gateway goes on answering', async (t) => {
  const g1 = await oneGateway(t)
  const F = user(4000)
  g1.p.devices(F, ['phone'])
  for (const junk of [
    '',
    'null',
    '{"users":"x"}',
    '{"users":["../../etc"]}',
    '\u0000\uffff',
    '{'.repeat(10_000),
  ]) {
    tn.nc.publish(tn.names.presenceQuerySubject, junk)
    tn.nc.publish(tn.names.presenceChangesSubject, junk)
    await tn.nc.request(tn.names.presenceQuerySubject, junk, { timeout: 200 }).catch(() => undefined)
  }
  tn.nc.publish(
    tn.names.presenceChangesSubject,
    JSON.stringify({ gateway: 'x'.repeat(100), seq: 1, userId: F, value: { online: false, lastSeen: 1 } }),
  )
  const reader = createPresenceReader(tn.nc, tn.names, g1.ranges, log)
  t.same([...(await reader.devicesOnline([F])).get(F)!], ['phone'])
})
