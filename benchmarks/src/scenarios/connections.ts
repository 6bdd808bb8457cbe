import { sourceAddresses, splitCount, username } from '../core/plan.js'
import type { PhaseResult } from '../core/result.js'
import { ZERO_COUNTS } from '../core/sequence-checker.js'
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
  const perWorkerConns = splitCount(o.connections, ctx.pool.size)
  const perWorkerUsers = splitCount(users, ctx.pool.size)
  let next = 0
  const addrs = sourceAddresses(o.sourceAddresses)
  const rssBefore = ctx.sampler.rssNow('gateway')
  const t0 = performance.now()
  ctx.bar.start(
    'connections',
    Math.max(5000, o.connections * 2),
    () => `gateway RSS ${fmtBytes(ctx.sampler.rssNow('gateway'))}`,
  )
  let opened = 0
  try {
    const replies = await ctx.pool.setup(
      perWorkerConns.map((connections, w) => {
        const us = Array.from({ length: Math.max(1, perWorkerUsers[w]!) }, () => {
          const index = next++
          return { index, username: username(`${ctx.runTag}c`, index), password: `pw-${ctx.runTag}-${index}` }
        })
        return connections === 0
          ? undefined
          : {
              kind: 'idle' as const,
              httpUrl: ctx.httpUrl,
              wsUrl: ctx.wsUrl,
              users: us,
              connections,
              localAddresses: addrs,
            }
      }),
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
