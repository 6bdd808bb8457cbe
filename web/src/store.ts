import {
  type ChatClient,
  ChatClientError,
  type ConnectionState,
  connect,
  type EventFrame,
  newClientMsgId,
  type SendResult,
} from '@chatapp/client'
import type {
  ConversationKind,
  GroupAdds,
  HistoryMessage,
  InboxEntry,
  Invitation,
  MembersResponse,
  MessageKind,
  Role,
  UserProfile,
} from '@chatapp/contracts'
import type { Session } from './auth.js'
import { mentions } from './format.js'
import { type MediaInfo, MediaStore } from './media-store.js'
import type { Watermarks } from './ticks.js'

/**
 * The page's model of the user's chats, fed by one ChatClient (live events, resend, resync) and
 * the HTTP reads (history pages, members). Components read it and re-render on `subscribe`.
 * Messages are identified by stream sequence once stored, and by clientMsgId before (the user's
 * own, pending), so the copy the server echoes replaces the pending one instead of doubling it.
 */

export interface Message {
  /** Stable key for rendering: the clientMsgId of the user's own messages, else `s<seq>`. */
  key: string
  seq?: number
  n?: number
  senderId: string
  kind: MessageKind
  text?: string
  media?: MediaInfo
  at: number
  clientMsgId?: string
  /** The send gave up (code): shown with a retry button. */
  failed?: string
  /** When the sender last edited its text (`message.edited`). */
  editedAt?: number
  /** Deleted for everyone: a tombstone without text or media. */
  deleted?: boolean
  /** Reactions: emoji → who reacted with it. */
  reactions?: Map<string, string[]>
}

export interface Member extends Watermarks {
  userId: string
  username: string
  displayName: string
  role: Role
}

export interface Conversation {
  id: string
  kind: ConversationKind
  title: string | null
  peerId?: string
  role: Role
  /** Stored messages by sequence, then the user's pending ones in the order they were sent. */
  messages: Message[]
  lastMessage?: { senderId: string; kind: MessageKind; text?: string; at: number }
  lastSeq: number
  unread: number
  /** This user's read watermark. */
  readUpTo: number
  members: Map<string, Member>
  invited: UserProfile[]
  /** Older history may exist on the server (the first message we hold is not n = 1). */
  hasMoreBefore: boolean
  loadingOlder: boolean
  /** userId → when the indicator expires. */
  typing: Map<string, number>
}

export interface Presence {
  online: boolean
  lastSeen?: number
}

const TYPING_TTL_MS = 6000

export class ChatStore {
  readonly client: ChatClient
  readonly media: MediaStore
  readonly conversations = new Map<string, Conversation>()
  readonly profiles = new Map<string, UserProfile>()
  readonly presence = new Map<string, Presence>()
  /** Pending invitations to groups, newest first. */
  invitations: Invitation[] = []
  connection: ConnectionState = 'connecting'
  /** Set when the session ended for good (logged out elsewhere, refresh refused). */
  ended: string | undefined
  selected: string | undefined
  /** The open conversation is scrolled to its end and the page is visible: what arrives is read. */
  atLatest = true
  /** The read watermark of the open conversation when it was opened, if it had unread messages. */
  unreadAfter: number | undefined
  private readonly listeners = new Set<() => void>()
  private notifyQueued = false
  private readonly memberLoads = new Map<string, Promise<void>>()
  /**
   * Per conversation, the last send handed to the client: files upload in parallel but their
   * messages (and text typed after them) are sent in the order the user gave them.
   */
  private readonly sendOrder = new Map<string, Promise<unknown>>()
  private readonly typingTimer: ReturnType<typeof setInterval>

