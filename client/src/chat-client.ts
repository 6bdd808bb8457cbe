import {
  type ClientFrame,
  type ClientFrameOf,
  decodeServerFrame,
  type GroupSettings,
  type InboxEntry,
  type ServerFrame,
  type ServerFrameOf,
} from '@chatapp/contracts'
import { DEFAULT_BACKOFF } from './backoff.js'
import { Connector } from './connector.js'
import { type CursorStore, MemoryCursorStore } from './cursor-store.js'
import { Emitter } from './emitter.js'
import { ChatClientError } from './errors.js'
import { EventTracker } from './event-tracker.js'
import { newClientMsgId } from './ids.js'
import { type FrameWithoutRid, Outbox } from './outbox.js'
import { ReceiptCoalescer, type ReceiptKind } from './receipt-coalescer.js'
import type { RequestKind } from './request-table.js'
import { DEFAULT_RETRY_BACKOFF } from './retry-policy.js'
import type {
  ChatClientEvents,
  ChatClientOptions,
  ClientStats,
  CommandResult,
  ConnectionState,
  EventFrame,
  ForwardSource,
  SendContent,
  SendOptions,
  SendResult,
} from './types.js'
import { TypingThrottle } from './typing-throttle.js'
import { unref } from './unref.js'

export { SUBPROTOCOL } from './connector.js'
export const WS_PATH = '/v1/ws'

/**
 * A chat connection that survives network trouble: it reconnects with backoff, syncs from its
 * cursors, resends unacknowledged sends (same clientMsgId, `retry: true`) after a drop and after a
 * retryable refusal, keeping each conversation's order, de-duplicates events by sequence,
 * resyncs a conversation when it sees a hole, and repeats receipts the server does not have. It
 * never throws into the app: failures are rejected promises or `error` events.
 *
 * This class is the protocol session; the socket lifecycle (token, auth, reconnect decision,
 * backoff, keepalive) is the Connector's, requests in flight are the Outbox's, and the decisions
 * are pure code in their own files (event-tracker, request-table, receipt-coalescer,
 * typing-throttle, backoff, close-policy).
 */
export class ChatClient {
  readonly stats: ClientStats = {
    framesIn: 0,
    events: 0,
    duplicates: 0,
    gaps: 0,
    resyncs: 0,
    invalidFrames: 0,
    reconnects: 0,
    resends: 0,
  }
  /** Set by `hello`. */
  userId: string | undefined
  limits: Record<string, number> = {}

  private readonly emitter: Emitter<ChatClientEvents>
  private readonly conn: Connector
  private readonly store: CursorStore
  private readonly tracker = new EventTracker()
  private readonly requests: Outbox
  private readonly receipts = new ReceiptCoalescer()
  private readonly typingThrottle: TypingThrottle
  private readonly autoDeliver: boolean

  private currentState: ConnectionState = 'connecting'
  /** The socket got `hello`: frames other than `auth` may be written. */
  private authenticated = false
  private seeded = false
  private syncRid: string | undefined
  /** Conversations with a hole when the connection's sync was sent (that sync fills them). */
  private gapsAtSync: string[] = []
  /** close() was called or the session ended for good. */
  private ended = false
  private presence: string[] = []
  private receiptTimer: NodeJS.Timeout | undefined
  /** The watermarks each sync's `inbox` reported as stored, by the sync's rid, until its `synced`. */
  private readonly storedMarks = new Map<string, InboxEntry[]>()

