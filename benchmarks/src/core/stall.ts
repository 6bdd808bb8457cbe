import type { SplitArrival } from '../load/messages.js'

/**
 * `--stalls`: what each process of a run was not doing while a group's slowest messages were on
 * their way. The recorder (diagnostics/stall-recorder.ts) writes the records; this lays them beside
 * the messages. Wall-clock milliseconds throughout, the clock every process of the machine shares.
 */

/** The recorder's timer period: a tick later than this by STALL_BLOCK_MIN_MS or more is a block. */
export const STALL_TICK_MS = 5
export const STALL_BLOCK_MIN_MS = 10
/** Collections shorter than this are not recorded (a scavenge of a small heap takes about 1 ms). */
export const STALL_GC_MIN_MS = 2

/**
 * `gc`: a collection; `block`: the event loop ran nothing else (busy, or waiting for a CPU);
 * `start`: the recorder's first line (not a stall).
 */
export type StallRecord =
  | { k: 'gc'; at: number; ms: number; kind: string }
  | { k: 'block'; at: number; ms: number }
  | { k: 'start'; at: number; ms: 0 }

export type Stall = Exclude<StallRecord, { k: 'start' }>

export type ProcessStall = Stall & { process: string }

/** One load worker's (numbered from 1) share of a message: its members' first and last copies, ms after the send. */
export interface TailShare {
  worker: number
  copies: number
  firstMs: number
  lastMs: number
  /** The last copy at the start of its read batch (ADR 0175). */
  lastReadMs: number
}

export interface TailStall {
  process: string
  what: string
  fromMs: number
  toMs: number
}

export interface TailMessage {
  key: string
  /** Epoch ms of the send. */
  sentAt: number
  toLastMs: number
  shares: TailShare[]
  /** Every recorded stall that overlapped the message's way from its send to its last member. */
  stalls: TailStall[]
}

const round1 = (x: number) => Math.round(x * 10) / 10

/**
 * The `count` messages of split groups whose last member had them latest (complete messages
 * only: one a member never received is the loss check's), each with every worker's share and
 * the stalls of any process between the send and the last copy.
 */
export const slowestMessages = (
  perWorker: readonly { worker: number; arrivals: readonly SplitArrival[] }[],
  stalls: readonly ProcessStall[],
  count: number,
): TailMessage[] => {
  const byKey = new Map<
    string,
    { sentAtUs: number; receivers: number; shares: TailShare[]; lastUs: number }
  >()
  for (const { worker, arrivals } of perWorker)
    for (const a of arrivals) {
      const m = byKey.get(a.key) ?? { sentAtUs: a.sentAtUs, receivers: a.receivers, shares: [], lastUs: 0 }
      byKey.set(a.key, m)
      m.lastUs = Math.max(m.lastUs, a.lastAtUs)
      m.shares.push({
        worker,
        copies: a.count,
        firstMs: round1((a.firstAtUs - a.sentAtUs) / 1000),
        lastMs: round1((a.lastAtUs - a.sentAtUs) / 1000),
        lastReadMs: round1((a.lastReadAtUs - a.sentAtUs) / 1000),
      })
    }
  const complete = [...byKey.entries()].filter(
    ([, m]) => m.shares.reduce((s, x) => s + x.copies, 0) >= m.receivers,
  )
  complete.sort((a, b) => b[1].lastUs - b[1].sentAtUs - (a[1].lastUs - a[1].sentAtUs))
  return complete.slice(0, count).map(([key, m]) => {
    const sentAt = m.sentAtUs / 1000
    const toLastMs = (m.lastUs - m.sentAtUs) / 1000
    const overlapping = stalls
      .filter((s) => s.at + s.ms >= sentAt && s.at <= sentAt + toLastMs)
      .sort((a, b) => a.at - b.at)
      .map((s) => ({
        process: s.process,
        what: s.k === 'gc' ? `gc ${s.kind}` : 'block',
        fromMs: round1(s.at - sentAt),
        toMs: round1(s.at + s.ms - sentAt),
      }))
    return { key, sentAt, toLastMs: round1(toLastMs), shares: m.shares, stalls: overlapping }
  })
}

/** A stall of one line of a recorder's file, or undefined for anything else (its start, a torn last line). */
export const parseStallLine = (line: string): Stall | undefined => {
  try {
    const r = JSON.parse(line) as Partial<StallRecord>
    if (typeof r.at !== 'number' || typeof r.ms !== 'number') return undefined
    if (r.k === 'block') return { k: 'block', at: r.at, ms: r.ms }
    if (r.k === 'gc')
      return { k: 'gc', at: r.at, ms: r.ms, kind: typeof r.kind === 'string' ? r.kind : 'other' }
    return undefined
  } catch {
    return undefined
  }
}
