import type { TestNamespace } from '@chatapp/infra'
import { type ConversationLog, createConversationLog, createLogger } from '@chatapp/kit'
import { Kvm } from '@nats-io/kv'
import t, { type Test } from 'tap'
import { createStateStore } from '../../src/conversation/state-store.js'
import { createFeed } from '../../src/feed/feed.js'
import { UserConversations } from '../../src/feed/user-index.js'
import { Connection } from '../../src/session/connection.js'
import { runSync } from '../../src/session/sync.js'
import { TokenBucket } from '../../src/session/token-bucket.js'
import type { Socket } from '../../src/transport/socket.js'
import { directWriter } from '../support/direct-writer.js'
import { parseFrame } from '../support/test-subscriber.js'

const A = 'u_aaaaaaaa'
const B = 'u_bbbbbbbb'

/** The log as a gateway reads it, counting what it asks the log for: events read and last-sequence gets. */
const counting = (log: ConversationLog) => {
  const n = { events: 0, lastSeq: 0 }
  const wrapped: ConversationLog = {
    ...log,
    lastSeq: (id, lane) => {
      n.lastSeq++
      return log.lastSeq(id, lane)
    },
    async *read(id, after, upTo, lane) {
      for await (const e of log.read(id, after, upTo, lane)) {
        n.events++
        yield e
      }
    },
  }
  return { log: wrapped, n }
}

/** A connection of `userId` whose socket records the frames it is sent. */
const connection = (userId: string) => {
  const frames: { type: string; seq?: number; conversationId?: string; cursors?: Record<string, number> }[] =
    []
  const socket: Socket = {
    closed: false,
    send: (text) => {
      // A room's fan-out hands every socket the same encoded bytes (delivery.ts).
      frames.push(parseFrame(text))
      return true
    },
    close: () => {},
  }
  const conn = new Connection(socket, 1, new TokenBucket(1000, 1000, Date.now()))
  conn.principal = { userId, deviceId: 'phone', sessionId: 's_sync_reads', expiresAt: Date.now() + 60_000 }
  return { conn, frames }
}

/**
 * The gateway under test: its own log (reads counted), state store and feed on `tn`; B's user
 * index as it would give `d` (the projector is not running here).
 */
const gatewayUnderTest = async (t: Test, tn: TestNamespace, d: string, tailEvents?: number) => {
  const { log, n } = counting(await createConversationLog(tn.nc, tn.names))
  const store = await createStateStore(tn.nc, tn.names, log)
  const feed = createFeed({
    nc: tn.nc,
    names: tn.names,
    log,
    store,
    logger: createLogger('t', 'silent'),
    ...(tailEvents !== undefined ? { tailEvents } : {}),
  })
  t.teardown(() => feed.close())
  const deps = {
    feed: { ...feed, conversationsOf: async () => new UserConversations([[d, 1]]) },
    store,
    defaultTail: 50,
  }
  return { n, feed, deps }
}

t.test(
  'a reconnecting device is caught up from what the sync just folded: each missed event is read from the log once, and the room it opens reads the log end once',
  async (t) => {
    // Another gateway writes: this one learns of the new messages only from the log.
    const { tn, runner, d, log: writer } = await directWriter(t, A, B)
    const send = (i: number) =>
      runner.run(d, {
        type: 'send',
        actor: A,
        deviceId: 'dev',
        clientMsgId: `cm_sync_reads_${i}`,
        kind: 'text',
        text: `m${i}`,
      })
    for (let i = 0; i < 3; i++) await send(i)

    // B's conversations as the user index would give them (the projector is not running here).
    const { n, feed, deps } = await gatewayUnderTest(t, tn, d)

    // First connection: B syncs from the start, then drops (its room closes).
    const first = connection(B)
    await feed.addConnection(first.conn)
    await runSync(deps, first.conn, { type: 'sync', cursors: { [d]: 0 } })
    const cursor = first.frames.find((f) => f.type === 'synced')!.cursors![d]!
    feed.removeConnection(first.conn)
    t.equal(feed.stats().rooms, 0, 'the room closed with its last device')

    // Five messages while B is away.
    for (let i = 3; i < 8; i++) await send(i)
    const head = await writer.lastSeq(d, 'm')

    const again = connection(B)
    await feed.addConnection(again.conn)
    n.events = 0
    n.lastSeq = 0
    await runSync(deps, again.conn, { type: 'sync', cursors: { [d]: cursor } })
    const events = again.frames.filter((f) => f.type === 'event').map((f) => f.seq!)
    t.equal(events.length, 5, 'the five missed messages')
    t.same(
      events,
      [...events].sort((x, y) => x - y),
      'in order',
    )
    t.ok(events.every((s) => s > cursor))
    t.equal(again.frames.find((f) => f.type === 'synced')?.cursors?.[d], head, 'synced at the head')
    t.equal(n.events, 5, 'each missed event read from the log once (the fold), not again by the catch-up')
    t.equal(
      n.lastSeq,
      4,
      "the log's end read by the sync's refresh and the new room's, not again by the catch-up",
    )

    // The other member's device, away as long, reconnects while the room is open: the events come
    // from the room's tail, none from the log.
    const peer = connection(A)
    await feed.addConnection(peer.conn)
    n.events = 0
    n.lastSeq = 0
    await runSync(deps, peer.conn, { type: 'sync', cursors: { [d]: cursor } })
    t.same(
      peer.frames.filter((f) => f.type === 'event').map((f) => f.seq!),
      events,
      'the same five messages, in order',
    )
    t.equal(peer.frames.find((f) => f.type === 'synced')?.cursors?.[d], head)
    t.equal(n.events, 0, "no event read from the log: the room's tail has them")
    feed.removeConnection(again.conn)
    feed.removeConnection(peer.conn)
    t.equal(feed.stats().rooms, 0)
  },
)

