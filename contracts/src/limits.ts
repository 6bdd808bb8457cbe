/**
 * Protocol limits with their defaults. Every limit is configurable on the server; the
 * effective values are announced to each client in the `hello` frame.
 */
export const DEFAULT_LIMITS = {
  /** Largest WebSocket frame the gateway accepts; larger frames close the socket with 1009. */
  maxFrameBytes: 64 * 1024,
  /** Longest text message, in UTF-16 code units (what JavaScript's `length` counts). */
  maxTextLength: 4096,
  maxCaptionLength: 1024,
  maxTitleLength: 100,
  maxGroupMembers: 1024,
  /** Token bucket per connection: sustained frames per second and burst. */
  connFramesPerSecond: 50,
  connBurst: 200,
  /** Token bucket per user over all of that user's connections on one gateway. */
  userFramesPerSecond: 100,
  userBurst: 400,
  /** How long a fresh socket may stay unauthenticated before it is closed with 4408. */
  authTimeoutMs: 5000,
  /** Events a sync sends, at most, for a conversation the device has no cursor for. */
  syncTailForNewDevice: 50,
  maxPresenceWatch: 256,
  /** How long after sending its sender may edit a message (ADR 0211). */
  editWindowMs: 15 * 60 * 1000,
  /** How long after sending its sender may delete a message for everyone; admins may at any time. */
  deleteWindowMs: 48 * 60 * 60 * 1000,
  /** From this many forwards on, a message is shown as "forwarded many times". */
  forwardedManyTimes: 5,
  /** Active invite links per group. */
  maxInviteLinks: 10,
  /** Pending join requests (through links that need approval) per group (ADR 0217). */
  maxJoinRequests: 100,
  /** Invite link previews and joins per user per minute, on one gateway. */
  linkUsesPerMinute: 10,
} as const

export type Limits = { -readonly [K in keyof typeof DEFAULT_LIMITS]: number }