  constructor(
    readonly session: Session,
    wsUrl: string,
  ) {
    this.media = new MediaStore(session, () => this.changed())
    this.client = connect(wsUrl, {
      tokenProvider: session.tokens.tokenProvider,
      deviceId: session.deviceId,
      autoDeliver: true,
      backoff: { baseMs: 300, maxMs: 5000 },
      pingIntervalMs: 15_000,
      syncTail: 50,
    })
    this.client.on('state', (s) => {
      this.connection = s
      this.changed()
    })
    this.client.on('inbox', (entries) => this.onInbox(entries))
    this.client.on('event', (f) => this.onEvent(f))
    this.client.on('typing', (f) => {
      const c = this.conversations.get(f.conversationId)
      if (!c || f.userId === this.me) return
      if (f.active) c.typing.set(f.userId, Date.now() + TYPING_TTL_MS)
      else c.typing.delete(f.userId)
      this.changed()
    })
    this.client.on('presence', (f) => {
      this.presence.set(f.userId, {
        online: f.online,
        ...(typeof f.lastSeen === 'number' ? { lastSeen: f.lastSeen } : {}),
      })
      this.changed()
    })
    this.client.on('invitation', (f) => {
      this.invitations = this.invitations.filter((i) => i.conversationId !== f.conversationId)
      if (f.pending && f.invitation) this.invitations.unshift(f.invitation)
      this.changed()
    })
    this.client.on('synced', () => {
      // Invitations are pushed live but not replayed by sync: what came while away is listed once.
      void this.media
        .authed('/v1/invitations', 'invitations')
        .then((r) => {
          this.invitations = r.invitations
          this.changed()
        })
        .catch((err: unknown) => console.warn('invitations', err))
      this.watchPresence()
      this.markReadIfSeen()
    })
    this.client.on('closed', (info) => {
      if (info.error) this.ended = info.error.message || info.error.code
      this.changed()
    })
    this.client.on('error', (e) => console.warn('chat client:', e.code, e.message))
    // Typing indicators expire on their own; one timer re-renders when one does.
    this.typingTimer = setInterval(() => {
      const now = Date.now()
      let any = false
      for (const c of this.conversations.values())
        for (const [u, until] of c.typing)
          if (until <= now) {
            c.typing.delete(u)
            any = true
          }
      if (any) this.changed()
    }, 1000)
  }

