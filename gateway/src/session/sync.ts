import type { ClientFrameOf, InboxEntry } from '@chatapp/contracts'
import { type ConversationState, inboxEntry, lastSeq } from '@chatapp/domain'
import type { LaneReads, StateStore } from '../conversation/state-store.js'
import type { Feed } from '../feed/feed.js'
import type { Connection } from './connection.js'

const SYNC_PARALLEL = 16

/** Where a device without a cursor starts: before the `tail`-th latest message (pure). */
export const tailStart = (s: ConversationState, tail: number): number => {
  if (tail <= 0) return lastSeq(s)
  const r = s.recent
  if (r.length < tail && r.length === s.n) return 0 // every message is in the window: from the start
  const first = r[Math.max(0, r.length - tail)]
  return first ? first[0] - 1 : 0
}

export interface SyncDeps {
  feed: Feed
  store: StateStore
  defaultTail: number
}

/**
 * `sync` (once after `hello`, and again on a live connection to fill a hole): the inbox, then
 * every event after each cursor (or the last `tail` messages), in order, then `synced` with the
 * cursors reached; live events of those conversations are held by the feed meanwhile and flushed
 * after `synced`, de-duplicated by sequence. Nothing missed, nothing twice.
 */
export const runSync = async (d: SyncDeps, conn: Connection, f: ClientFrameOf<'sync'>): Promise<void> => {
  const userId = conn.userId
  conn.synced = true
  const convs = await d.feed.conversationsOf(userId)
  const inbox: InboxEntry[] = []
  const plan: [string, number, LaneReads?][] = []
  const ids = [...convs]
  // Bounded parallelism: a user in hundreds of conversations must not wait for each in turn.
  for (let i = 0; i < ids.length; i += SYNC_PARALLEL) {
    const batch = ids.slice(i, i + SYNC_PARALLEL)
    const entries = await Promise.all(
      batch.map(async ([id]) => {
        // What this refresh reads from the log is what a device that was away missed: its
        // catch-up replays it from memory instead of reading it again (ADR 0176).
        const { state, reads } = await d.store.refreshReads(id)
        // Unread counts are exact (domain's rule): a read point older than the state's window
        // is resolved from the log.
        const readN = state.members.has(userId) ? await d.store.readN(id, userId) : 0
        return { state, reads, entry: inboxEntry(state, userId, readN) }
      }),
    )
    entries.forEach(({ state, reads, entry }, k) => {
      const [id, joinedAt] = batch[k]!
      if (!entry) return
      inbox.push(entry)
      const cursor = f.cursors?.[id]
      const after = cursor ?? tailStart(state, f.tail ?? d.defaultTail)
      // Never replay what happened before the user joined.
      plan.push([id, Math.max(after, joinedAt - 1), reads])
    })
  }
  // Conversations the user was removed from (or left) while this device was away: it is sent
  // what it missed up to and including that event, and nothing after (the catch-up stops there).
  for (const [id, { joinedAt, leftAt }] of convs.left) {
    const cursor = f.cursors?.[id]
    if (cursor !== undefined && cursor < leftAt) plan.push([id, Math.max(cursor, joinedAt - 1)])
  }
  inbox.sort((a, b) => (b.lastMessage?.at ?? 0) - (a.lastMessage?.at ?? 0))
  conn.send({ type: 'inbox', ...(f.rid !== undefined ? { rid: f.rid } : {}), conversations: inbox })
  const cursors: Record<string, number> = {}
  const replayed: string[] = []
  for (const [id, after, reads] of plan) {
    // A later sync on a live connection replays only the conversations it names a cursor for.
    const head = f.cursors?.[id] === undefined ? d.feed.headOf(conn, id) : undefined
    if (head !== undefined) {
      cursors[id] = head
      continue
    }
    cursors[id] = await d.feed.attach(conn, id, after, reads)
    replayed.push(id)
  }
  conn.send({ type: 'synced', ...(f.rid !== undefined ? { rid: f.rid } : {}), cursors })
  d.feed.release(conn, replayed)
}
