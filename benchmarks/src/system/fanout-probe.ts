import { type PromSample, scrapeMetrics } from '../core/prometheus.js'
import type { RunContext } from '../scenarios/context.js'

/** Cumulative bucket counts of `live_fanout_seconds` by `devices` class, then by bound `le`. */
type Buckets = Map<string, Map<number, number>>

const bucketsOf = (samples: PromSample[]): Buckets => {
  const out: Buckets = new Map()
  for (const s of samples) {
    if (s.name !== 'live_fanout_seconds_bucket') continue
    const cls = s.labels.devices ?? ''
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le)
    if (!out.has(cls)) out.set(cls, new Map())
    out.get(cls)!.set(le, s.value)
  }
  return out
}

/** A gateway that does not answer adds nothing (the figure is an aside to the step's). */
const scrape = (opsPort: number): Promise<Buckets> => scrapeMetrics(opsPort).then(bucketsOf, () => new Map())

/** The bucket bound below which a share `p` of the observations fell (Infinity past the last bound). */
export const bucketBound = (cumulative: ReadonlyMap<number, number>, p: number): number => {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b)
  const total = cumulative.get(Number.POSITIVE_INFINITY) ?? 0
  for (const b of bounds) if ((cumulative.get(b) ?? 0) >= p * total) return b
  return Number.POSITIVE_INFINITY
}

/** Per devices class, the step's observations: the end's cumulative counts less the start's. */
export const bucketsBetween = (before: Buckets, after: Buckets): Buckets => {
  const out: Buckets = new Map()
  for (const [cls, counts] of after) {
    const was = before.get(cls)
    out.set(cls, new Map([...counts].map(([le, n]) => [le, n - (was?.get(le) ?? 0)])))
  }
  return out
}

const bound = (s: number) => (Number.isFinite(s) ? `≤ ${+(s * 1000).toFixed(1)} ms` : 'over the last bound')

/** The figures of a step, one line per devices class that saw messages. */
export const describeFanout = (b: Buckets): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [cls, c] of [...b].sort()) {
    const n = c.get(Number.POSITIVE_INFINITY) ?? 0
    if (n === 0) continue
    out[`gateway fan-out, rooms of ${cls} local devices (arrival → last device)`] =
      `p50 ${bound(bucketBound(c, 0.5))}, p99 ${bound(bucketBound(c, 0.99))} (${n} messages; histogram bounds)`
  }
  return out
}

/**
 * The gateway's own share of a message's way to its last member (its `live_fanout_seconds`):
 * started before a step, read after it. What the send→last member figure holds beyond it and the
 * append is the load generator's and the scheduler's (ADR 0175).
 */
export const watchFanout = async (ctx: RunContext) => {
  const gateways = ctx.stack
    ? [...ctx.stack.running.values()].filter((s) => s.label.startsWith('gateway'))
    : []
  const read = async (): Promise<Buckets> => {
    const merged: Buckets = new Map()
    for (const g of gateways)
      for (const [cls, c] of await scrape(g.opsPort)) {
        const m = merged.get(cls) ?? new Map<number, number>()
        for (const [le, n] of c) m.set(le, (m.get(le) ?? 0) + n)
        merged.set(cls, m)
      }
    return merged
  }
  const before = await read()
  return { stop: async () => describeFanout(bucketsBetween(before, await read())) }
}