  constructor(
    url: string | readonly string[],
    private readonly options: ChatClientOptions,
  ) {
    this.emitter = new Emitter((err, event) => {
      // A throwing `error` listener must not recurse.
      if (event !== 'error') this.emitError(new ChatClientError('INTERNAL', String(err), { cause: err }))
    })
    this.store = options.cursorStore ?? new MemoryCursorStore()
    this.typingThrottle = new TypingThrottle(options.typingIntervalMs ?? 3000)
    this.requests = new Outbox({
      max: options.maxPending ?? 1000,
      attemptTimeoutMs: options.requestTimeoutMs ?? 30_000,
      giveUpAfterMs: options.giveUpAfterMs ?? 600_000,
      retryBackoff: { ...DEFAULT_RETRY_BACKOFF, ...options.retryBackoff },
      random: options.random,
      write: (f) => this.write(f),
      resent: () => {
        this.stats.resends += 1
      },
    })
    this.autoDeliver = options.autoDeliver ?? false
    this.conn = new Connector(
      {
        urls: typeof url === 'string' ? [url] : url,
        token: (forceRefresh) => this.token(forceRefresh),
        auth: options.auth ?? 'subprotocol',
        origin: options.origin,
        maxPayload: options.maxPayload ?? 16 * 1024 * 1024,
        backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
        maxReconnectAttempts: options.maxReconnectAttempts ?? Number.POSITIVE_INFINITY,
        pingIntervalMs: options.pingIntervalMs ?? 25_000,
        random: options.random,
      },
      {
        connecting: () => this.setState('connecting'),
        open: () => this.setState('authenticating'),
        frame: (data) => this.onFrame(data),
        lost: (code) => this.onLost(code),
        reconnecting: () => {
          this.stats.reconnects += 1
          this.setState('reconnecting')
        },
        stopped: (code, reason, error) => this.finish(code, reason, error),
        error: (error) => this.emitError(error),
      },
    )
    this.conn.start()
  }

  /** The gateway URL of the current (or next) connection. */
  get url(): string {
    return this.conn.url
  }

  get state(): ConnectionState {
    return this.currentState
  }

  /** Unanswered sends and commands (what a reconnect would resend). */
  get pending(): number {
    return this.requests.size
  }

  on<K extends keyof ChatClientEvents>(event: K, listener: ChatClientEvents[K]): this {
    this.emitter.on(event, listener)
    return this
  }
  off<K extends keyof ChatClientEvents>(event: K, listener: ChatClientEvents[K]): this {
    this.emitter.off(event, listener)
    return this
  }
  once<K extends keyof ChatClientEvents>(event: K, listener: ChatClientEvents[K]): this {
    this.emitter.once(event, listener)
    return this
  }

  /** Resolves when the client is live (synced); rejects when it closes first or after `timeoutMs`. */
  ready(timeoutMs = 10_000): Promise<void> {
    if (this.currentState === 'live') return Promise.resolve()
    if (this.currentState === 'closed') return Promise.reject(new ChatClientError('CLIENT_CLOSED'))
    return new Promise((resolve, reject) => {
      const onState = (s: ConnectionState) => {
        if (s !== 'live' && s !== 'closed') return
        clearTimeout(timer)
        this.off('state', onState)
        if (s === 'live') resolve()
        else reject(new ChatClientError('CLIENT_CLOSED'))
      }
      const timer = setTimeout(() => {
        this.off('state', onState)
        reject(new ChatClientError('CLIENT_TIMEOUT', `not live after ${timeoutMs} ms`))
      }, timeoutMs)
      this.on('state', onState)
    })
  }

  // ── the app's API ────────────────────────────────────────────────────────────────────────────

  send(conversationId: string, content: SendContent, opts: SendOptions = {}): Promise<SendResult> {
    const clientMsgId = opts.clientMsgId ?? newClientMsgId()
    const text = 'text' in content ? content.text : content.caption
    const max = 'text' in content ? this.limits.maxTextLength : this.limits.maxCaptionLength
    if (text !== undefined && max !== undefined && text.length > max) {
      return Promise.reject(new ChatClientError('TEXT_TOO_LONG', `longer than ${max}`))
    }
    const reply = {
      ...(opts.replyTo !== undefined ? { replyTo: opts.replyTo } : {}),
      ...(opts.mentions && opts.mentions.length > 0 ? { mentions: opts.mentions } : {}),
    }
    const frame: FrameWithoutRid<ClientFrameOf<'send'>> =
      'text' in content
        ? { type: 'send', conversationId, clientMsgId, kind: 'text', text: content.text, ...reply }
        : {
            type: 'send',
            conversationId,
            clientMsgId,
            kind: content.kind,
            mediaId: content.mediaId,
            ...(content.caption !== undefined ? { text: content.caption } : {}),
            ...reply,
          }
    return this.request('send', frame, true) as Promise<SendResult>
  }

