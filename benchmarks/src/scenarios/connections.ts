import type { NatsState } from '../core/cost.js'
import { sourceAddresses, splitCount } from '../core/plan.js'
import type { PhaseResult } from '../core/result.js'
import { ZERO_COUNTS } from '../core/sequence-checker.js'
import { fmtBytes, fmtInt } from '../report/format.js'
import { TokenMinter } from '../system/access-tokens.js'
import { gatewayNofile } from '../system/fd-limit.js'
import { readProc } from '../system/proc-stat.js'
import type { RunningService } from '../system/services.js'
import type { RunContext } from './context.js'

const zero = { count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
export const FRESH_GATEWAY = 'fresh gateway'

interface Settled {
  rssBytes: number
  /** V8 heap in use after a full GC (undefined when the gateway has no /debug/heap). */
  heapUsedBytes?: number
  gc: boolean
}

/**
 * The gateway's memory at rest: a full GC through its ops endpoint (garbage of the logins and
 * handshakes is not memory the connections hold), then its resident set once it stops moving
 * (two readings 0.5 s apart within 0.2 %, at most 10 s).
 */
const settle = async (svc: RunningService): Promise<Settled> => {
  let heapUsedBytes: number | undefined
  try {
    const r = await fetch(`http://127.0.0.1:${svc.opsPort}/debug/heap`, {
      signal: AbortSignal.timeout(30_000),
    })
    if (r.ok) heapUsedBytes = ((await r.json()) as { heapUsedBytes: number }).heapUsedBytes
  } catch {
    // no endpoint: the stability wait alone
  }
  const rss = () => readProc(svc.pid)?.rssBytes ?? 0
  let prev = rss()
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    await sleep(500)
    const now = rss()
    if (Math.abs(now - prev) <= prev * 0.002) break
    prev = now
  }
  return {
    rssBytes: rss(),
    ...(heapUsedBytes !== undefined ? { heapUsedBytes } : {}),
    gc: heapUsedBytes !== undefined,
  }
}

const perConn = (a: number, b: number, n: number) => (n > 0 ? Math.round((b - a) / n) : 0)

/**
 * Idle, authenticated, synced connections on a gateway started for this step: its resident
 * memory per connection over the first `--fresh-connections` (a fresh process: what a new
 * instance behind a load balancer pays), then the marginal cost of the rest on the now-warm
 * process, and what the nats-server holds per connection (a connection must create no
 * per-session NATS state: per user, one subscription to their membership notices; no consumer).
 * Devices carry minted tokens (system/access-tokens.ts): logging thousands of users in would
 * leave argon2 garbage in the process being measured.
 */