  get me(): string {
    return this.session.userId
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /** Batched: many events in one task re-render once. */
  changed(): void {
    if (this.notifyQueued) return
    this.notifyQueued = true
    queueMicrotask(() => {
      this.notifyQueued = false
      for (const l of this.listeners) l()
    })
  }

  close(): Promise<void> {
    clearInterval(this.typingTimer)
    this.media.dispose()
    return this.client.close()
  }

  /** Conversations newest first, as the inbox lists them. */
  list(): Conversation[] {
    const at = (c: Conversation) => c.lastMessage?.at ?? 0
    return [...this.conversations.values()].sort((a, b) => at(b) - at(a) || b.lastSeq - a.lastSeq)
  }

  /**
   * Unread messages held on this page that mention the user (`@username`). Counted when shown, not
   * when received: the user's own name may arrive (with the members) after the message.
   */
  mentionsOf(c: Conversation): number {
    if (c.unread === 0) return 0
    const me = this.profiles.get(this.me)?.username
    return c.messages.filter(
      (m) => m.seq !== undefined && m.seq > c.readUpTo && m.senderId !== this.me && mentions(m.text, me),
    ).length
  }

  /** Presence as last heard; nothing is claimed while this page itself is not connected. */
  presenceOf(userId: string | undefined): Presence | undefined {
    return userId === undefined || this.connection !== 'live' ? undefined : this.presence.get(userId)
  }

  nameOf(userId: string): string {
    if (userId === this.me) return 'You'
    return this.profiles.get(userId)?.displayName ?? '…'
  }

  titleOf(c: Conversation): string {
    if (c.kind === 'group') return c.title ?? 'Group'
    return c.peerId ? this.nameOf(c.peerId) : 'Chat'
  }

  // ── selection and reading ──────────────────────────────────────────────────────────────────────

  select(id: string | undefined): void {
    this.selected = id
    this.atLatest = true
    // Where "new" began when the conversation was opened: a divider stays there while it is open.
    const opened = id ? this.conversations.get(id) : undefined
    this.unreadAfter = opened && opened.unread > 0 ? opened.readUpTo : undefined
    if (id !== undefined) {
      const c = this.conversations.get(id)
      if (c && c.messages.length < 20 && c.hasMoreBefore) void this.loadOlder(id)
    }
    this.markReadIfSeen()
    this.changed()
  }

  setAtLatest(at: boolean): void {
    if (this.atLatest === at) return
    this.atLatest = at
    this.markReadIfSeen()
    this.changed()
  }

  /** The open conversation, scrolled to its end on a visible page, is read up to its last message. */
  markReadIfSeen(): void {
    const c = this.selected ? this.conversations.get(this.selected) : undefined
    if (!c || !this.atLatest || document.visibilityState !== 'visible') return
    const last = lastStoredSeq(c)
    if (last > c.readUpTo) {
      c.readUpTo = last
      this.client.markRead(c.id, last)
    }
    if (c.unread !== 0) {
      c.unread = 0
      this.changed()
    }
  }

  // ── sending ────────────────────────────────────────────────────────────────────────────────────

  sendText(conversationId: string, text: string): void {
    const c = this.conversations.get(conversationId)
    if (!c) return
    const clientMsgId = newClientMsgId()
    this.addPending(c, {
      key: clientMsgId,
      clientMsgId,
      senderId: this.me,
      kind: 'text',
      text,
      at: Date.now(),
    })
    this.client.typing(conversationId, false)
    this.track(
      c,
      clientMsgId,
      this.inOrder(conversationId, Promise.resolve(), () =>
        this.client.send(conversationId, { text }, { clientMsgId }),
      ),
    )
  }

  /** Uploads (with progress), then sends the media message; both survive a reconnect in between. */
  sendFile(conversationId: string, file: Blob, name: string, caption?: string): void {
    const c = this.conversations.get(conversationId)
    if (!c) return
    const clientMsgId = newClientMsgId()
    const media = this.media.local(file, name)
    const msg: Message = {
      key: clientMsgId,
      clientMsgId,
      senderId: this.me,
      kind: media.kind,
      media,
      at: Date.now(),
      ...(caption ? { text: caption } : {}),
    }
    this.addPending(c, msg)
    const uploaded = this.media.upload(file, name, media)
    void this.inOrder(conversationId, uploaded, async () => {
      const up = await uploaded
      msg.kind = up.kind
      return this.client.send(
        conversationId,
        { kind: up.kind, mediaId: up.mediaId, ...(caption ? { caption } : {}) },
        { clientMsgId },
      )
    }).then(
      (r) => this.confirm(c, clientMsgId, r),
      (err: unknown) => this.fail(c, clientMsgId, err),
    )
  }

  /** A failed send is tried again with the same clientMsgId (stored at most once). */
  retry(conversationId: string, key: string): void {
    const c = this.conversations.get(conversationId)
    const m = c?.messages.find((x) => x.key === key)
    if (!c || !m?.failed || !m.clientMsgId) return
    if (m.kind === 'text' && m.text !== undefined) {
      delete m.failed
      this.track(c, m.clientMsgId, this.client.send(c.id, { text: m.text }, { clientMsgId: m.clientMsgId }))
      this.changed()
    } else if (m.media?.file) {
      c.messages = c.messages.filter((x) => x !== m)
      this.sendFile(c.id, m.media.file, m.media.name ?? 'file', m.text)
    }
  }

  /**
   * Hands `send` to the client once `ready` (an upload) resolved and the conversation's previous
   * message was handed over (or gave up). The client library keeps the order of what it is given
   * from there, through reconnects; only the hand-over waits here, never the server's answer.
   */
  private inOrder<T>(conversationId: string, ready: Promise<unknown>, send: () => Promise<T>): Promise<T> {
    const prev = this.sendOrder.get(conversationId) ?? Promise.resolve()
    const handedOver = prev.then(() => ready)
    const result = handedOver.then(send)
    const done = () => undefined
    this.sendOrder.set(conversationId, handedOver.then(done, done))
    return result
  }

  private addPending(c: Conversation, m: Message): void {
    c.messages.push(m)
    c.lastMessage = { senderId: m.senderId, kind: m.kind, ...(m.text ? { text: m.text } : {}), at: m.at }
    this.changed()
  }

  private track(c: Conversation, clientMsgId: string, sent: Promise<SendResult>): void {
    sent.then(
      (r) => this.confirm(c, clientMsgId, r),
      (err: unknown) => this.fail(c, clientMsgId, err),
    )
  }

  private confirm(c: Conversation, clientMsgId: string, r: SendResult): void {
    const m = c.messages.find((x) => x.clientMsgId === clientMsgId && x.senderId === this.me)
    if (!m || m.seq !== undefined) return
    m.seq = r.seq
    m.n = r.n
    m.at = r.at
    delete m.failed
    if (m.media && m.media.state === 'uploading') m.media.state = 'pending'
    c.lastSeq = Math.max(c.lastSeq, r.seq)
    sortMessages(c)
    this.changed()
  }

  private fail(c: Conversation, clientMsgId: string, err: unknown): void {
    const m = c.messages.find((x) => x.clientMsgId === clientMsgId && x.seq === undefined)
    if (!m) return
    m.failed = err instanceof ChatClientError ? err.code : 'INTERNAL'
    if (m.media?.state === 'uploading') m.media.state = 'failed'
    this.changed()
  }

  // ── conversations ──────────────────────────────────────────────────────────────────────────────

  async openDirect(username: string): Promise<string> {
    const token = await this.session.accessToken()
    const user = await this.lookup(username, token)
    const r = await this.client.openDirect(user.userId)
    this.profiles.set(user.userId, user)
    return r.conversationId!
  }

  async createGroup(title: string, usernames: string[]): Promise<string> {
    const token = await this.session.accessToken()
    const users = await Promise.all(usernames.map((u) => this.lookup(u, token)))
    for (const u of users) this.profiles.set(u.userId, u)
    const r = await this.client.createGroup(
      title,
      users.map((u) => u.userId),
    )
    return r.conversationId!
  }

  /** Who may add this user to groups directly (others send an invitation). */
  async settings(): Promise<GroupAdds> {
    return (await this.media.authed('/v1/users/me/settings', 'settings')).groupAdds
  }

  async setGroupAdds(groupAdds: GroupAdds): Promise<void> {
    const { call, schemas } = await import('./api.js')
    await call(
      '/v1/users/me/settings',
      {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${await this.session.accessToken()}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ groupAdds }),
      },
      schemas.settings,
    )
  }

  async answerInvitation(conversationId: string, accept: boolean): Promise<void> {
    await (accept
      ? this.client.acceptInvitation(conversationId)
      : this.client.declineInvitation(conversationId))
    this.invitations = this.invitations.filter((i) => i.conversationId !== conversationId)
    this.changed()
  }

  async addMember(conversationId: string, username: string): Promise<void> {
    const user = await this.lookup(username, await this.session.accessToken())
    this.profiles.set(user.userId, user)
    await this.client.addMember(conversationId, user.userId)
  }

  private async lookup(username: string, token: string): Promise<UserProfile> {
    const { call, schemas } = await import('./api.js')
    return call(
      `/v1/users/by-username/${encodeURIComponent(username.trim().toLowerCase())}`,
      { headers: { authorization: `Bearer ${token}` } },
      schemas.profile,
    )
  }

  /** Loads the page of history before the oldest message held. */
  async loadOlder(conversationId: string): Promise<void> {
    const c = this.conversations.get(conversationId)
    if (!c || c.loadingOlder || !c.hasMoreBefore) return
    c.loadingOlder = true
    this.changed()
    try {
      const first = c.messages.find((m) => m.seq !== undefined)?.seq
      const q = new URLSearchParams({
        limit: '30',
        ...(first !== undefined ? { before: String(first) } : {}),
      })
      const page = await this.media.authed(`/v1/conversations/${c.id}/messages?${q}`, 'history')
      for (const h of page.messages) this.upsert(c, fromHistory(h), false)
      c.hasMoreBefore = page.hasMore
      sortMessages(c)
    } catch (err) {
      console.warn('history', err)
    } finally {
      c.loadingOlder = false
      this.changed()
    }
  }

  /** Members (names, roles, watermarks) from the log, via HTTP. Coalesced per conversation. */
  loadMembers(conversationId: string): Promise<void> {
    const running = this.memberLoads.get(conversationId)
    if (running) return running
    const p = this.media
      .authed(`/v1/conversations/${conversationId}/members`, 'members')
      .then((r: MembersResponse) => this.applyMembers(r))
      .catch((err: unknown) => console.warn('members', err))
      .finally(() => this.memberLoads.delete(conversationId))
    this.memberLoads.set(conversationId, p)
    return p
  }

  private applyMembers(r: MembersResponse): void {
    const c = this.conversations.get(r.conversationId)
    if (!c) return
    c.title = r.title
    c.invited = r.invited
    const next = new Map<string, Member>()
    for (const m of r.members) {
      this.profiles.set(m.userId, { userId: m.userId, username: m.username, displayName: m.displayName })
      const old = c.members.get(m.userId)
      next.set(m.userId, {
        userId: m.userId,
        username: m.username,
        displayName: m.displayName,
        role: m.role,
        // Receipts that arrived while this was read are not undone by an older answer.
        delivered: Math.max(m.deliveredUpTo, old?.delivered ?? 0),
        read: Math.max(m.readUpTo, old?.read ?? 0),
      })
      if (m.userId === this.me) c.role = m.role
    }
    for (const u of r.invited) this.profiles.set(u.userId, u)
    c.members = next
    if (c.kind === 'direct') c.peerId = r.members.find((m) => m.userId !== this.me)?.userId ?? c.peerId
    this.watchPresence()
    this.changed()
  }

  /** Presence of everyone the user has a direct conversation with. */
  private watchPresence(): void {
    const peers = [...this.conversations.values()].flatMap((c) => (c.peerId ? [c.peerId] : []))
    this.client.subscribePresence([...new Set(peers)].slice(0, 256))
  }

  // ── incoming ───────────────────────────────────────────────────────────────────────────────────

  private onInbox(entries: InboxEntry[]): void {
    for (const e of entries) {
      const c = this.ensure(e.conversationId, e.kind)
      c.title = e.title
      c.role = e.role
      if (e.peerId) c.peerId = e.peerId
      c.lastSeq = Math.max(c.lastSeq, e.lastSeq)
      c.readUpTo = Math.max(c.readUpTo, e.readUpTo)
      c.unread = e.unread
      if (e.lastMessage && (!c.lastMessage || e.lastMessage.at >= c.lastMessage.at))
        c.lastMessage = {
          senderId: e.lastMessage.senderId,
          kind: e.lastMessage.kind,
          at: e.lastMessage.at,
          ...(e.lastMessage.text !== undefined ? { text: e.lastMessage.text } : {}),
        }
      if (e.lastMessage === null) c.hasMoreBefore = false
      void this.loadMembers(c.id)
    }
    this.changed()
  }

  private ensure(id: string, kind: ConversationKind): Conversation {
    let c = this.conversations.get(id)
    if (!c) {
      c = {
        id,
        kind,
        title: null,
        role: 'member',
        messages: [],
        lastSeq: 0,
        unread: 0,
        readUpTo: 0,
        members: new Map(),
        invited: [],
        hasMoreBefore: true,
        loadingOlder: false,
        typing: new Map(),
      }
      this.conversations.set(id, c)
    }
    return c
  }

  private onEvent(f: EventFrame): void {
    const e = f.event
    const c = this.ensure(f.conversationId, e.type === 'conversation.created' ? e.data.kind : 'group')
    c.lastSeq = Math.max(c.lastSeq, f.seq)
    switch (e.type) {
      case 'message.sent': {
        const m: Message = {
          key: e.actor === this.me ? e.data.clientMsgId : `s${f.seq}`,
          seq: f.seq,
          n: e.data.n,
          senderId: e.actor,
          kind: e.data.kind,
          at: e.at,
          clientMsgId: e.data.clientMsgId,
          ...(e.data.text !== undefined ? { text: e.data.text } : {}),
          ...(e.data.media ? { media: this.media.remote(e.data.media) } : {}),
        }
        const isNew = this.upsert(c, m, true)
        if (isNew && e.actor !== this.me && f.seq > c.readUpTo) {
          if (this.selected === c.id && this.atLatest && document.visibilityState === 'visible') {
            queueMicrotask(() => this.markReadIfSeen())
          } else {
            c.unread += 1
          }
        }
        if (e.actor !== this.me) c.typing.delete(e.actor)
        if (!c.lastMessage || e.at >= c.lastMessage.at)
          c.lastMessage = {
            senderId: e.actor,
            kind: e.data.kind,
            at: e.at,
            ...(e.data.text !== undefined ? { text: e.data.text } : {}),
          }
        break
      }
      case 'media.ready':
      case 'media.failed':
        for (const m of c.messages)
          if (m.media?.mediaId === e.data.mediaId) m.media = this.media.apply(m.media, e)
        break
      case 'receipt.delivered':
      case 'receipt.read':
        this.receipt(c, e.actor, e.type === 'receipt.read' ? 'read' : 'delivered', e.data.upTo)
        break
      case 'receipt.batch':
        for (const r of e.data.delivered) this.receipt(c, r.userId, 'delivered', r.upTo)
        for (const r of e.data.read) this.receipt(c, r.userId, 'read', r.upTo)
        break
      case 'conversation.created':
        c.kind = e.data.kind
        c.title = e.data.title
        if (e.data.kind === 'direct') c.peerId = e.data.members.find((m) => m.userId !== this.me)?.userId
        c.hasMoreBefore = false
        if (!c.lastMessage) c.lastMessage = { senderId: e.actor, kind: 'text', at: e.at }
        void this.loadMembers(c.id)
        break
      case 'conversation.renamed':
        c.title = e.data.title
        break
      case 'member.removed':
      case 'member.left':
        if (e.data.userId === this.me) {
          this.conversations.delete(c.id)
          if (this.selected === c.id) this.selected = undefined
          break
        }
        void this.loadMembers(c.id)
        break
      case 'member.added':
      case 'member.joined':
      case 'member.invited':
      case 'member.invite_cancelled':
      case 'member.role_changed':
        void this.loadMembers(c.id)
        break
      case 'message.edited': {
        const m = c.messages.find((x) => x.seq === e.data.seq)
        if (m && !m.deleted) {
          m.text = e.data.text
          m.editedAt = e.at
        }
        break
      }
      case 'message.deleted': {
        const m = c.messages.find((x) => x.seq === e.data.seq)
        if (m) {
          m.deleted = true
          delete m.text
          delete m.media
          delete m.reactions
        }
        break
      }
      case 'message.hidden':
        // Delete for me: only this user's devices get it.
        c.messages = c.messages.filter((x) => x.seq !== e.data.seq)
        break
      case 'message.reacted': {
        const m = c.messages.find((x) => x.seq === e.data.seq)
        if (m && !m.deleted) m.reactions = react(m.reactions, e.actor, e.data.emoji)
        break
      }
      default:
        // Event types this page does not show (group profile, invite links) change nothing here.
        break
    }
    this.changed()
  }

  private receipt(c: Conversation, userId: string, kind: 'delivered' | 'read', upTo: number): void {
    if (userId === this.me) {
      // Read on another device of this user: the unread count follows.
      if (kind === 'read' && upTo > c.readUpTo) {
        c.readUpTo = upTo
        c.unread = c.messages.filter(
          (m) => m.seq !== undefined && m.seq > upTo && m.senderId !== this.me,
        ).length
      }
      return
    }
    const m = c.members.get(userId)
    if (!m) {
      void this.loadMembers(c.id)
      return
    }
    if (kind === 'read') m.read = Math.max(m.read, upTo)
    m.delivered = Math.max(m.delivered, upTo)
  }

  /** Adds or merges a stored message; true when it was not known before. */
  private upsert(c: Conversation, m: Message, live: boolean): boolean {
    const i = c.messages.findIndex(
      (x) =>
        (x.seq !== undefined && x.seq === m.seq) ||
        (x.clientMsgId !== undefined && x.clientMsgId === m.clientMsgId && x.senderId === m.senderId),
    )
    if (i >= 0) {
      const old = c.messages[i]!
      const known = old.seq !== undefined
      // The local copy keeps what only it has (the file being shown, its size on screen).
      c.messages[i] = {
        ...old,
        ...m,
        key: old.key,
        ...(old.media && m.media ? { media: this.media.merge(old.media, m.media) } : {}),
      }
      delete c.messages[i]!.failed
      if (!known) sortMessages(c)
      return !known
    }
    c.messages.push(m)
    if (live) sortMessages(c)
    return true
  }
}

