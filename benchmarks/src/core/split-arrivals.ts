import type { SplitArrival } from '../load/messages.js'
import { type Histogram, newHistogram, recordUs } from './latency.js'

export interface MergedArrivals {
  /** Send → the last member's copy, per message every member received. */
  last: Histogram
  /** The same, at the start of the read batch of the worker that read the last copy. */
  lastRead: Histogram
  /** Messages some member never received (the loss check names them). */
  incomplete: number
}

/**
 * The time to a split group's last member: per message, the latest of the workers' last copies,
 * counted only once the workers' copies add up to every receiver. The workers stamp with the
 * machine's clock (epoch microseconds), so their times compare.
 */
export const mergeSplitArrivals = (perWorker: readonly (readonly SplitArrival[])[]): MergedArrivals => {
  const byKey = new Map<string, SplitArrival>()
  for (const list of perWorker)
    for (const a of list) {
      const m = byKey.get(a.key)
      if (!m) byKey.set(a.key, { ...a })
      else {
        m.count += a.count
        m.lastAtUs = Math.max(m.lastAtUs, a.lastAtUs)
        m.lastReadAtUs = Math.max(m.lastReadAtUs, a.lastReadAtUs)
      }
    }
  const last = newHistogram()
  const lastRead = newHistogram()
  let incomplete = 0
  for (const m of byKey.values()) {
    if (m.count < m.receivers) {
      incomplete++
      continue
    }
    recordUs(last, m.lastAtUs - m.sentAtUs)
    recordUs(lastRead, m.lastReadAtUs - m.sentAtUs)
  }
  return { last, lastRead, incomplete }
}
