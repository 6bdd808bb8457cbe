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
  const perWorkerConns = splitCount(o.connections, ctx.pool.size)
  const t0 = performance.now()
  ctx.bar.start(
    'connections',
    Math.max(5000, o.connections * 2),
    () => `gateway RSS ${fmtBytes(ctx.sampler.rssNow('gateway'))}`,
  )
  let opened = 0
  try {
    const replies = await ctx.pool.setup(
      perWorkerConns.map((connections) =>
        connections === 0
          ? undefined
          : { kind: 'idle' as const, wsUrl: ctx.wsUrl, tokens, connections, localAddresses: addrs },
      ),
      900_000,
    )
    for (const r of replies) if (r.type === 'ready') opened += r.clients
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
  ctx.notes.push(
    `connections: gateway RSS ${fmtBytes(rssBefore)} → ${fmtBytes(rssAfter)} for ${fmtInt(opened)} connections = ${fmtBytes(perConn)} per connection`,
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
        'gateway bytes per connection': Math.round(perConn),
        'source addresses': addrs.length,
      },
    },
  ]
}