const lastStoredSeq = (c: Conversation): number => {
  for (let i = c.messages.length - 1; i >= 0; i--) {
    const s = c.messages[i]!.seq
    if (s !== undefined) return s
  }
  return 0
}

/** Stored messages by sequence, pending ones after them in the order they were written. */
const sortMessages = (c: Conversation): void => {
  c.messages.sort((a, b) => {
    if (a.seq !== undefined && b.seq !== undefined) return a.seq - b.seq
    if (a.seq !== undefined) return -1
    if (b.seq !== undefined) return 1
    return a.at - b.at
  })
  const first = c.messages.find((m) => m.n !== undefined)
  if (first?.n === 1) c.hasMoreBefore = false
}

/** One member's reaction replaces their previous one; null removes it (pure). */
export const react = (
  current: Map<string, string[]> | undefined,
  userId: string,
  emoji: string | null,
): Map<string, string[]> | undefined => {
  const next = new Map<string, string[]>()
  for (const [k, users] of current ?? []) {
    const rest = users.filter((u) => u !== userId)
    if (rest.length > 0) next.set(k, rest)
  }
  if (emoji !== null) next.set(emoji, [...(next.get(emoji) ?? []), userId])
  return next.size > 0 ? next : undefined
}

const fromHistory = (h: HistoryMessage): Message => ({
  key: `s${h.seq}`,
  seq: h.seq,
  n: h.n,
  senderId: h.senderId,
  kind: h.kind,
  at: h.at,
  ...(h.text !== undefined ? { text: h.text } : {}),
  ...(h.media ? { media: MediaStore.fromHistory(h.media) } : {}),
  ...(h.editedAt !== undefined ? { editedAt: h.editedAt } : {}),
  ...(h.deleted ? { deleted: true } : {}),
  ...(h.reactions?.length ? { reactions: new Map(h.reactions.map((r) => [r.emoji, r.userIds])) } : {}),
})
