/**
 * Where a device keeps, per conversation, the last stream sequence it has processed (the cursor
 * it sends in `sync`). Pluggable so an app can persist it (IndexedDB, SQLite, a file).
 *
 * Guarantees the client gives a store:
 * - `load` is called once, before the first `sync`; afterwards the client's memory is the truth
 *   and every change is written through with `set`.
 * - `set(c, seq)` is called after the app's `event` listeners returned for the event with that
 *   sequence (so "processed" means the app has seen it). Calls for one conversation come in
 *   order. The value normally grows; it may go down once when the client found a gap on a lane
 *   and needs the server to resend from there.
 * - `set` is on the hot path (once per event): it must not block; a persistent store should
 *   buffer and write in batches. Losing the last writes in a crash is safe: the server resends
 *   from an older cursor and the client de-duplicates by sequence.
 */
export interface CursorStore {
  load(): Promise<Record<string, number>> | Record<string, number>
  set(conversationId: string, seq: number): void
}

/** The default: cursors live as long as the process. A new process syncs like a new device. */
export class MemoryCursorStore implements CursorStore {
  readonly cursors = new Map<string, number>()
  constructor(initial: Record<string, number> = {}) {
    for (const [c, s] of Object.entries(initial)) this.cursors.set(c, s)
  }
  load(): Record<string, number> {
    return Object.fromEntries(this.cursors)
  }
  set(conversationId: string, seq: number): void {
    this.cursors.set(conversationId, seq)
  }
}