export const runConnections = async (ctx: RunContext): Promise<PhaseResult[]> => {
  const o = ctx.o
  const stack = ctx.stack
  if (!stack || o.gatewayUrl)
    throw new Error('connections measures a gateway it starts itself: run it without --gateway-url')
  const total = o.connections
  const fresh = Math.min(o.freshConnections, total)
  const users = Math.min(o.users, total)
  const addrs = sourceAddresses(o.sourceAddresses)
  const minter = new TokenMinter(stack.jwtKeyPem)
  const tokens = Array.from({ length: users }, (_, i) =>
    minter.mint({ userId: `u_${ctx.runTag}c${i}`, deviceId: `bench${i}`, sessionId: `s_${ctx.runTag}c${i}` }),
  )
  const gw = await stack.startExtra('gateway', FRESH_GATEWAY, { nofile: gatewayNofile(total) })
  const wsUrl = `ws://127.0.0.1:${gw.port}/v1/ws`
  const natsBefore = await ctx.cost.nats()
  const s0 = await settle(gw)
  ctx.bar.start(
    'connections',
    Math.max(5000, total * 2),
    () =>
      `${fmtInt(ctx.pool.progress().open)} open, gateway RSS ${fmtBytes(readProc(gw.pid)?.rssBytes ?? 0)}`,
  )
  // Connection k (over both rounds and all workers) is a device of user k mod users.
  let nextToken = 0
  const openRound = async (count: number): Promise<number> => {
    let opened = 0
    const replies = await ctx.pool.setup(
      splitCount(count, ctx.pool.size).map((connections) => {
        const tokenOffset = nextToken
        nextToken += connections
        return connections === 0
          ? undefined
          : { kind: 'idle' as const, wsUrl, tokens, tokenOffset, connections, localAddresses: addrs }
      }),
      900_000,
    )
    for (const r of replies) if (r.type === 'ready') opened += r.clients
    return opened
  }
  const t0 = performance.now()
  let firstRound = 0
  let secondRound = 0
  let s1: Settled
  let rssUngc = 0
  let n1: NatsState
  let closed: Awaited<ReturnType<typeof ctx.cost.close>>
  try {
    const w = await ctx.cost.open(0)
    firstRound = await openRound(fresh)
    closed = await ctx.cost.close(w, firstRound)
    // What the process holds right after, before any collection: garbage of the handshakes and
    // the heap's headroom included (the figure without a forced GC).
    rssUngc = readProc(gw.pid)?.rssBytes ?? 0
    s1 = await settle(gw)
    n1 = await ctx.cost.nats()
    if (total > fresh) secondRound = await openRound(total - fresh)
  } finally {
    ctx.bar.stop()
  }
  const opened = firstRound + secondRound
  const openSeconds = (performance.now() - t0) / 1000
  ctx.log(`${fmtInt(opened)} connections open in ${openSeconds.toFixed(1)} s; holding ${o.holdS} s`)
  await sleep(o.holdS * 1000)
  const s2 = await settle(gw)
  const natsAfter = await ctx.cost.nats()
  // Still open after the hold: the gateway must not shed idle, authenticated connections.
  const stillOpen = ctx.pool.progress().open
  const freshPer = perConn(s0.rssBytes, s1.rssBytes, firstRound)
  const warmPer = perConn(s1.rssBytes, s2.rssBytes, secondRound)
  const natsPer = perConn(natsBefore.rssBytes, n1.rssBytes, firstRound)
  const subs = (x: NatsState) => x.subscriptions ?? 0
  ctx.notes.push(
    `connections: fresh gateway RSS ${fmtBytes(s0.rssBytes)} → ${fmtBytes(s1.rssBytes)} → ${fmtBytes(s2.rssBytes)} for ${fmtInt(firstRound)} + ${fmtInt(secondRound)} connections of ${fmtInt(users)} users: ${fmtBytes(freshPer)} per connection on the fresh process, ${fmtBytes(warmPer)} marginal on the warm one; nats-server ${fmtBytes(natsPer)} per connection${natsBefore.subscriptions !== undefined ? `, ${fmtInt(subs(natsAfter) - subs(natsBefore))} subscriptions added` : ''}, ${natsAfter.consumers.namespace - natsBefore.consumers.namespace} consumers added`,
  )
  if (!s0.gc)
    ctx.notes.push(
      'connections: the gateway has no /debug/heap: memory read after an RSS stability wait only',
    )
  return [
    {
      name: `connections ${fmtInt(total)}`,
      offeredRate: 0,
      durationS: Math.round(openSeconds * 10) / 10,
      clients: opened,
      conversations: 0,
      sent: 0,
      stored: 0,
      delivered: 0,
      deliveredPerSecond: 0,
      sendErrors: {
        ...(opened < total ? { 'not opened': total - opened } : {}),
        ...(stillOpen < opened ? { 'closed during the hold': opened - stillOpen } : {}),
      },
      sendToSent: zero,
      sendToDelivered: zero,
      check: ZERO_COUNTS,
      timeline: [],
      cost: ctx.cost.result({
        unit: 'connection',
        window: `opening the first ${fmtInt(firstRound)} connections (upgrade, token check, hello, sync)`,
        closed,
        before: natsBefore,
        after: natsAfter,
      }),
      extra: {
        users,
        'connections opened': opened,
        'still open after the hold': stillOpen,
        'connections per second': Math.round(opened / Math.max(0.001, openSeconds)),
        'gateway RSS, fresh process at rest (bytes)': s0.rssBytes,
        [`gateway RSS after the first ${firstRound} (bytes)`]: s1.rssBytes,
        'gateway RSS after all (bytes)': s2.rssBytes,
        'gateway bytes per connection, fresh process': freshPer,
        'gateway bytes per connection, fresh process, before a GC': perConn(s0.rssBytes, rssUngc, firstRound),
        'gateway bytes per connection, marginal on the warm process': warmPer,
        ...(s0.heapUsedBytes !== undefined && s1.heapUsedBytes !== undefined
          ? {
              'gateway V8 heap bytes per connection, fresh process': perConn(
                s0.heapUsedBytes,
                s1.heapUsedBytes,
                firstRound,
              ),
            }
          : {}),
        'nats-server RSS before (bytes)': natsBefore.rssBytes,
        'nats-server RSS after (bytes)': natsAfter.rssBytes,
        'nats-server bytes per connection': natsPer,
        'nats-server consumers added': natsAfter.consumers.namespace - natsBefore.consumers.namespace,
        ...(natsBefore.subscriptions !== undefined
          ? {
              'nats-server subscriptions added': subs(natsAfter) - subs(natsBefore),
              'nats-server subscriptions added per connection': (
                (subs(natsAfter) - subs(natsBefore)) /
                Math.max(1, opened)
              ).toFixed(3),
            }
          : {}),
        'source addresses': addrs.length,
      },
    },
  ]
}
