import type { ClientFrame, ClientFrameOf, Limits, Names } from '@chatapp/contracts'
import type { Stored } from '@chatapp/domain'
import type { Logger } from '@chatapp/kit'
import type { NatsConnection } from '@nats-io/nats-core'
import type { CommandRunner } from '../conversation/command-runner.js'
import type { StateStore } from '../conversation/state-store.js'
import type { Feed } from '../feed/feed.js'
import type { Presence } from '../feed/presence.js'
import type { GroupQuota, MediaPort, SentMessageLookup, UserDirectory } from '../ports.js'
import type { Connection } from '../session/connection.js'

/** What the frame handlers of an authenticated connection use. */
export interface CommandDeps {
  names: Names
  nc: NatsConnection
  limits: Limits
  runner: CommandRunner
  store: StateStore
  feed: Feed
  directory: UserDirectory
  /** Group creations per user; absent: unlimited (tests and tools without accounts). */
  groupQuota?: GroupQuota | undefined
  presence: Presence | undefined
  media: MediaPort | undefined
  sentLookup: SentMessageLookup | undefined
  /**
   * The stored event at `seq` of a conversation (a direct get of the log), if any; a message with
   * the text of its latest edit the gateway's fold knows of.
   */
  messageAt(conversationId: string, seq: number): Promise<Stored | undefined>
  logger: Logger
}

/** Handles one decoded frame of an authenticated connection; a rejection becomes an `error` frame. */
export type Handler<T extends ClientFrame['type']> = (conn: Connection, f: ClientFrameOf<T>) => unknown

/** One handler per frame type: the compiler checks the table is complete. */
export type HandlerTable = { [K in ClientFrame['type']]: Handler<K> }
