import type { InboxEntry, MessageKind, ServerFrameOf } from '@chatapp/contracts'
import type { BackoffOptions } from './backoff.js'
import type { CursorStore } from './cursor-store.js'
import type { ChatClientError } from './errors.js'

/**
 * connecting → authenticating → syncing → live; any drop → reconnecting → connecting …;
 * closed is final (close(), or a close code that forbids reconnecting).
 */
export type ConnectionState = 'connecting' | 'authenticating' | 'syncing' | 'live' | 'reconnecting' | 'closed'

export interface TokenRequest {
  /** True after the server refused the last token (close 4401): do not return a cached one. */
  forceRefresh: boolean
}

export interface ChatClientOptions {
  /** Called before every connection attempt; return a valid access token. */
  tokenProvider: (req: TokenRequest) => Promise<string>
  /** The device this client runs as (the one the token was issued to). */
  deviceId: string
  /** Where cursors are kept; memory by default (a new process syncs like a new device). */
  cursorStore?: CursorStore
  /** Origin header of the upgrade (the gateway checks it against its allowlist). */
  origin?: string
  /** `subprotocol` (default): token in Sec-WebSocket-Protocol; `frame`: an `auth` frame first. */
  auth?: 'subprotocol' | 'frame'
  /** Mark every message from others as delivered once the `event` listeners returned. */
  autoDeliver?: boolean
  /**
   * Receipts are coalesced and flushed this long after the first pending mark, times a factor drawn
   * between 0.5 and 1.5 per flush (devices that got one message together do not answer together).
   * Default 200.
   */
  receiptDelayMs?: number
  /**
   * How long one attempt of a request may go unanswered on a live connection. Then a send or an
   * idempotent command is written again (`retry: true`); a ping, a resync or `createGroup` fails
   * with CLIENT_TIMEOUT (its outcome is unknown). Default 30 000.
   */
  requestTimeoutMs?: number
  /**
   * A send or command not settled this long after the call fails with CLIENT_TIMEOUT; until then
   * it is retried through drops and retryable refusals (ADR 0120). `Infinity` never gives up.
   * Default 600 000 (10 minutes).
   */
  giveUpAfterMs?: number
  /** Unanswered requests at most; more fail at once with OUTBOX_FULL. Default 1 000. */
  maxPending?: number
  /** Reconnect delays. */
  backoff?: Partial<BackoffOptions>
  /**
   * Delays before writing a refused request again when the server gave no `retryAfterMs`
   * (full jitter). Default 100 ms doubling to 5 000 ms.
   */
  retryBackoff?: Partial<BackoffOptions>
  /** Give up (state closed) after this many failed reconnects in a row. Default: never. */
  maxReconnectAttempts?: number
  /** "typing" is sent at most once per this interval per conversation. Default 3 000. */
  typingIntervalMs?: number
  /** Application ping interval; a second ping without any traffic in between drops the socket. 0 = off. Default 25 000. */
  pingIntervalMs?: number
  /** For conversations without a cursor, how many latest events the first sync sends. */
  syncTail?: number
  /** Largest incoming frame. Default 16 MiB (an inbox can be large). */
  maxPayload?: number
  /** Source of randomness for backoff and receipt-flush jitter (tests make it deterministic). */
  random?: () => number
}

export type SendContent =
  | { text: string }
  | { kind: Exclude<MessageKind, 'text'>; mediaId: string; caption?: string }

export interface SendOptions {
  /** Reuse an id the app stored (its own durable outbox); a fresh random one by default. */
  clientMsgId?: string
  /** The `seq` of an earlier message of the conversation this one replies to (quotes). */
  replyTo?: number
  /** Group members the message mentions (their user ids; the text shows `@name` as the app likes). */
  mentions?: string[]
}

/** A message to forward: where it is, and its kind (the app shows it, so it knows). */
export interface ForwardSource {
  conversationId: string
  seq: number
  kind: MessageKind
}

export interface SendResult {
  conversationId: string
  clientMsgId: string
  seq: number
  n: number
  at: number
  /** True when the server already had this message (a retry). */
  duplicate: boolean
}

export interface CommandResult {
  conversationId: string | undefined
  seq: number | undefined
  /** `createInviteLink`: the new link. */
  link?: ServerFrameOf<'ok'>['link']
  /** `previewInviteLink`: what the link leads to. */
  preview?: ServerFrameOf<'ok'>['preview']
  /** `joinByInviteLink` through a link that needs approval: asked, not joined yet (ADR 0217). */
  requested?: true
}

export type HelloFrame = ServerFrameOf<'hello'>
export type EventFrame = ServerFrameOf<'event'>
export type TypingFrame = ServerFrameOf<'typing'>
export type PresenceFrame = ServerFrameOf<'presence'>
export type InvitationFrame = ServerFrameOf<'invitation'>
export type MuteFrame = ServerFrameOf<'mute'>

export interface ClosedInfo {
  /** WebSocket close code of the last socket (1000 after close()). */
  code: number
  reason: string
  /** Why the client stopped, when it was not close(). */
  error: ChatClientError | undefined
}

// A type alias rather than an interface, so it fits the emitter's index-signature constraint.
export type ChatClientEvents = {
  state: (state: ConnectionState, previous: ConnectionState) => void
  hello: (frame: HelloFrame) => void
  inbox: (conversations: InboxEntry[]) => void
  /** A new event, in conversation order, never twice. The cursor advances when listeners return. */
  event: (frame: EventFrame) => void
  /** The first sync of a connection is complete: what follows is live. */
  synced: (cursors: Record<string, number>) => void
  typing: (frame: TypingFrame) => void
  presence: (frame: PresenceFrame) => void
  /** An invitation to a group was made or ended (pushed live; `GET /v1/invitations` lists them). */
  invitation: (frame: InvitationFrame) => void
  /** You muted or unmuted a conversation on some device (`GET /v1/users/me/mutes` lists them). */
  mute: (frame: MuteFrame) => void
  /** Refusals without a pending request, invalid frames, token provider failures. Never thrown. */
  error: (error: ChatClientError) => void
  closed: (info: ClosedInfo) => void
}

export interface ClientStats {
  framesIn: number
  events: number
  duplicates: number
  gaps: number
  resyncs: number
  invalidFrames: number
  reconnects: number
  /** Sends and commands written again (after a drop, a retryable refusal or a lost answer). */
  resends: number
}
