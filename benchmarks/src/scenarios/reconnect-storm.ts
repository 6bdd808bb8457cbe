import { lastSeq } from '@chatapp/domain'
import { jetstreamManager } from '@chatapp/kit'
import { mergeHistograms, newHistogram, recordUs, summarize } from '../core/latency.js'
import { sourceAddresses } from '../core/plan.js'
import { scrapeMetrics } from '../core/prometheus.js'
import type { PhaseResult } from '../core/result.js'
import type { StormDevice, StormWaveResult } from '../load/messages.js'
import { fmtBytes, fmtInt } from '../report/format.js'
import { LogSeeder, type SeededConversation } from '../seed/log-seeder.js'
import { TokenMinter } from '../system/access-tokens.js'
import { readProc } from '../system/proc-stat.js'
import { profileStep } from './chat-phase.js'
import type { RunContext } from './context.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const zero = { count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 }

/** The issue-12 targets this mode is judged by. */
export const STORM_TARGETS = {
  p99HelloToSyncedMs: 500,
  consumersAfter: 50,
  natsRssGrowthBytes: 200 * 1024 ** 2,
}

/**
 * Until every shard of the projector has nothing pending and its outbox is empty (the membership
 * notices of the user index are its effects, ADR 0150), twice in a row, and the user stream holds
 * every notice the seeded conversations make; or the bound passes. The gauges alone were not
 * enough: the outbox count is taken at a drain, so the last batch's notices could still be on
 * their way when both read 0, and the first device of the wave then synced without its newest
 * conversation (whose events came live after `synced`: the run counted them as missed).
 */
const waitProjector = async (
  opsPort: number,
  shards: number,
  boundMs: number,
  notices: () => Promise<boolean>,
): Promise<boolean> => {
  const deadline = Date.now() + boundMs
  let idle = 0
  while (Date.now() < deadline) {
    try {
      const m = await scrapeMetrics(opsPort)
      const lag = m.filter((s) => s.name === 'projector_lag_events')
      const outbox = m.filter((s) => s.name === 'projector_outbox_rows').reduce((a, s) => a + s.value, 0)
      idle = lag.length >= shards && lag.every((s) => s.value === 0) && outbox === 0 ? idle + 1 : 0
      if (idle >= 2 && (await notices())) return true
    } catch {
      idle = 0
    }
    await sleep(500)
  }
  return false
}

/**
 * Every 250 ms during a wave, one read shaped like the gateway's (the last event of a random
 * conversation, from the stream's leader) on the benchmark's own NATS connection: whether the
 * nats-server answers promptly while the gateway's reads queue tells where the time goes.
 */
const probeReads = (ctx: RunContext, convs: SeededConversation[]) => {
  const stack = ctx.stack!
  const h = newHistogram()
  let timeouts = 0
  let stopped = false
  /** Bytes the nats-server had queued for one client connection (/connz), at most, and whose. */
  let pending = { bytes: 0, name: '' }
  const enc = new TextEncoder()
  const connz = async () => {
    if (!ctx.nats?.monitorUrl) return
    try {
      const r = await fetch(`${ctx.nats.monitorUrl}/connz?limit=1024`, { signal: AbortSignal.timeout(2000) })
      const c = (await r.json()) as { connections?: { pending_bytes: number; name?: string }[] }
      for (const x of c.connections ?? [])
        if (x.pending_bytes > pending.bytes) pending = { bytes: x.pending_bytes, name: x.name ?? '' }
    } catch {
      // a missed sample
    }
  }
  const loop = (async () => {
    while (!stopped) {
      void connz()
      const c = convs[Math.floor(Math.random() * convs.length)]!
      const t0 = performance.now()
      try {
        await stack.nc.request(
          `$JS.API.STREAM.MSG.GET.${stack.names.convStream(stack.names.shardOf(c.id))}`,
          enc.encode(JSON.stringify({ last_by_subj: stack.names.convSubject(c.id, 'm') })),
          { timeout: 5000 },
        )
        recordUs(h, (performance.now() - t0) * 1000)
      } catch {
        timeouts++
      }
      await sleep(250)
    }
  })()
  return {
    stop: async () => {
      stopped = true
      await loop
      return { latency: summarize(h), timeouts, pending }
    },
  }
}