  /**
   * Forwards a message into `conversationId`: its content, marked forwarded, without its sender
   * (ADR 0213). A send like any other: ordered, resent after a drop, stored once.
   */
  forward(
    conversationId: string,
    source: ForwardSource,
    opts: Omit<SendOptions, 'replyTo'> = {},
  ): Promise<SendResult> {
    const clientMsgId = opts.clientMsgId ?? newClientMsgId()
    const frame: FrameWithoutRid<ClientFrameOf<'send'>> = {
      type: 'send',
      conversationId,
      clientMsgId,
      kind: source.kind,
      forward: { conversationId: source.conversationId, seq: source.seq },
    }
    return this.request('send', frame, true) as Promise<SendResult>
  }

  openDirect(peerId: string): Promise<CommandResult> {
    return this.command({ type: 'direct.open', peerId })
  }
  /**
   * Not resent after a drop (a second create would make a second group): fails with
   * CLIENT_DISCONNECTED. Written again only after a refusal that proves it was not applied
   * (RATE_LIMITED); other retryable refusals reject, and the app decides.
   */
  /**
   * Idempotent: the frame carries a `clientGroupId` (fresh, or the app's own from `opts`), from
   * which the gateway derives the group's id, so it is written again after a drop or a retryable
   * refusal like any command and still makes one group.
   */
  createGroup(
    title: string,
    memberIds: string[],
    opts: { clientGroupId?: string } = {},
  ): Promise<CommandResult> {
    const clientGroupId = opts.clientGroupId ?? newClientMsgId()
    return this.command({ type: 'group.create', title, memberIds, clientGroupId })
  }
  addMember(conversationId: string, userId: string): Promise<CommandResult> {
    return this.command({ type: 'group.add', conversationId, userId })
  }
  removeMember(conversationId: string, userId: string): Promise<CommandResult> {
    return this.command({ type: 'group.remove', conversationId, userId })
  }
  promote(conversationId: string, userId: string): Promise<CommandResult> {
    return this.command({ type: 'group.promote', conversationId, userId })
  }
  demote(conversationId: string, userId: string): Promise<CommandResult> {
    return this.command({ type: 'group.demote', conversationId, userId })
  }
  leave(conversationId: string): Promise<CommandResult> {
    return this.command({ type: 'group.leave', conversationId })
  }
  rename(conversationId: string, title: string): Promise<CommandResult> {
    return this.command({ type: 'group.rename', conversationId, title })
  }

  /** Joins a group you were invited to (`GET /v1/invitations`, the `invitation` event). */
  acceptInvitation(conversationId: string): Promise<CommandResult> {
    return this.command({ type: 'group.invite.accept', conversationId })
  }
  /** Declines for good: the group cannot invite you again. */
  declineInvitation(conversationId: string): Promise<CommandResult> {
    return this.command({ type: 'group.invite.decline', conversationId })
  }

  /**
   * Message actions (ADR 0211, 0212): each names the message by its `seq`. Written again after a
   * drop like any command: a second edit or reaction with the same content changes nothing, a
   * second delete answers `ok` without `seq`.
   */
  editMessage(conversationId: string, seq: number, text: string): Promise<CommandResult> {
    return this.command({ type: 'message.edit', conversationId, seq, text })
  }
  /** `me`: hidden on this user's devices only; `everyone`: a tombstone for all. */
  deleteMessage(conversationId: string, seq: number, scope: 'me' | 'everyone'): Promise<CommandResult> {
    return this.command({ type: 'message.delete', conversationId, seq, for: scope })
  }
  /** One emoji replaces this user's earlier reaction to the message; null removes it. */
  react(conversationId: string, seq: number, emoji: string | null): Promise<CommandResult> {
    return this.command({ type: 'message.react', conversationId, seq, emoji })
  }

