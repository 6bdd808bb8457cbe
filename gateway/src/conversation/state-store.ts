import type { Lane, Names } from '@chatapp/contracts'
import {
  type ConversationState,
  emptyState,
  evolve,
  fromSnapshot,
  receiptEntries,
  type Stored,
  snapshotCadence,
  toSnapshot,
  type Verdict,
  type Watermarks,
} from '@chatapp/domain'
import type { ConversationLog, StoredEvent } from '@chatapp/kit'
import { type KV, Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/nats-core'

/** What folding a live event did, and for receipts, the watermarks its entries moved from. */
export interface LiveFold {
  verdict: Verdict
  /** Only when the receipt was folded here, from the live event: userId → watermarks before it. */
  before?: Map<string, Watermarks>
}

/**
 * What one fold of a lane read from the log: every event of the lane with `from < seq <= to`, in
 * log order (what a read of that range yields: undecodable records are skipped by both). A catch-up
 * replays a range a fold has just read from these instead of reading it again (ADR 0176).
 */
export interface LaneRead {
  from: number
  to: number
  events: StoredEvent[]
}

/** The reads of one refresh, per lane it folded. */
export type LaneReads = Partial<Record<Lane, LaneRead>>

/** Most events a LaneRead keeps (the latest): a long fold's reads are not held in memory whole. */
export const LANE_READ_KEEP = 256

/** The reads `a` then `b`, as one when they meet; else the later alone. */
const joinReads = (a: LaneRead | undefined, b: LaneRead): LaneRead =>
  a && b.from === a.to ? keepLatest({ from: a.from, to: b.to, events: [...a.events, ...b.events] }) : b

const keepLatest = (r: LaneRead): LaneRead => {
  const over = r.events.length - LANE_READ_KEEP
  if (over <= 0) return r
  return { from: r.events[over - 1]!.seq, to: r.to, events: r.events.slice(over) }
}

/**
 * Folded conversation states, cached per gateway: the single place a gateway folds events
 * (domain's `evolve`, which judges each one). Guarantees: a state only moves forward; each lane
 * is folded contiguously in log order, from ordered reads of the log or from live events whose
 * predecessor (`Nats-Last-Sequence`) is the state's last sequence on that lane; so every verdict
 * is the one any other reader reaches.
 */
export interface StateStore {
  /** The cached state, loaded (snapshot + fold) on first use. May be behind the log. */
  get(id: string): Promise<ConversationState>
  /** Folds what the log has beyond the state, on one lane or both, and returns the state. */
  refresh(id: string, lane?: Lane): Promise<ConversationState>
  /**
   * `refresh` of both lanes that also returns what it read from the log (including a first load's
   * fold). `fresh`: every read starts after this call (one already in flight, which may have read
   * the log's end before the caller's live interest was registered, is waited for, not joined).
   */
  refreshReads(id: string, o?: { fresh?: boolean }): Promise<{ state: ConversationState; reads: LaneReads }>
  /** Folds a live event (directly when contiguous, else by reading the lane up to it). */
  foldLive(id: string, e: Stored, prev: number): Promise<LiveFold>
  /**
   * The verdict on `seq`, an `.m` event of this conversation that is in the log: waits briefly for
   * live folding where live events arrive, else reads the lane.
   */
  verdict(id: string, seq: number): Promise<'accepted' | 'rejected'>
  /** The exact read point `n` of a member (an unknown one is resolved from the log). */
  readN(id: string, userId: string): Promise<number>
  /** Told by the feed whether live events of the conversation reach this gateway. */
  setLive(id: string, live: boolean): void
}

export interface StateStoreOptions {
  /**
   * Write a snapshot after this many folded events since the last one. Default: `snapshotCadence`
   * of the state (a few dozen events for a small conversation, more for a large group).
   */
  snapshotEvery?: number
  /** Cached conversations, at most. */
  maxCached?: number
  /** How long `verdict` waits for the live event before reading the log itself. */
  liveWaitMs?: number
  onError?: (err: unknown) => void
}

interface Entry {
  state: ConversationState
  sinceSnapshot: number
}

const verdictAt = (s: ConversationState, seq: number) => (s.rejected.has(seq) ? 'rejected' : 'accepted')

export const createStateStore = async (
  nc: NatsConnection,
  n: Names,
  log: ConversationLog,
  o: StateStoreOptions = {},
): Promise<StateStore> => {
  const every = (s: ConversationState) => o.snapshotEvery ?? snapshotCadence(s.members.size)
  const maxCached = o.maxCached ?? 50_000
  const liveWait = o.liveWaitMs ?? 250
  const kv: KV = await new Kvm(nc).open(n.convStateBucket)
  const cache = new Map<string, Entry>()
  const loading = new Map<string, Promise<LaneReads>>()
  /** In-flight lane folds, so concurrent callers share one read. */
  const folding = new Map<string, Promise<LaneRead>>()
  const live = new Set<string>()
  const waiters = new Map<string, { seq: number; done: () => void }[]>()

  const snapshot = (id: string, e: Entry) => {
    if (e.sinceSnapshot < every(e.state)) return
    e.sinceSnapshot = 0
    kv.put(id, JSON.stringify(toSnapshot(e.state))).catch((err: unknown) => o.onError?.(err))
  }

  const wake = (id: string, s: ConversationState) => {
    const w = waiters.get(id)
    if (!w) return
    const left = w.filter((x) => {
      if (x.seq > s.lastM) return true
      x.done()
      return false
    })
    if (left.length > 0) waiters.set(id, left)
    else waiters.delete(id)
  }

  const foldLaneFromLog = async (id: string, e: Entry, lane: Lane): Promise<LaneRead> => {
    const s = e.state
    const target = await log.lastSeq(id, lane)
    const from = lane === 'm' ? s.lastM : s.lastR
    // Every event the read yields (a stale one too: a live fold got there first), so the range is whole.
    const events: StoredEvent[] = []
    for await (const x of log.read(id, from, target, lane)) {
      events.push(x)
      if (evolve(s, x).kind !== 'stale') e.sinceSnapshot++
    }
    if (lane === 'm') wake(id, s)
    // Every path that folds (load, refresh, a verdict read, a live gap) may be the one that
    // crosses the cadence: a gateway whose events arrive only by reads must snapshot too.
    if (cache.get(id) === e) snapshot(id, e)
    return keepLatest({ from, to: Math.max(from, target), events })
  }

  /**
   * Folds a lane from the log; concurrent callers share the read in flight, later ones start anew.
   * `fresh`: a read in flight is waited for and not joined (it may have read the lane's end before
   * the call).
   */
  const foldLane = async (id: string, e: Entry, lane: Lane, fresh = false): Promise<LaneRead> => {
    const key = `${id}/${lane}`
    const running = folding.get(key)
    if (running && fresh) {
      // Its `finally` has removed it by the time this resumes: a fold found then started after the call.
      await running.catch(() => {})
      return foldLane(id, e, lane)
    }
    if (running) return running
    const p = foldLaneFromLog(id, e, lane).finally(() => folding.delete(key))
    folding.set(key, p)
    return p
  }

  const load = async (id: string): Promise<LaneReads> => {
    const snap = await kv.get(id).catch(() => null)
    let state: ConversationState | undefined
    if (snap && snap.operation === 'PUT' && snap.value.length > 0) {
      try {
        state = fromSnapshot(snap.json())
      } catch {
        state = undefined
      }
    }
    const entry: Entry = { state: state ?? emptyState(id), sinceSnapshot: 0 }
    // `.m` first: receipts of members who joined later need them to be members already.
    const m = await foldLaneFromLog(id, entry, 'm')
    const r = await foldLaneFromLog(id, entry, 'r')
    if (cache.size >= maxCached && !cache.has(id)) {
      const oldest = cache.keys().next().value
      if (oldest !== undefined) cache.delete(oldest)
    }
    cache.set(id, entry)
    snapshot(id, entry)
    return { m, r }
  }

  /**
   * The entry, and what its load read when this call waited for one; `own`: this call started that
   * load, so the load read the log's end after the call began (a refresh needs no second look).
   */
  const entryRead = async (id: string): Promise<{ e: Entry; reads?: LaneReads; own?: boolean }> => {
    const c = cache.get(id)
    if (c) return { e: c }
    let p = loading.get(id)
    const own = !p
    if (!p) {
      p = load(id).finally(() => loading.delete(id))
      loading.set(id, p)
    }
    const reads = await p
    // Evicted meanwhile (a huge burst of conversations): load again.
    const e = cache.get(id)
    return e ? { e, reads, own } : entryRead(id)
  }
  const entryOf = async (id: string): Promise<Entry> => (await entryRead(id)).e

  /** Folds the lane until it reaches `seq` (which is in the log). */
  const foldTo = async (id: string, e: Entry, lane: Lane, seq: number) => {
    for (let i = 0; i < 3; i++) {
      if ((lane === 'm' ? e.state.lastM : e.state.lastR) >= seq) return
      // A fold already in flight may have read the lane's end before `seq` was stored.
      await foldLane(id, e, lane)
    }
  }

  const store: StateStore = {
    // A cached state is the live path's usual case: one settled promise, not three async frames
    // (get → entryOf → entryRead), which were a visible share of the gateway's allocations.
    get: (id) => {
      const c = cache.get(id)
      return c ? Promise.resolve(c.state) : entryOf(id).then((e) => e.state)
    },
    async refresh(id, lane) {
      const { e, own } = await entryRead(id)
      // Loaded by this very call: both lanes were just read to their end.
      if (own) return e.state
      if (lane !== 'r') await foldLane(id, e, 'm')
      if (lane !== 'm') await foldLane(id, e, 'r')
      return e.state
    },
    async refreshReads(id, o = {}) {
      const { e, reads: loaded, own } = await entryRead(id)
      if (own && loaded) return { state: e.state, reads: loaded }
      const m = await foldLane(id, e, 'm', o.fresh)
      const r = await foldLane(id, e, 'r', o.fresh)
      return { state: e.state, reads: { m: joinReads(loaded?.m, m), r: joinReads(loaded?.r, r) } }
    },
    async foldLive(id, x, prev) {
      const e = cache.get(id) ?? (await entryOf(id))
      const s = e.state
      const last = x.lane === 'm' ? s.lastM : s.lastR
      if (x.seq > last && prev === last) {
        let before: Map<string, Watermarks> | undefined
        if (x.lane === 'r') {
          before = new Map()
          for (const r of receiptEntries(x.event)) {
            const m = s.members.get(r.userId)
            if (m) before.set(r.userId, { delivered: m.delivered, read: m.read })
          }
        }
        const verdict = evolve(s, x)
        e.sinceSnapshot++
        if (x.lane === 'm') wake(id, s)
        snapshot(id, e)
        return before ? { verdict, before } : { verdict }
      }
      // Not contiguous (a live event was lost, or the state is behind): read the lane up to it.
      await foldTo(id, e, x.lane, x.seq)
      if (x.lane === 'r') return { verdict: { kind: 'accepted' } }
      return verdictAt(s, x.seq) === 'rejected'
        ? { verdict: { kind: 'rejected', reason: 'rejected when folded from the log' } }
        : { verdict: { kind: 'accepted' } }
    },
    async verdict(id, seq) {
      const e = cache.get(id) ?? (await entryOf(id))
      if (seq <= e.state.lastM) return verdictAt(e.state, seq)
      if (live.has(id)) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, liveWait)
          const list = waiters.get(id) ?? []
          list.push({
            seq,
            done: () => {
              clearTimeout(timer)
              resolve()
            },
          })
          waiters.set(id, list)
        })
      }
      await foldTo(id, e, 'm', seq)
      return verdictAt(e.state, seq)
    },
    async readN(id, userId) {
      const e = await entryOf(id)
      const me = e.state.members.get(userId)
      if (!me) return 0
      if (me.readN >= 0) return me.readN
      // The read watermark predates the window of recent messages: the first accepted message
      // after it is numbered one more than the read point.
      const s = e.state
      let found = s.n
      for await (const x of log.read(id, me.read, s.lastM, 'm')) {
        if (x.event.type === 'message.sent' && !s.rejected.has(x.seq)) {
          found = x.event.data.n - 1
          break
        }
      }
      if (me.readN < 0) me.readN = found
      return me.readN
    },
    setLive(id, on) {
      if (on) live.add(id)
      else live.delete(id)
    },
  }
  return store
}