/** The gateway's count of UNAVAILABLE answers (a session it could not serve). */
const gatewayCounters = async (opsPort: number): Promise<{ unavailable: number }> => {
  try {
    const m = await scrapeMetrics(opsPort)
    return {
      unavailable: m
        .filter((s) => s.name === 'ws_errors_total' && s.labels.code === 'UNAVAILABLE')
        .reduce((a, s) => a + s.value, 0),
    }
  } catch {
    return { unavailable: 0 }
  }
}

/** Until the gateway holds no WebSocket connection (its `ws_connections` gauge), or the bound passes. */
const waitGatewayEmpty = async (opsPort: number, boundMs: number): Promise<boolean> => {
  const deadline = Date.now() + boundMs
  while (Date.now() < deadline) {
    try {
      const c = (await scrapeMetrics(opsPort)).find((s) => s.name === 'ws_connections')
      if (c && c.value === 0) return true
    } catch {
      // not answering this time
    }
    await sleep(250)
  }
  return false
}

/** The cursor a device holds when it missed the last `missed` messages of a conversation, and how many it must get. */
const cursorMissing = (c: SeededConversation, missed: number): { cursor: number; expected: number } => {
  const r = c.state.recent
  if (missed === 0) return { cursor: lastSeq(c.state), expected: 0 }
  if (missed < r.length) return { cursor: r[r.length - 1 - missed]![0], expected: missed }
  return { cursor: 0, expected: c.state.n }
}

/**
 * `reconnect --storm`: a log of `--events` events seeded in bulk (seed/log-seeder.ts) over the
 * direct conversations of `--sessions` users (`--conversations-per-user` each), then two waves in
 * which every user's device (re)connects within `--window` seconds, open loop, and syncs:
 *  1. first sync on a cold gateway (it has never seen these conversations: a new or restarted
 *     instance), each device having missed its conversations' last `--missed` messages;
 *  2. the reconnect: every device drops at once (no close handshake), each conversation gets
 *     `--missed` new messages meanwhile, and every device reconnects with the cursors it holds.
 * Each wave reports connect→hello, hello→synced, connect→synced, the messages the syncs brought
 * against those missed (all must arrive: a shortfall fails the run), the gateway's and the
 * nats-server's memory, the JetStream consumers during and after, and server CPU per session.
 */