  /**
   * A group's description and avatar (an image uploaded with the HTTP API, by its media id); null
   * removes either (ADR 0215). Admins, or everyone when the group allows it.
   */
  setGroupProfile(
    conversationId: string,
    profile: { description?: string | null; avatarMediaId?: string | null },
  ): Promise<CommandResult> {
    return this.command({ type: 'group.profile', conversationId, ...profile })
  }
  /** Admin only: who may edit the group's info, and who may send (`admins`: an announcement group). */
  setGroupSettings(conversationId: string, settings: GroupSettings): Promise<CommandResult> {
    return this.command({ type: 'group.settings', conversationId, ...settings })
  }

  /**
   * Invite links (ADR 0216). `createInviteLink` answers the link's id and token (share the token);
   * anyone logged in previews (title, member count, description, avatar) and joins with it. With
   * `approval` (ADR 0217), joining asks instead (`requested` in the answer), and an admin approves
   * or denies; the admins see each request as a `member.join_requested` event of the group.
   */
  async createInviteLink(
    conversationId: string,
    opts: { approval?: boolean } = {},
  ): Promise<{ linkId: string; token: string }> {
    // Not written again after a drop: a second create would make a second link.
    const ok = await this.command(
      { type: 'group.link.create', conversationId, ...(opts.approval ? { approval: true } : {}) },
      false,
    )
    if (!ok.link) throw new ChatClientError('INTERNAL', 'no link in the answer')
    return ok.link
  }
  revokeInviteLink(conversationId: string, linkId: string): Promise<CommandResult> {
    return this.command({ type: 'group.link.revoke', conversationId, linkId })
  }
  async previewInviteLink(
    token: string,
  ): Promise<{ conversationId: string } & NonNullable<ServerFrameOf<'ok'>['preview']>> {
    const ok = await this.command({ type: 'group.link.preview', token })
    if (!ok.preview || !ok.conversationId) throw new ChatClientError('INTERNAL', 'no preview in the answer')
    return { conversationId: ok.conversationId, ...ok.preview }
  }
  joinByInviteLink(token: string): Promise<CommandResult> {
    return this.command({ type: 'group.link.join', token })
  }
  /** Admin only: `userId` joins the group through the link they asked with. */
  approveJoinRequest(conversationId: string, userId: string): Promise<CommandResult> {
    return this.command({ type: 'group.join.approve', conversationId, userId })
  }
  /** Admin only: `userId` may not ask to join this group again. */
  denyJoinRequest(conversationId: string, userId: string): Promise<CommandResult> {
    return this.command({ type: 'group.join.deny', conversationId, userId })
  }
  /** Withdraws your own pending request to join a group. */
  cancelJoinRequest(conversationId: string): Promise<CommandResult> {
    return this.command({ type: 'group.join.cancel', conversationId })
  }

  markDelivered(conversationId: string, upTo: number): void {
    this.mark(conversationId, 'delivered', upTo)
  }
  markRead(conversationId: string, upTo: number): void {
    this.mark(conversationId, 'read', upTo)
  }

  /** Ephemeral and throttled; dropped while not connected (stale typing is worse than none). */
  typing(conversationId: string, active: boolean): void {
    if (!this.authenticated) return
    if (this.typingThrottle.shouldSend(conversationId, active, Date.now())) {
      this.write({ type: 'typing', conversationId, active })
    }
  }

  /** Replaces the watched users; kept and re-sent after every reconnect. */
  subscribePresence(userIds: string[]): void {
    this.presence = [...userIds]
    if (this.authenticated) this.write({ type: 'presence.subscribe', userIds: this.presence })
  }

  /** Round-trip time of an application ping, ms. */
  ping(): Promise<number> {
    if (!this.authenticated)
      return Promise.reject(new ChatClientError('CLIENT_DISCONNECTED', 'not connected'))
    return this.request('ping', { type: 'ping' }, false) as Promise<number>
  }

  /** Reconnects now if waiting to (the network is known to be back); no-op otherwise. */
  reconnectNow(): void {
    this.conn.retryNow()
  }

