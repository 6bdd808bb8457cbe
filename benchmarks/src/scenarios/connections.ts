import { sourceAddresses, splitCount, username } from '../core/plan.js'
import type { PhaseResult } from '../core/result.js'
import { ZERO_COUNTS } from '../core/sequence-checker.js'
import { mapLimit, registerAndLogin } from '../load/accounts.js'
import { fmtBytes, fmtInt } from '../report/format.js'
import type { RunContext } from './context.js'

const zero = { count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * C idle, authenticated, synced connections: the gateway's resident memory per connection is
 * (RSS after − RSS before) / C. Users are few and share their tokens over many connections, since
 * logging in is deliberately slow; the connections are what is measured.
 */
export const runConnections = async (ctx: RunContext): Promise<PhaseResult[]> => {
  const o = ctx.o
  const users = Math.min(o.users, o.connections)
  const addrs = sourceAddresses(o.sourceAddresses)
  // Users log in first, so the slow password hashing (and its memory) is behind the baseline.
  ctx.bar.start('logins', Math.max(5000, users * 250), () => `${fmtInt(users)} users`)
  let tokens: string[]
  try {
    tokens = await mapLimit(
      Array.from({ length: users }, (_, i) => i),
      8,
      async (i) =>
        (
          await registerAndLogin(
            ctx.httpUrl,
            { username: username(`${ctx.runTag}c`, i), password: `pw-${ctx.runTag}-${i}` },
            `bench${i}`,
          )
        ).accessToken,
    )
  } finally {
    ctx.bar.stop()
  }
  await sleep(1000)
  const rssBefore = ctx.sampler.rssNow('gateway')
  // Two rounds of C/2: the second round's growth per connection is the marginal cost, free of
  // what the first connections warm up (allocator arenas, heap reuse of garbage from the logins).
  const half = Math.floor(o.connections / 2)
  const t0 = performance.now()
  ctx.bar.start(
    'connections',
    Math.max(5000, o.connections * 2),
    () => `${fmtInt(ctx.pool.progress().open)} open, gateway RSS ${fmtBytes(ctx.sampler.rssNow('gateway'))}`,
  )
  const openRound = async (count: number): Promise<number> => {
    let opened = 0
    const replies = await ctx.pool.setup(
      splitCount(count, ctx.pool.size).map((connections) =>
        connections === 0
          ? undefined
          : { kind: 'idle' as const, wsUrl: ctx.wsUrl, tokens, connections, localAddresses: addrs },
      ),
      900_000,
    )
    for (const r of replies) if (r.type === 'ready') opened += r.clients
    return opened
  }
  let opened = 0
  let rssHalf = 0
  let firstRound = 0
  try {
    firstRound = await openRound(half)
    await sleep(2000)
    rssHalf = ctx.sampler.rssNow('gateway')
    opened = firstRound + (await openRound(o.connections - half))
  } finally {
    ctx.bar.stop()
  }
  const openSeconds = (performance.now() - t0) / 1000
  ctx.log(`${fmtInt(opened)} connections open in ${openSeconds.toFixed(1)} s; holding ${o.holdS} s`)
  await sleep(o.holdS * 1000 + 500)
  const rssAfter = ctx.sampler.rssNow('gateway')
  // Still open after the hold: the gateway must not shed idle, authenticated connections.
  const stillOpen = ctx.pool.progress().open
  const perConn = opened > 0 ? (rssAfter - rssBefore) / opened : 0
  const secondRound = opened - firstRound
  const marginal = secondRound > 0 ? (rssAfter - rssHalf) / secondRound : 0
  ctx.notes.push(
    `connections: gateway RSS ${fmtBytes(rssBefore)} → ${fmtBytes(rssHalf)} → ${fmtBytes(rssAfter)} for ${fmtInt(firstRound)} + ${fmtInt(secondRound)} connections: ${fmtBytes(marginal)} per connection in the second round, ${fmtBytes(perConn)} on average`,
  )
  return [
    {
      name: `connections ${fmtInt(o.connections)}`,
      offeredRate: 0,
      durationS: Math.round(openSeconds * 10) / 10,
      clients: opened,
      conversations: 0,
      sent: 0,
      stored: 0,
      delivered: 0,
      deliveredPerSecond: 0,
      sendErrors: {
        ...(opened < o.connections ? { 'not opened': o.connections - opened } : {}),
        ...(stillOpen < opened ? { 'closed during the hold': opened - stillOpen } : {}),
      },
      sendToSent: zero,
      sendToDelivered: zero,
      check: ZERO_COUNTS,
      timeline: [],
      extra: {
        'connections opened': opened,
        'still open after the hold': stillOpen,
        'connections per second': Math.round(opened / Math.max(0.001, openSeconds)),
        'gateway RSS before (bytes)': rssBefore,
        'gateway RSS after (bytes)': rssAfter,
        'gateway RSS at half (bytes)': rssHalf,
        'gateway bytes per connection (average)': Math.round(perConn),
        'gateway bytes per connection (second half)': Math.round(marginal),
        'source addresses': addrs.length,
      },
    },
  ]
}
