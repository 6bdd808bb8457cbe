import {
  type InvitationNotice,
  invitationNoticeDecoder,
  membershipNoticeDecoder,
  type Names,
  type ServerFrameOf,
} from '@chatapp/contracts'
import type { ConversationLog, Logger } from '@chatapp/kit'
import type { NatsConnection } from '@nats-io/nats-core'
import type { StateStore } from '../conversation/state-store.js'
import { invitationOf } from '../invitations/pending-invitations.js'
import type { CatchUp } from './catch-up.js'
import type { Subscriber } from './subscriber.js'
import { foldNotice, loadUserConversations, UserConversations } from './user-index.js'

/** Catch-ups tried for a live device joining a conversation before its socket is closed. */
const NOTICE_ATTEMPTS = 3
/** Wait before the next such try, times the attempt (the log's own retries come first). */
const NOTICE_RETRY_MS = 250

interface UserEntry {
  userId: string
  subs: Set<Subscriber>
  convs: Promise<UserConversations>
  /** The last load failed: the next caller loads again instead of inheriting the failure. */
  failed: boolean
  chain: Promise<void>
  /** The user has no connection here: the entry is let go when this fires, unless one comes first. */
  idle?: NodeJS.Timeout | undefined
}

/**
 * How long a user's conversations are kept after their last connection here closed: the devices
 * of an outage of a minute or so are back within it (the client library's backoff ceiling is
 * 30 s, full jitter). An entry costs its user's conversation ids: far below a connection's.
 */
export const IDLE_USER_MS = 120_000

export interface UserFeedsDeps {
  nc: NatsConnection
  names: Names
  log: ConversationLog
  /** The groups' folded state: what an invitation notice's group says about it now. */
  store: StateStore
  logger: Logger
  /**
   * The devices of a user with a connection on this gateway changed (a first connection of a
   * device, a device's last one gone; empty: the user's last one): presence.
   */
  onDevices?: (userId: string, devices: string[]) => void
  /**
   * How long a user's conversations (and their notices, folded as they come) are kept after the
   * user's last connection here closed, so a reconnect within it does not read the index again.
   * Default IDLE_USER_MS; 0: let go at once.
   */
  idleUserMs?: number
}

/**
 * The users with a connection on this gateway: each has one subscription to its live membership
 * notices and its set of conversations (loaded once per burst of connections). A notice that the
 * user joined a conversation attaches their synced connections to it at once. Invitation notices
 * are rare: the gateway follows all of them with one subscription (not one more per user) and
 * forwards those of its users as an `invitation` frame, saying what the group's log holds now (a
 * notice relayed late or twice cannot show an invitation that has ended).
 */