  /** Ends the session: flushes pending receipts, fails what is unanswered, never reconnects. */
  close(): Promise<void> {
    if (this.ended) return Promise.resolve()
    if (this.authenticated) this.flushReceipts()
    const closed = this.conn.close()
    this.finish(1000, 'closed by the client', undefined)
    return closed
  }

  // ── connection lifecycle ─────────────────────────────────────────────────────────────────────

  private setState(next: ConnectionState): void {
    const prev = this.currentState
    if (prev === next) return
    this.currentState = next
    this.emitter.emit('state', next, prev)
  }

  /** Seeds the tracker from the store before the first connection, then asks the app's provider. */
  private async token(forceRefresh: boolean): Promise<string> {
    if (!this.seeded) {
      this.tracker.seed(await this.store.load())
      this.seeded = true
    }
    return this.options.tokenProvider({ forceRefresh })
  }

  /** The socket is gone: what only lived on it is failed or queued again. */
  private onLost(code: number): void {
    this.authenticated = false
    this.syncRid = undefined
    this.storedMarks.clear()
    const lost = new ChatClientError('CLIENT_DISCONNECTED', `connection closed (${code})`)
    this.requests.offline(lost)
    // Open gaps stay open: the reconnect's sync starts from before them and closes them.
    // Receipts written on the lost socket are checked against the next sync's inbox (afterSync).
    this.typingThrottle.reset()
  }

  private finish(code: number, reason: string, error: ChatClientError | undefined): void {
    if (this.currentState === 'closed') return
    this.ended = true
    clearTimeout(this.receiptTimer)
    const err = error ?? new ChatClientError('CLIENT_CLOSED')
    this.requests.failAll(err)
    this.setState('closed')
    if (error !== undefined) this.emitError(error)
    this.emitter.emit('closed', { code, reason, error })
  }

  // ── incoming frames ──────────────────────────────────────────────────────────────────────────

  private onFrame(data: Uint8Array | string): void {
    this.stats.framesIn += 1
    const decoded = decodeServerFrame(data)
    if (!decoded.ok) {
      this.stats.invalidFrames += 1
      this.emitError(ChatClientError.fromBody(decoded.error))
      return
    }
    this.dispatch(decoded.value)
  }

  private dispatch(f: ServerFrame): void {
    switch (f.type) {
      case 'event':
        this.onEvent(f)
        break
      case 'sent': {
        const p = this.requests.take(f.rid)
        if (p === undefined) break
        const result: SendResult = {
          conversationId: f.conversationId,
          clientMsgId: f.clientMsgId,
          seq: f.seq,
          n: f.n,
          at: f.at,
          duplicate: f.duplicate,
        }
        p.resolve(result)
        break
      }
      case 'ok': {
        const p = f.rid === undefined ? undefined : this.requests.take(f.rid)
        const result: CommandResult = {
          conversationId: f.conversationId,
          seq: f.seq,
          ...(f.link ? { link: f.link } : {}),
          ...(f.preview ? { preview: f.preview } : {}),
          ...(f.requested ? { requested: true as const } : {}),
        }
        p?.resolve(result)
        break
      }
      case 'error':
        this.onError(f)
        break
      case 'hello':
        this.onHello(f)
        break
      case 'inbox':
        this.storedMarks.set(f.rid ?? '', f.conversations)
        // A resync's inbox repeats what the app has: only a connection's first sync reports it.
        if (f.rid === undefined || !this.requests.has(f.rid)) this.emitter.emit('inbox', f.conversations)
        break
      case 'synced':
        this.onSynced(f)
        break
      case 'typing':
        this.emitter.emit('typing', f)
        break
      case 'presence':
        this.emitter.emit('presence', f)
        break
      case 'invitation':
        this.emitter.emit('invitation', f)
        break
      case 'mute':
        this.emitter.emit('mute', f)
        break
      case 'pong': {
        const p = f.rid === undefined ? undefined : this.requests.take(f.rid)
        p?.resolve(Date.now() - p.startedAt)
        break
      }
      default:
        f satisfies never
    }
  }

