import type { BatchResult, LogEntry } from './core/project-batch.js'
import { refusalOf } from './db-refusal.js'

/** What is left of a batch once it is committed: the plan stayed in the transaction. */
export type Applied = Omit<BatchResult, 'plan'>

/**
 * One atomic try at a batch (a transaction, or a savepoint inside the caller's transaction):
 * applies `entries`, dead-lettering those in `refused` instead of projecting them, or throws and
 * leaves nothing behind.
 */
export type Attempt = (entries: readonly LogEntry[], refused: ReadonlyMap<number, string>) => Promise<Applied>

/**
 * Applies a batch so that one event the database refuses never stops the shard (ADR 0101). When
 * an attempt fails for a reason that belongs to the data (db-refusal.ts), the batch is split in
 * two and each half applied in order, recursively, until the one event that fails alone is found;
 * that event is then dead-lettered (its sequence still moves the offset) and the rest applied.
 * Any other failure is thrown to the caller, which retries later: it is not the event's fault.
 * Costs about 2·log2(n) extra attempts per refused event; a healthy batch costs one.
 */
export const applyBisecting = async (
  entries: readonly LogEntry[],
  attempt: Attempt,
  refused: Map<number, string> = new Map(),
): Promise<Applied> => {
  try {
    return await attempt(entries, refused)
  } catch (err) {
    const reason = refusalOf(err)
    if (reason === undefined || entries.length === 0) throw err
    if (entries.length === 1) {
      refused.set(entries[0]!.seq, reason)
      return attempt(entries, refused)
    }
    const mid = entries.length >> 1
    const first = await applyBisecting(entries.slice(0, mid), attempt, refused)
    // A hole in the first half leaves the second half nothing to follow.
    if (first.hole) return first
    return merge(first, await applyBisecting(entries.slice(mid), attempt, refused))
  }
}

/** Two consecutive results as one. */
export const merge = (a: Applied, b: Applied): Applied => {
  const byType = { ...a.byType }
  for (const [k, v] of Object.entries(b.byType) as [keyof Applied['byType'], number][])
    byType[k] = (byType[k] ?? 0) + v
  return {
    deadLetters: [...a.deadLetters, ...b.deadLetters],
    effects: [...a.effects, ...b.effects],
    applied: a.applied + b.applied,
    skipped: a.skipped + b.skipped,
    byType,
    lastSeq: Math.max(a.lastSeq, b.lastSeq),
    lastAt: b.lastAt > 0 ? b.lastAt : a.lastAt,
    ...(b.hole ? { hole: b.hole } : {}),
  }
}
