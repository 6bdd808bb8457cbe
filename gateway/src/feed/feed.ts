import type { Names } from '@chatapp/contracts'
import type { ConversationLog, Logger } from '@chatapp/kit'
import type { NatsConnection } from '@nats-io/nats-core'
import type { StateStore } from '../conversation/state-store.js'
import { createCatchUp } from './catch-up.js'
import { createRooms, type FeedMetrics } from './rooms.js'
import type { Subscriber } from './subscriber.js'
import { createUserFeeds } from './user-feeds.js'
import type { UserConversations } from './user-index.js'

export interface FeedDeps {
  nc: NatsConnection
  names: Names
  log: ConversationLog
  store: StateStore
  logger: Logger
  metrics?: FeedMetrics
  /** See UserFeedsDeps.onDevices. */
  onDevices?: (userId: string, devices: string[]) => void
  /** See UserFeedsDeps.idleUserMs. */
  idleUserMs?: number
  /** See RoomsDeps.tailEvents. */
  tailEvents?: number
}

/**
 * Live fan-out on one gateway (ADR 0006, 0007, 0020, 0021): rooms per conversation with a local
 * subscriber, per-user membership feeds, and the catch-up that makes `sync` gap-free.
 */
export const createFeed = (d: FeedDeps) => {
  const users = createUserFeeds(d)
  const rooms = createRooms({ ...d, devicesOf: users.devicesOf })
  const catchUp = createCatchUp(rooms, d.log, d.store)
  users.useCatchUp(catchUp)
  return {
    attach: catchUp.attach,
    release: catchUp.release,
    headOf: catchUp.headOf,
    willDeliver: catchUp.willDeliver,
    /** Registers an authenticated connection; resolves when the user's conversations are known. */
    addConnection: (s: Subscriber): Promise<UserConversations> => users.add(s),
    removeConnection(s: Subscriber): void {
      for (const id of [...s.rooms]) {
        const r = rooms.get(id)
        if (r) rooms.detach(s, r)
      }
      s.rooms.clear()
      users.remove(s)
    },
    conversationsOf: users.conversationsOf,
    /** The user's connections on this gateway. */
    devicesOf: users.devicesOf,
    /** Live rooms and users on this gateway (metrics, tests). */
    stats: () => ({ rooms: rooms.size(), users: users.size() }),
    close(): void {
      rooms.closeAll()
      users.closeAll()
    },
  }
}

export type Feed = ReturnType<typeof createFeed>