  private onError(f: ServerFrameOf<'error'>): void {
    const err = ChatClientError.fromBody(f)
    const rid = f.rid
    if (rid !== undefined && rid === this.syncRid) {
      // The connection's sync was refused: it cannot go live; try again on a new one (with backoff,
      // and not before the server's `retryAfterMs` when it is busy).
      this.emitError(err)
      this.conn.drop(err.retryAfterMs)
      return
    }
    // A pending request is rejected, or written again later when the refusal is retryable.
    if (rid !== undefined && this.requests.refuse(rid, err)) return
    // A late answer to an attempt of a request that has settled since (its resend was answered
    // first): the request's outcome is known, so this is no news for the app.
    if (rid !== undefined && this.requests.issued(rid)) return
    this.emitError(err)
  }

  private onHello(f: ServerFrameOf<'hello'>): void {
    if (this.authenticated) return
    this.authenticated = true
    this.userId = f.userId
    this.limits = f.limits
    this.setState('syncing')
    this.emitter.emit('hello', f)
    if (this.ended) return // a listener closed the client
    this.gapsAtSync = this.tracker.gaps()
    this.syncRid = this.requests.nextRid()
    const cursors = this.tracker.cursors()
    const tail = this.options.syncTail
    this.write({ type: 'sync', rid: this.syncRid, cursors, ...(tail !== undefined ? { tail } : {}) })
    // Resend what the last connection left unanswered, in the order the app asked.
    this.requests.online()
    if (this.presence.length > 0) this.write({ type: 'presence.subscribe', userIds: this.presence })
    // Pending receipts wait for `synced`: its inbox says which watermarks the server already has.
    this.conn.authenticated()
  }

  private onSynced(f: ServerFrameOf<'synced'>): void {
    const p = f.rid === undefined ? undefined : this.requests.take(f.rid)
    if (p !== undefined) {
      p.resolve(f.cursors)
      this.afterSync(p.rid)
      return
    }
    // The first sync of the connection (matched by rid; a server that does not echo it is taken
    // at its word too, since only one sync is outstanding then).
    if (this.currentState !== 'syncing' || (f.rid !== undefined && f.rid !== this.syncRid)) return
    this.syncRid = undefined
    // Only the holes this sync was asked to fill: one found since has its own resync pending.
    for (const c of this.gapsAtSync) this.closeGap(c)
    this.gapsAtSync = []
    // Conversations the server reports but the device processed nothing of (a tail of 0): start
    // from there, so the next sync does not ask for their whole history.
    const known = this.tracker.cursors()
    const fresh: Record<string, number> = {}
    for (const [c, seq] of Object.entries(f.cursors)) if (known[c] === undefined) fresh[c] = seq
    this.tracker.seed(fresh)
    for (const [c, seq] of Object.entries(fresh)) this.store.set(c, seq)
    this.afterSync(f.rid ?? '')
    this.conn.live()
    this.setState('live')
    this.emitter.emit('synced', f.cursors)
  }

  /**
   * A sync is complete. Receipts have no answer and a gateway may lose one (a batch that failed
   * to append, a crash with a batch pending): every watermark this device wrote above what the
   * sync's inbox says is stored goes out again. The server ignores one it already has.
   */
  private afterSync(rid: string): void {
    const stored = this.storedMarks.get(rid)
    this.storedMarks.delete(rid)
    if (stored !== undefined) this.receipts.reconcile(stored)
    if (this.receipts.hasPending) this.scheduleReceiptFlush()
  }