export const runReconnectStorm = async (ctx: RunContext): Promise<PhaseResult[]> => {
  const o = ctx.o
  const stack = ctx.stack
  const gateway = stack?.services.gateway
  if (!stack || !gateway || o.gatewayUrl)
    throw new Error('the storm seeds and measures a system it starts itself: run it without --gateway-url')
  if (o.conversationsPerUser % 2 !== 0 || o.conversationsPerUser >= o.sessions)
    throw new Error('--conversations-per-user must be even and below --sessions')
  const users = Array.from({ length: o.sessions }, (_, i) => `u_${ctx.runTag}s${i}`)
  const natsEmpty = await ctx.cost.nats()

  // 1. The log, written in bulk the way the gateways would have written it.
  const seeder = new LogSeeder({
    nc: stack.nc,
    names: stack.names,
    userIds: users,
    conversationsPerUser: o.conversationsPerUser,
    events: o.events,
    textBytes: o.msgBytes,
    tag: ctx.runTag,
  })
  ctx.bar.start('seeding the log', Math.max(5000, o.events / 15), () => `${fmtInt(seeder.events)} events`)
  let seeded: Awaited<ReturnType<LogSeeder['seed']>>
  try {
    seeded = await seeder.seed()
  } finally {
    ctx.bar.stop()
  }
  const natsSeeded = await ctx.cost.nats()
  ctx.log(
    `seeded ${fmtInt(seeded.events)} events in ${fmtInt(seeded.conversations.length)} conversations in ${seeded.seconds.toFixed(1)} s (${fmtInt(seeded.events / seeded.seconds)} events/s; ${fmtInt(seeded.snapshots)} snapshots); nats-server RSS ${fmtBytes(natsEmpty.rssBytes)} → ${fmtBytes(natsSeeded.rssBytes)}`,
  )

  // 2. The projector, started after the seeding (so the seeding rate is the log's alone), catches
  // up and publishes its effects: the users' membership notices, which the gateway's sync reads.
  const projector = await stack.startExtra('projector', 'projector')
  const tp = performance.now()
  ctx.bar.start('projector catching up', Math.max(5000, o.events / 20), () => 'lag and outbox → 0')
  let caughtUp = false
  try {
    // Every seeded conversation is direct: one membership notice per member.
    const jsm = await jetstreamManager(stack.nc)
    const allNotices = async () =>
      (await jsm.streams.info(stack.names.userStream)).state.messages >= 2 * seeded.conversations.length
    caughtUp = await waitProjector(projector.opsPort, o.shards, Math.max(120_000, o.events / 2), allNotices)
  } finally {
    ctx.bar.stop()
  }
  const projectorS = (performance.now() - tp) / 1000
  ctx.log(`projector ${caughtUp ? 'caught up' : 'still behind'} after ${projectorS.toFixed(1)} s`)
  if (!caughtUp)
    ctx.notes.push(
      `storm: the projector had not caught up with the seeded log after ${projectorS.toFixed(0)} s; it kept projecting during the storm`,
    )

  // 3. The devices: one per user, each with a minted token and the cursors it holds.
  const minter = new TokenMinter(stack.jwtKeyPem)
  const convsOf = new Map<string, SeededConversation[]>()
  for (const c of seeded.conversations)
    for (const m of c.members) convsOf.set(m, [...(convsOf.get(m) ?? []), c])
  const windowMs = o.windowS * 1000
  const expected1: number[] = []
  // The devices that take part: all users', or `--devices` of them spread evenly over the ring.
  const k = o.devices > 0 ? Math.min(o.devices, users.length) : users.length
  const online = Array.from({ length: k }, (_, j) => users[Math.floor((j * users.length) / k)]!)
  const devices: StormDevice[] = online.map((userId, i) => {
    const cursors: Record<string, number> = {}
    let expected = 0
    for (const c of convsOf.get(userId) ?? []) {
      const x = cursorMissing(c, o.missed)
      cursors[c.id] = x.cursor
      expected += x.expected
    }
    expected1.push(expected)
    return {
      token: minter.mint({ userId, deviceId: 'storm', sessionId: `s_${ctx.runTag}${i}` }),
      cursors,
      offsetMs: (i * windowMs) / online.length,
    }
  })
  const workers = ctx.pool.size
  const addrs = sourceAddresses(o.sourceAddresses)
  const wsUrl = `ws://127.0.0.1:${gateway.port}/v1/ws`
  await ctx.pool.setup(
    Array.from({ length: workers }, (_, w) => {
      const mine = devices.filter((_, i) => i % workers === w)
      return mine.length === 0
        ? undefined
        : { kind: 'storm' as const, wsUrl, devices: mine, localAddresses: addrs }
    }),
    120_000,
  )
  const active = Array.from({ length: workers }, (_, w) => w < online.length)
  const timeoutMs = 120_000

  const wave = async (
    name: string,
    expected: number[],
    extra: PhaseResult['extra'],
  ): Promise<{ phase: PhaseResult; caught: number[] }> => {
    const before = await ctx.cost.nats()
    const watch = ctx.cost.watchNats()
    const gwBefore = readProc(gateway.pid)?.rssBytes ?? 0
    const countersBefore = await gatewayCounters(gateway.opsPort)
    const w = await ctx.cost.open(0)
    const startAt = Date.now() + 300
    ctx.bar.start(name, windowMs + 2000, () => {
      const p = ctx.pool.progress()
      return `${fmtInt(p.delivered)}/${fmtInt(online.length)} synced, ${fmtInt(p.errors)} failed`
    })
    let results: StormWaveResult[]
    const profiles = profileStep(ctx, name, windowMs + 1000)
    const probe = probeReads(ctx, seeded.conversations)
    try {
      results = await ctx.pool.stormWave({ startAt, timeoutMs }, active, windowMs + timeoutMs + 60_000)
      await profiles
    } finally {
      ctx.bar.stop()
    }
    const probed = await probe.stop()
    const synced = results.reduce((a, r) => a + r.synced, 0)
    const closed = await ctx.cost.close(w, synced)
    const after = await ctx.cost.nats()
    const peak = await watch.stop()
    const gwAfter = readProc(gateway.pid)?.rssBytes ?? 0
    const countersAfter = await gatewayCounters(gateway.opsPort)
    const counter = (k: keyof typeof countersAfter) => countersAfter[k] - countersBefore[k]
    const caught = online.map((_, i) => results[i % workers]?.caught[Math.floor(i / workers)] ?? -1)
    const got = caught.reduce((a, c) => a + Math.max(0, c), 0)
    const want = expected.reduce((a, e, i) => a + (caught[i]! >= 0 ? e : 0), 0)
    const short = caught.reduce((a, c, i) => a + (c >= 0 ? Math.max(0, expected[i]! - c) : 0), 0)
    const failures: Record<string, number> = {}
    for (const r of results)
      for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v
    const helloToSynced = summarize(mergeHistograms(results.map((r) => r.helloToSynced)))
    // From the first connect to the last synced (the whole window when none synced).
    const lastSynced = Math.max(0, ...results.map((r) => r.lastSyncedAt))
    const spanS = lastSynced > 0 ? (lastSynced - startAt) / 1000 : closed.seconds
    const growth = (peak?.rssBytes ?? after.rssBytes) - before.rssBytes
    const phase: PhaseResult = {
      name,
      offeredRate: Math.round(online.length / o.windowS),
      durationS: Math.round(spanS * 10) / 10,
      clients: online.length,
      conversations: seeded.conversations.length,
      sent: 0,
      stored: 0,
      delivered: got,
      deliveredPerSecond: Math.round(synced / Math.max(0.001, spanS)),
      sendErrors: Object.fromEntries(Object.entries(failures).map(([k, v]) => [`session failed: ${k}`, v])),
      errorsFail: true,
      sendToSent: zero,
      sendToDelivered: zero,
      check: { received: got, duplicated: 0, outOfOrder: 0, lost: short },
      timeline: [],
      cost: ctx.cost.result({
        unit: 'session',
        window: 'the wave, from its first connect to its last synced',
        closed,
        before,
        after,
        peak,
      }),
      extra: {
        'hello→synced': helloToSynced,
        'connect→hello': summarize(mergeHistograms(results.map((r) => r.connectToHello))),
        'connect→synced': summarize(mergeHistograms(results.map((r) => r.connectToSynced))),
        // The same kind of read, on another connection: the nats-server's own answer time.
        'probe: a leader get on the bench’s connection': probed.latency,
        'probe: leader gets timed out (5 s)': probed.timeouts,
        'nats-server: most bytes queued for one client (bytes)': probed.pending.bytes,
        'nats-server: the client they were queued for': probed.pending.name || '-',
        'sessions synced': synced,
        'messages the syncs brought': got,
        'messages missed (expected)': want,
        'redelivered (de-duplicated by seq)': results.reduce((a, r) => a + r.redelivered, 0),
        // Sessions the gateway gave up on (a read that kept timing out): UNAVAILABLE, then closed.
        'gateway UNAVAILABLE errors sent (ws_errors_total)': counter('unavailable'),
        'gateway RSS before (bytes)': gwBefore,
        'gateway RSS after (bytes)': gwAfter,
        'nats-server RSS before (bytes)': before.rssBytes,
        'nats-server RSS after (bytes)': after.rssBytes,
        'nats-server RSS growth, peak − before (bytes)': growth,
        'JetStream consumers after (namespace)': after.consumers.namespace,
        'JetStream consumers after (server)': after.consumers.server,
        'JetStream consumers, peak (server)': peak?.serverConsumers ?? after.consumers.server,
        ...extra,
      },
    }
    const verdicts = [
      helloToSynced.count > 0
        ? `p99 hello→synced ${helloToSynced.p99} ms (target ≤ ${STORM_TARGETS.p99HelloToSyncedMs})`
        : `no session synced (target: p99 hello→synced ≤ ${STORM_TARGETS.p99HelloToSyncedMs} ms)`,
      `JetStream consumers after ${after.consumers.server} server-wide (target ≤ ${STORM_TARGETS.consumersAfter})`,
      `nats-server RSS growth ${fmtBytes(growth)} (target ≤ ${fmtBytes(STORM_TARGETS.natsRssGrowthBytes)})`,
    ]
    ctx.notes.push(
      `${name}: ${synced} of ${online.length} sessions synced${synced > 0 ? ` within ${spanS.toFixed(1)} s` : ''}; ${verdicts.join('; ')}`,
    )
    // A device that synced with fewer messages than it missed: name it and what it was told, so a
    // shortfall can be chased (its next sync from those cursors gets the rest: nothing is lost
    // from the log, but `synced` came early).
    const shortDevices = caught.flatMap((c, i) => (c >= 0 && c < expected[i]! ? [i] : [])).slice(0, 5)
    for (const i of shortDevices) {
      const d = results[i % workers]?.perConversation[Math.floor(i / workers)]
      const heads = Object.fromEntries((convsOf.get(online[i]!) ?? []).map((c) => [c.id, lastSeq(c.state)]))
      ctx.notes.push(
        `${name}: device ${i} (${online[i]}) got ${caught[i]} of ${expected[i]} messages: per conversation ${JSON.stringify(d?.caught)}, synced cursors ${JSON.stringify(d?.synced)}, heads ${JSON.stringify(heads)}`,
      )
    }
    return { phase, caught }
  }

  // 4. Wave 1: a cold gateway.
  const seedExtra = {
    'events seeded': seeded.events,
    'seeding seconds': Math.round(seeded.seconds * 10) / 10,
    'seeding events per second': Math.round(seeded.events / seeded.seconds),
    'nats-server RSS before seeding (bytes)': natsEmpty.rssBytes,
    'nats-server RSS after seeding (bytes)': natsSeeded.rssBytes,
    'projector catch-up seconds': Math.round(projectorS * 10) / 10,
  }
  const cold = await wave('storm: first sync, cold gateway', expected1, seedExtra)

  // 5. Every device loses its network; the conversations go on without them.
  await ctx.pool.stormDrop(active)
  if (!(await waitGatewayEmpty(gateway.opsPort, 60_000)))
    ctx.notes.push('storm: the gateway still counted connections 60 s after every device dropped')
  const added = await seeder.addMessages(seeded.conversations, o.missed)
  ctx.log(`${fmtInt(added)} messages appended while the devices were away`)
  // A device that did not sync in wave 1 still holds its old cursors: it must get both waves' messages.
  const expected2 = online.map(
    (u, i) => (cold.caught[i]! < 0 ? expected1[i]! : 0) + (convsOf.get(u)?.length ?? 0) * o.missed,
  )

  // 6. Wave 2: the reconnect.
  const warm = await wave('storm: reconnect', expected2, { 'messages appended while away': added })
  return [cold.phase, warm.phase]
}