t.test(
  "a room's tail is bounded for the whole gateway and exact: a catch-up past what it keeps reads the rest from the log",
  async (t) => {
    const { tn, runner, d } = await directWriter(t, A, B)
    // Three events at most in every room's tail.
    const { n, feed, deps } = await gatewayUnderTest(t, tn, d, 3)
    // B's device keeps the room open and receives every message live.
    const live = connection(B)
    await feed.addConnection(live.conn)
    await runSync(deps, live.conn, { type: 'sync', cursors: { [d]: 0 } })
    const cursor = live.frames.find((f) => f.type === 'synced')!.cursors![d]!
    const seqs: number[] = []
    for (let i = 0; i < 8; i++) {
      const r = await runner.run(d, {
        type: 'send',
        actor: A,
        deviceId: 'dev',
        clientMsgId: `cm_tail_${i}`,
        kind: 'text',
        text: `t${i}`,
      })
      if (r.ok && r.seq !== undefined) seqs.push(r.seq)
    }
    const end = Date.now() + 5000
    while (live.frames.filter((f) => f.type === 'event' && f.seq! > cursor).length < 8) {
      if (Date.now() > end) throw new Error('live events did not arrive')
      await new Promise((r) => setImmediate(r))
    }
    // B's other device was away for all eight: five from the log, the last three from the tail.
    const other = connection(B)
    await feed.addConnection(other.conn)
    n.events = 0
    await runSync(deps, other.conn, { type: 'sync', cursors: { [d]: cursor } })
    t.same(
      other.frames.filter((f) => f.type === 'event').map((f) => f.seq!),
      seqs,
      'all eight, in order, once',
    )
    t.equal(n.events, 5, 'what the tail no longer holds came from the log')
  },
)

t.test(
  'on a cold gateway (after a restart) a device further behind than the last snapshot reads each event it missed once: before the snapshot by the catch-up, after it by the load',
  async (t) => {
    // A snapshot every 10 events, so the load of a cold gateway starts past the device's cursor.
    const { tn, runner, d } = await directWriter(t, A, B, { snapshotEvery: 10 })
    const seqs: number[] = []
    for (let i = 0; i < 25; i++) {
      const r = await runner.run(d, {
        type: 'send',
        actor: A,
        deviceId: 'dev',
        clientMsgId: `cm_cold_${i}`,
        kind: 'text',
        text: `m${i}`,
      })
      if (r.ok && r.seq !== undefined) seqs.push(r.seq)
    }
    t.equal(seqs.length, 25)
    const kv = await new Kvm(tn.nc).open(tn.names.convStateBucket)
    const end = Date.now() + 5000
    // Snapshots are written in the background: wait for the one after the 20th event.
    for (;;) {
      const snap = await kv.get(d)
      if (snap && snap.revision >= 2) break
      if (Date.now() > end) throw new Error('no snapshot in time')
      await new Promise((r) => setImmediate(r))
    }
    const cursor = seqs[4]! // behind the snapshots: 20 messages missed

    const { n, feed, deps } = await gatewayUnderTest(t, tn, d)
    const device = connection(B)
    await feed.addConnection(device.conn)
    await runSync(deps, device.conn, { type: 'sync', cursors: { [d]: cursor } })
    const events = device.frames.filter((f) => f.type === 'event').map((f) => f.seq!)
    t.same(events, seqs.slice(5), 'the 20 missed messages, in order, once each')
    t.equal(
      n.events,
      events.length,
      'every event read from the log once: none by both the load and the catch-up',
    )
    t.equal(n.lastSeq, 4, "the log's end read by the load and the new room's refresh only")
    feed.removeConnection(device.conn)
  },
)