export const createUserFeeds = (d: UserFeedsDeps) => {
  const users = new Map<string, UserEntry>()
  const hasDevice = (u: UserEntry, deviceId: string) => {
    for (const x of u.subs) if (x.deviceId === deviceId) return true
    return false
  }
  const devicesOn = (u: UserEntry) => [...new Set([...u.subs].map((x) => x.deviceId))].sort()
  let catchUp: CatchUp | undefined
  const idleMs = d.idleUserMs ?? IDLE_USER_MS
  let closed = false

  /**
   * A user without a connection: kept for `idleMs` (a device that reconnects — a network change, a
   * gateway's clients after a blip, a reconnect storm — finds its conversations known), with its
   * notices folded as for anyone online; then let go.
   */
  const idle = (u: UserEntry) => {
    if (idleMs <= 0) {
      users.delete(u.userId)
      return
    }
    u.idle = setTimeout(() => {
      if (users.get(u.userId) === u && u.subs.size === 0) users.delete(u.userId)
    }, idleMs)
    u.idle.unref()
  }
  const forgetIdle = () => {
    for (const [id, u] of users)
      if (u.subs.size === 0) {
        clearTimeout(u.idle)
        users.delete(id)
      }
  }
  // While the NATS connection is down, notices are not delivered: an index kept from before may
  // lack one, so the users without a connection are let go (those with one keep theirs, as before).
  ;(async () => {
    for await (const st of d.nc.status()) {
      if (closed) break
      if (st.type === 'disconnect' || st.type === 'reconnect') forgetIdle()
    }
  })().catch(() => {})

  /**
   * Every user's membership notices through one subscription (ADR 0173), registered at the server
   * before any index is read, so a notice stored after a user's index was read reaches the live
   * path: none falls between the two.
   */
  const notices = d.nc.subscribe(d.names.liveUserNoticesAll, {
    callback: (err, msg) => {
      if (err) return
      const u = users.get(msg.subject.slice(msg.subject.lastIndexOf('.') + 1))
      if (!u) return
      const data = msg.data
      queue(u, () => onNotice(u, data), 'membership notice')
    },
  })
  // A failed flush (the connection is down) does not fail every load: interest is re-sent on reconnect.
  const registered = d.nc.flush().catch(() => {})

  const load = (u: UserEntry): Promise<UserConversations> => {
    u.failed = false
    const p = registered.then(() => loadUserConversations(d.log, d.names, u.userId))
    p.catch(() => {
      if (u.convs === p) u.failed = true
    })
    u.convs = p
    return p
  }
  const convsOf = (u: UserEntry) => (u.failed ? load(u) : u.convs)

  const onNotice = async (u: UserEntry, raw: Uint8Array) => {
    const notice = membershipNoticeDecoder.decode(raw)
    if (!notice.ok) return
    const convs = await convsOf(u)
    foldNotice(convs, notice.value)
    if (!notice.value.joined || !catchUp) return
    for (const s of u.subs) {
      if (!s.synced || s.rooms.has(notice.value.conversationId)) continue
      await joinLive(catchUp, s, notice.value.conversationId, notice.value.convSeq - 1)
    }
  }

  /**
   * Attaches a live device to a conversation it just joined, from its join. Nothing else will:
   * its sync ran before, and the notice is not redelivered. So a catch-up that fails (the log
   * did not answer within its deadline, as on a loaded machine) is tried again, a few times; if
   * it still fails the socket is closed, and the device's reconnect syncs the conversation.
   */
  const joinLive = async (c: CatchUp, s: Subscriber, id: string, after: number) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await c.attach(s, id, after)
        c.release(s, [id])
        return
      } catch (err) {
        if (s.closed) return
        if (attempt >= NOTICE_ATTEMPTS) {
          d.logger.error({ err, userId: s.userId, conversationId: id }, 'new conversation not attached')
          s.closeFailed('new conversation not attached')
          return
        }
        d.logger.warn(
          { err, userId: s.userId, conversationId: id, attempt },
          'new conversation attach failed',
        )
        await new Promise((r) => setTimeout(r, NOTICE_RETRY_MS * attempt))
        // A sync of the device attached it meanwhile.
        if (s.closed || s.rooms.has(id)) return
      }
    }
  }

  const onInvitation = async (u: UserEntry, notice: InvitationNotice) => {
    const id = notice.conversationId
    const invitation = invitationOf(await d.store.refresh(id, 'm'), u.userId)
    const frame: ServerFrameOf<'invitation'> = {
      type: 'invitation',
      conversationId: id,
      pending: invitation !== undefined,
      ...(invitation ? { invitation } : {}),
    }
    const text = JSON.stringify(frame)
    for (const s of u.subs) if (s.synced) s.sendRaw(text)
  }

  /** A user's notices are handled one after the other. */
  const queue = (u: UserEntry, handle: () => Promise<void>, what: string) => {
    u.chain = u.chain
      .then(handle)
      .catch((e: unknown) => d.logger.error({ err: e, userId: u.userId }, `${what} failed`))
  }

  const invitations = d.nc.subscribe(d.names.liveUserInvitationsAll, {
    callback: (err, msg) => {
      if (err) return
      const notice = invitationNoticeDecoder.decode(msg.data)
      const u = notice.ok ? users.get(notice.value.userId) : undefined
      if (u && notice.ok) queue(u, () => onInvitation(u, notice.value), 'invitation notice')
    },
  })

  return {
    /** Wired once the catch-up exists (it needs the rooms, which need `devicesOf`). */
    useCatchUp(c: CatchUp) {
      catchUp = c
    },
    devicesOf: (userId: string): Iterable<Subscriber> => users.get(userId)?.subs ?? [],
    /** Registers an authenticated connection; resolves when the user's conversations are known. */
    add(s: Subscriber): Promise<UserConversations> {
      const userId = s.userId
      let u = users.get(userId)
      if (!u) {
        const entry = {
          userId,
          failed: false,
          subs: new Set(),
          convs: Promise.resolve(new UserConversations()),
          chain: Promise.resolve(),
        } as UserEntry
        load(entry)
        users.set(userId, entry)
        u = entry
      }
      clearTimeout(u.idle)
      u.idle = undefined
      const known = hasDevice(u, s.deviceId)
      u.subs.add(s)
      if (!known) d.onDevices?.(userId, devicesOn(u))
      return convsOf(u)
    },
    remove(s: Subscriber): void {
      const u = users.get(s.userId)
      if (!u) return
      if (!u.subs.delete(s)) return
      if (u.subs.size === 0) idle(u)
      if (!hasDevice(u, s.deviceId)) d.onDevices?.(s.userId, devicesOn(u))
    },
    conversationsOf(userId: string): Promise<UserConversations> {
      const u = users.get(userId)
      return u ? convsOf(u) : Promise.resolve(new UserConversations())
    },
    /** Users with a connection here, and those kept idle (metrics, tests). */
    size: () => users.size,
    closeAll() {
      closed = true
      for (const u of users.values()) clearTimeout(u.idle)
      invitations.unsubscribe()
      notices.unsubscribe()
      users.clear()
    },
  }
}

export type UserFeeds = ReturnType<typeof createUserFeeds>
