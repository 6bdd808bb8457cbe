import type { Lane, Names } from '@chatapp/contracts'
import { type KV, Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/nats-core'
import type { ConversationLog, StoredEvent } from './log.js'
import {
  type ConversationState,
  emptyState,
  evolve,
  fromSnapshot,
  type StateSnapshot,
  toSnapshot,
} from './state.js'

/**
 * Folded conversation states, cached per gateway. Guarantees: a state only ever moves forward,
 * and each lane is folded contiguously (every event on a lane up to `lastM`/`lastR` has been
 * applied), because events reach it only from ordered stream reads, from the appender (which
 * knows its event directly follows `lastM`) and from live fan-out after its gap backfill.
 */
export interface ConversationStore {
  /** The cached state, loaded (snapshot + fold) on first use. May be behind the log. */
  get(id: string): Promise<ConversationState>
  /** Folds what the log has beyond the state, on one lane or both, and returns the state. */
  refresh(id: string, lane?: Lane): Promise<ConversationState>
  /**
   * Applies an event whose predecessor on its lane is `prev`; ignored unless it directly follows
   * the cached state on that lane (otherwise the next `refresh` folds it in order).
   */
  apply(id: string, e: StoredEvent, prev: number): void
}

export interface StoreOptions {
  /** Write a snapshot after this many folded events since the last one. */
  snapshotEvery?: number
  /** Cached conversations, at most. */
  maxCached?: number
  onError?: (err: unknown) => void
}

export const createConversationStore = async (
  nc: NatsConnection,
  n: Names,
  log: ConversationLog,
  o: StoreOptions = {},
): Promise<ConversationStore> => {
  const snapshotEvery = o.snapshotEvery ?? 200
  const maxCached = o.maxCached ?? 50_000
  const kv: KV = await new Kvm(nc).open(n.convStateBucket)
  const cache = new Map<string, { state: ConversationState; sinceSnapshot: number }>()
  const loading = new Map<string, Promise<ConversationState>>()
  const refreshing = new Map<string, Promise<ConversationState>>()

  const snapshot = (id: string) => {
    const c = cache.get(id)
    if (!c || c.sinceSnapshot < snapshotEvery) return
    c.sinceSnapshot = 0
    kv.put(id, JSON.stringify(toSnapshot(c.state))).catch((e: unknown) => o.onError?.(e))
  }

  const foldLane = async (
    id: string,
    entry: { state: ConversationState; sinceSnapshot: number },
    lane: Lane,
  ) => {
    const s = entry.state
    const target = await log.lastSeq(id, lane)
    const from = lane === 'm' ? s.lastM : s.lastR
    for await (const e of log.read(id, from, target, lane)) {
      evolve(s, e.event, e.seq, e.lane)
      entry.sinceSnapshot++
    }
  }

  const load = async (id: string): Promise<ConversationState> => {
    let state = emptyState(id)
    const snap = await kv.get(id).catch(() => null)
    if (snap && snap.operation === 'PUT' && snap.value.length > 0) {
      state = fromSnapshot(snap.json<StateSnapshot>())
    }
    const entry = { state, sinceSnapshot: 0 }
    // `.m` first: receipts of members who joined later need them to be members already.
    await foldLane(id, entry, 'm')
    await foldLane(id, entry, 'r')
    if (cache.size >= maxCached) {
      const oldest = cache.keys().next().value
      if (oldest !== undefined) cache.delete(oldest)
    }
    cache.set(id, entry)
    snapshot(id)
    return entry.state
  }

  const get = (id: string): Promise<ConversationState> => {
    const c = cache.get(id)
    if (c) return Promise.resolve(c.state)
    let p = loading.get(id)
    if (!p) {
      p = load(id).finally(() => loading.delete(id))
      loading.set(id, p)
    }
    return p
  }

  return {
    get,
    refresh(id, lane) {
      const key = `${id}/${lane ?? '*'}`
      let p = refreshing.get(key)
      if (!p) {
        p = (async () => {
          const state = await get(id)
          const entry = cache.get(id)
          if (!entry) return state
          if (lane !== 'r') await foldLane(id, entry, 'm')
          if (lane !== 'm') await foldLane(id, entry, 'r')
          snapshot(id)
          return entry.state
        })().finally(() => refreshing.delete(key))
        refreshing.set(key, p)
      }
      return p
    },
    apply(id, e, prev) {
      const entry = cache.get(id)
      if (!entry) return
      if (prev !== (e.lane === 'm' ? entry.state.lastM : entry.state.lastR)) return
      evolve(entry.state, e.event, e.seq, e.lane)
      entry.sinceSnapshot++
      snapshot(id)
    },
  }
}
