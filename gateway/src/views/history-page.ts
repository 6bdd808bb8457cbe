/**
 * How a history request becomes one indexed range scan, and how its rows become a page: pure.
 *
 * - no cursor: the newest `limit` messages; `hasMore` = older ones exist.
 * - `before=S`: the newest `limit` messages below S; `hasMore` = older ones exist.
 * - `after=S` (optionally with `before`): the oldest `limit` messages above S (and below
 *   `before`); `hasMore` = newer ones exist within the range.
 * One more row than `limit` is read to learn `hasMore` without a count. Pages are oldest first.
 */
export const DEFAULT_HISTORY_LIMIT = 50
export const MAX_HISTORY_LIMIT = 200

export interface HistoryRange {
  /** Exclusive lower bound (0 = none) and exclusive upper bound (null = none). */
  after: number
  before: number | null
  direction: 'asc' | 'desc'
  /** Rows to read: limit + 1. */
  read: number
  limit: number
}

/**
 * `floor`: the reader sees nothing at or below it (a member added to a group reads from the
 * event that added them on, as the protocol promises live).
 */
export const historyRange = (
  q: { before?: number; after?: number; limit?: number },
  floor = 0,
): HistoryRange => {
  const limit = Math.min(Math.max(q.limit ?? DEFAULT_HISTORY_LIMIT, 1), MAX_HISTORY_LIMIT)
  return {
    after: Math.max(q.after ?? 0, floor),
    before: q.before ?? null,
    direction: q.after !== undefined ? 'asc' : 'desc',
    read: limit + 1,
    limit,
  }
}

/** Rows in the range's read order → the page (oldest first) and whether more lie beyond it. */
export const toPage = <R>(range: HistoryRange, rows: readonly R[]): { rows: R[]; hasMore: boolean } => {
  const hasMore = rows.length > range.limit
  const kept = rows.slice(0, range.limit)
  return { rows: range.direction === 'desc' ? kept.reverse() : kept, hasMore }
}
