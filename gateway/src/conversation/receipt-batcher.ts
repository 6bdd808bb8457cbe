import type { ChatEvent } from '@chatapp/contracts'
import type { ConversationState } from '@chatapp/domain'

/**
 * Group receipts, batched per conversation (ADR 0070). In a 1,024-member group every member
 * acknowledges every message: one `.r` append per member per message swamped the log, its
 * RePublish and the fan-out. A gateway instead collects the receipts it has decided into a
 * pending map per conversation and appends them as one `receipt.batch` after `batchMs` (or at
 * once when `maxEntries` users are pending).
 *
 * Guarantees: a receipt is decided (membership, monotonic, not beyond the end) before it is
 * pending, as before; pending watermarks only grow; at flush, entries of users who are no longer
 * members are dropped. Ordering: batches of one conversation may be appended concurrently, which
 * is harmless because watermarks are folded with `max`. Durability: a failed append puts the
 * batch back and tries again (receipts never vanish while the process lives); a crash loses at
 * most what was pending, which the client library re-sends after its next sync, when the inbox
 * shows it the watermarks that were stored.
 */

/** userId → the highest delivered / read watermark pending (0: none of that kind). */
export type PendingReceipts = Map<string, { delivered: number; read: number }>

/** Adds a decided receipt; a watermark not above the pending one for that user changes nothing. */
export const addPending = (
  p: PendingReceipts,
  userId: string,
  kind: 'delivered' | 'read',
  upTo: number,
): void => {
  const cur = p.get(userId)
  if (!cur) {
    p.set(userId, kind === 'read' ? { delivered: 0, read: upTo } : { delivered: upTo, read: 0 })
    return
  }
  if (upTo > cur[kind]) cur[kind] = upTo
}

/**
 * The events that record `p` on the state at flush time (pure). Entries of non-members, and
 * watermarks the state already holds, are dropped; a delivered watermark at or below the same
 * user's read one is implied by it. One remaining receipt is appended as today's plain event
 * (actor: that user); more become one `receipt.batch` (actor: `system`).
 */
export const flushEvents = (
  s: ConversationState,
  p: PendingReceipts,
  ctx: { now: number; newId(): string },
): ChatEvent[] => {
  const delivered: { userId: string; upTo: number }[] = []
  const read: { userId: string; upTo: number }[] = []
  for (const [userId, w] of p) {
    const m = s.members.get(userId)
    if (!m) continue
    const r = w.read > m.read ? w.read : 0
    if (r > 0) read.push({ userId, upTo: r })
    if (w.delivered > m.delivered && w.delivered > Math.max(r, m.read))
      delivered.push({ userId, upTo: w.delivered })
  }
  const head = { v: 1 as const, id: '', conversationId: s.id, at: ctx.now }
  const total = delivered.length + read.length
  if (total === 0) return []
  if (total === 1) {
    const [x, type] = read[0]
      ? [read[0], 'receipt.read' as const]
      : [delivered[0]!, 'receipt.delivered' as const]
    return [{ ...head, id: ctx.newId(), type, actor: x.userId, data: { upTo: x.upTo } }]
  }
  return [{ ...head, id: ctx.newId(), type: 'receipt.batch', actor: 'system', data: { delivered, read } }]
}

export interface ReceiptBatcherDeps {
  /** The current state, membership folded from the log (entries of users who left are dropped). */
  state(conversationId: string): Promise<ConversationState>
  /** Appends one `.r` event, without an expectation. */
  append(e: ChatEvent): Promise<void>
  batchMs: number
  maxEntries?: number
  now?: () => number
  newId(): string
  onError(err: unknown, conversationId: string): void
  /** Longest pause before a failed batch is tried again. */
  maxRetryPauseMs?: number
}

export interface ReceiptBatcher {
  /** Adds a decided group receipt; the batch is appended within `batchMs`. */
  add(conversationId: string, userId: string, kind: 'delivered' | 'read', upTo: number): void
  /** Appends every pending batch now (shutdown); a batch that fails here is not tried again. */
  flushAll(): Promise<void>
  /** Conversations with receipts waiting (a failed batch waits here for its next try). */
  pendingConversations(): number
}

export const createReceiptBatcher = (d: ReceiptBatcherDeps): ReceiptBatcher => {
  const maxEntries = d.maxEntries ?? 512
  const maxPause = d.maxRetryPauseMs ?? 5_000
  const now = d.now ?? Date.now
  const pending = new Map<string, { receipts: PendingReceipts; timer: NodeJS.Timeout; failures: number }>()
  const inFlight = new Set<Promise<void>>()

  const schedule = (id: string, delayMs: number, failures: number) => {
    let b = pending.get(id)
    if (!b) {
      // Unref'd: a pending batch must not keep the process alive; shutdown flushes it.
      const timer = setTimeout(() => void flush(id), delayMs)
      timer.unref()
      b = { receipts: new Map(), timer, failures }
      pending.set(id, b)
    }
    return b
  }

  const flush = (id: string): Promise<void> => {
    const b = pending.get(id)
    if (!b) return Promise.resolve()
    pending.delete(id)
    clearTimeout(b.timer)
    const run = (async () => {
      const s = await d.state(id)
      for (const e of flushEvents(s, b.receipts, { now: now(), newId: d.newId })) await d.append(e)
    })()
      .catch((err: unknown) => {
        d.onError(err, id)
        // A receipt the user sent must not vanish: the batch goes back, merged with whatever
        // arrived meanwhile, and is tried again after a growing pause.
        const failures = b.failures + 1
        const again = schedule(id, Math.min(maxPause, d.batchMs * 2 ** failures), failures)
        for (const [userId, w] of b.receipts) {
          if (w.delivered > 0) addPending(again.receipts, userId, 'delivered', w.delivered)
          if (w.read > 0) addPending(again.receipts, userId, 'read', w.read)
        }
      })
      .finally(() => inFlight.delete(run))
    inFlight.add(run)
    return run
  }

  return {
    add(id, userId, kind, upTo) {
      const b = schedule(id, d.batchMs, 0)
      addPending(b.receipts, userId, kind, upTo)
      if (b.receipts.size >= maxEntries) void flush(id)
    },
    async flushAll() {
      await Promise.all([...pending.keys()].map(flush))
      await Promise.all([...inFlight])
    },
    pendingConversations: () => pending.size,
  }
}