  private onEvent(f: EventFrame): void {
    const c = f.conversationId
    // The event of a message this connection sent answers the send (no `sent` frame follows).
    if (f.rid !== undefined && f.event.type === 'message.sent') {
      const p = this.requests.take(f.rid)
      if (p !== undefined) {
        const result: SendResult = {
          conversationId: c,
          clientMsgId: f.event.data.clientMsgId,
          seq: f.seq,
          n: f.event.data.n,
          at: f.event.at,
          duplicate: false,
        }
        p.resolve(result)
      }
    }
    let verdict = this.tracker.check(c, f.lane, f.seq, f.prev)
    if (
      verdict === 'gap' &&
      (f.event.type === 'member.added' || f.event.type === 'member.joined') &&
      f.event.data.userId === this.userId
    ) {
      // Re-added to a group: the events while we were out are not ours; the hole is by design.
      this.tracker.rejoin(c, f.seq)
      verdict = 'new'
    }
    if (verdict === 'duplicate') {
      this.stats.duplicates += 1
      return
    }
    if (verdict === 'gap') {
      this.stats.gaps += 1
      this.resync(c, f.lane)
      return
    }
    this.stats.events += 1
    this.emitter.emit('event', f)
    this.store.set(c, this.tracker.commit(c, f.lane, f.seq))
    if (this.autoDeliver && f.event.type === 'message.sent' && f.event.actor !== this.userId) {
      this.mark(c, 'delivered', f.seq)
    }
  }

  /**
   * A hole on a lane: sync again on this connection, this conversation from before the hole. If the
   * server refuses or does not answer, drop the socket: the reconnect's sync starts from the
   * same cursor, so nothing is skipped either way.
   */
  private resync(conversationId: string, lane: 'm' | 'r'): void {
    const from = this.tracker.openGap(conversationId, lane)
    if (from === undefined) return
    this.stats.resyncs += 1
    this.store.set(conversationId, from)
    // All cursors, not just this conversation's, and `tail: 0`: a gateway treats a conversation
    // missing from `cursors` as new to the device and would replay its tail. Replays of the
    // others are then only what this device has, which the tracker drops.
    this.request('sync', { type: 'sync', cursors: this.tracker.cursors(), tail: 0 }, false).then(
      () => this.closeGap(conversationId),
      (err: ChatClientError) => {
        // Disconnected or closed: the reconnect's sync (from the same held cursor) takes over.
        if (err.code === 'CLIENT_DISCONNECTED' || err.code === 'CLIENT_CLOSED') return
        this.emitError(err)
        this.conn.drop()
      },
    )
  }

  private closeGap(conversationId: string): void {
    const cursor = this.tracker.closeGap(conversationId)
    if (cursor !== undefined) this.store.set(conversationId, cursor)
  }

  // ── outgoing frames ──────────────────────────────────────────────────────────────────────────

  private write(frame: ClientFrame): void {
    this.conn.send(JSON.stringify(frame))
  }

  private command(frame: FrameWithoutRid<ClientFrame>, resend = true): Promise<CommandResult> {
    return this.request('command', frame, resend) as Promise<CommandResult>
  }

  private request(kind: RequestKind, frame: FrameWithoutRid<ClientFrame>, resend: boolean): Promise<unknown> {
    if (this.ended) return Promise.reject(new ChatClientError('CLIENT_CLOSED'))
    return this.requests.request(kind, frame, resend)
  }

  private mark(conversationId: string, kind: ReceiptKind, upTo: number): void {
    if (this.receipts.mark(conversationId, kind, upTo) && this.authenticated) this.scheduleReceiptFlush()
  }

  private scheduleReceiptFlush(): void {
    if (this.receiptTimer !== undefined) return
    // A message to a large group reaches its members' devices within milliseconds of each other:
    // one fixed delay would bring all their receipts back to the gateway at once, a thousand
    // frames in the middle of the group's next message. Spread over half to one and a half times.
    const delay = (this.options.receiptDelayMs ?? 200) * (0.5 + (this.options.random ?? Math.random)())
    this.receiptTimer = setTimeout(() => {
      this.receiptTimer = undefined
      if (this.authenticated) this.flushReceipts()
    }, delay)
    unref(this.receiptTimer)
  }

  private flushReceipts(): void {
    for (const frame of this.receipts.drain()) this.write(frame)
  }

  private emitError(err: ChatClientError): void {
    this.emitter.emit('error', err)
  }
}

/**
 * Creates a client and starts connecting; `url` may list several gateways (tried in turn on
 * reconnect). `await client.ready()` to wait until it is live.
 */
export const connect = (url: string | readonly string[], options: ChatClientOptions): ChatClient =>
  new ChatClient(url, options)
