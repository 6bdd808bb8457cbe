import { type Static, Type } from '@sinclair/typebox'

/**
 * The one catalogue of refusals. Every error frame, HTTP error body, `media.failed` reason and
 * dead-letter record carries one of these codes. `retryable` says whether the same request can
 * succeed later without being changed (after a wait, a reconnect or a token refresh).
 */
export interface ErrorSpec {
  readonly status: number
  readonly retryable: boolean
  readonly meaning: string
}

const spec = (status: number, retryable: boolean, meaning: string): ErrorSpec => ({
  status,
  retryable,
  meaning,
})

export const ERRORS = {
  // frames and requests
  BAD_JSON: spec(400, false, 'The frame or body is not valid JSON.'),
  UNKNOWN_FRAME: spec(400, false, 'The frame `type` is not one the protocol defines.'),
  INVALID_FRAME: spec(400, false, 'The frame does not match its schema; `details` names the fields.'),
  INVALID_REQUEST: spec(400, false, 'The HTTP body or query does not match its schema.'),
  FRAME_TOO_LARGE: spec(413, false, 'The frame exceeds `maxFrameBytes`; the socket is closed with 1009.'),
  TEXT_TOO_LONG: spec(400, false, 'The text or caption exceeds the announced limit.'),
  UNSUPPORTED_CHARACTER: spec(
    400,
    false,
    'A string holds a character the service does not store: U+0000, or a UTF-16 surrogate that is not paired; `details` names the field.',
  ),
  RATE_LIMITED: spec(429, true, 'Too many frames or requests; wait `retryAfterMs` before sending again.'),
  NOT_FOUND: spec(
    404,
    false,
    'No such endpoint, or nothing there you may see (e.g. the status of a message sent before you joined).',
  ),
  METHOD_NOT_ALLOWED: spec(405, false, 'The endpoint exists but not with this method.'),
  // authentication
  UNAUTHENTICATED: spec(401, false, 'No valid access token: log in again.'),
  TOKEN_EXPIRED: spec(401, true, 'The access token expired: refresh it and retry.'),
  ALREADY_AUTHENTICATED: spec(400, false, 'An `auth` frame arrived on an authenticated connection.'),
  ORIGIN_NOT_ALLOWED: spec(403, false, 'The Origin header is not in the allowlist.'),
  INVALID_CREDENTIALS: spec(401, false, 'Unknown username or wrong password (deliberately not told apart).'),
  LOGIN_THROTTLED: spec(
    429,
    true,
    'Too many failed logins for this username (registered or not, alike): wait `retryAfterMs`. A device the account has logged in from before has a count of its own.',
  ),
  INVALID_REFRESH_TOKEN: spec(401, false, 'The refresh token is unknown, expired, revoked or already used.'),
  WEAK_PASSWORD: spec(400, false, 'The password is too short, too long or too common.'),
  USERNAME_TAKEN: spec(409, false, 'Another account has this username.'),
  // conversations
  NOT_A_MEMBER: spec(
    404,
    false,
    'The conversation does not exist or you are not a member of it; the two are not told apart, so ids do not leak.',
  ),
  NOT_ADMIN: spec(403, false, 'Only an admin of the group may do this.'),
  MESSAGE_NOT_FOUND: spec(
    404,
    false,
    'No message at that `seq` you can see: none, not a message, sent before you joined, or hidden by the log rules.',
  ),
  MESSAGE_DELETED: spec(
    409,
    false,
    'The message was deleted for everyone: it cannot be edited, quoted or reacted to.',
  ),
  NOT_AUTHOR: spec(403, false, 'Only the sender of the message may do this (a group admin may delete it).'),
  NOT_EDITABLE: spec(
    400,
    false,
    'This message has no text or caption to edit (a forwarded message is not editable).',
  ),
  WINDOW_CLOSED: spec(
    409,
    false,
    'Too late: edits are allowed within `editWindowMs` of sending, deletes for everyone by the sender within `deleteWindowMs` (announced in `hello`).',
  ),
  INVALID_EMOJI: spec(400, false, 'A reaction is one emoji.'),
  ADMINS_ONLY: spec(403, false, 'In this group only admins may send messages (its `sendMessages` setting).'),
  NOT_AN_IMAGE: spec(400, false, 'A group avatar is an image.'),
  INVALID_LINK: spec(
    404,
    false,
    'No such invite link: unknown, revoked, or its group does not exist (not told apart).',
  ),
  TOO_MANY_LINKS: spec(
    409,
    false,
    'The group has as many active invite links as it may (`maxInviteLinks`): revoke one first.',
  ),
  JOIN_REQUESTED: spec(
    409,
    false,
    'You have asked to join this group already and no admin has answered yet; `group.join.cancel` withdraws the request.',
  ),
  JOIN_DENIED: spec(
    403,
    false,
    'An admin denied your request to join this group: you cannot ask again (an admin may still add or invite you).',
  ),
  NO_JOIN_REQUEST: spec(
    404,
    false,
    'No pending join request of that user to this group: never made, already answered or withdrawn, or its invite link was revoked.',
  ),
  TOO_MANY_JOIN_REQUESTS: spec(
    409,
    false,
    'The group has as many pending join requests as it may (`maxJoinRequests`): ask again once its admins have answered some (no wait is known, so it is not retried by itself).',
  ),
  NOT_A_GROUP: spec(400, false, 'This command applies to groups, and the conversation is direct.'),
  GROUP_FULL: spec(409, false, 'The group has reached its member limit.'),
  TOO_MANY_GROUPS: spec(
    429,
    true,
    'You created groups faster than `GROUP_CREATE_PER_HOUR` allows: wait `retryAfterMs`.',
  ),
  NO_INVITATION: spec(
    404,
    false,
    'No pending invitation to this group for you, or no such group; the two are not told apart.',
  ),
  INVITE_DECLINED: spec(
    409,
    false,
    'The user declined an invitation to this group: the group cannot invite them again.',
  ),
  USER_NOT_FOUND: spec(404, false, 'No user has this id or username.'),
  SELF_CONVERSATION: spec(400, false, 'A direct conversation needs two different users.'),
  // media
  MEDIA_NOT_FOUND: spec(404, false, 'No such media, or not yours to attach or download.'),
  MEDIA_KIND_MISMATCH: spec(400, false, 'The message kind does not match the kind of the uploaded media.'),
  PAYLOAD_TOO_LARGE: spec(413, false, 'The upload exceeds the size limit of its kind.'),
  UNSUPPORTED_MEDIA_TYPE: spec(
    415,
    false,
    'The bytes are not a type this kind accepts (judged by content, not name).',
  ),
  UPLOAD_ABORTED: spec(400, true, 'The upload ended before all bytes arrived.'),
  QUOTA_EXCEEDED: spec(
    429,
    true,
    'Your upload quota is used up (bytes today, or uploads not yet sent in a message); retry after `retryAfterMs`.',
  ),
  RANGE_NOT_SATISFIABLE: spec(416, false, 'The Range header does not fit the object.'),
  MEDIA_CORRUPT: spec(422, false, 'The media could not be decoded: truncated or corrupt.'),
  MEDIA_UNSUPPORTED: spec(422, false, 'The media decoded, but its format or codec is not supported.'),
  MEDIA_TOO_MANY_PIXELS: spec(422, false, 'The image or video frame exceeds the decode pixel limit.'),
  MEDIA_TOO_LONG: spec(422, false, 'The video or audio exceeds the duration limit.'),
  MEDIA_TIMEOUT: spec(422, false, 'Processing exceeded its time bound.'),
  MEDIA_PROCESSING_FAILED: spec(
    500,
    false,
    'Processing failed for good after the bounded number of attempts.',
  ),
  // push notifications
  PUSH_TARGET_NOT_ALLOWED: spec(
    400,
    false,
    'The push endpoint or webhook URL is not HTTPS on an origin the operator allows (`PUSH_WEBPUSH_ORIGINS`, `PUSH_WEBHOOK_ORIGINS`).',
  ),
  PUSH_TARGET_NOT_FOUND: spec(404, false, 'No push target of yours has this id.'),
  TOO_MANY_PUSH_TARGETS: spec(
    409,
    false,
    'You have as many push targets as `PUSH_MAX_TARGETS_PER_USER` allows: delete one (or log a device out) first.',
  ),
  // projections
  EVENT_INVALID: spec(422, false, 'A stored event does not match any known schema; it was dead-lettered.'),
  EVENT_REJECTED: spec(
    409,
    false,
    'A stored event the conversation rules refuse at its place in the log (it raced a concurrent change during a stream leader change); every reader skips it, and its writer never reported it as done.',
  ),
  VIEW_WRITE_REFUSED: spec(
    422,
    false,
    'PostgreSQL refused to store what a stored event projects to (a data or integrity error); the event was dead-lettered and the shard went on.',
  ),
  // infrastructure
  UNAVAILABLE: spec(503, true, 'A dependency (NATS, PostgreSQL, S3) is unreachable; retry with backoff.'),
  BUSY: spec(503, true, 'Too much contention on the conversation; retry shortly.'),
  INTERNAL: spec(500, true, 'An unexpected server error; it has been logged.'),
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERRORS
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[]
export const ErrorCodeSchema = Type.Union(
  ERROR_CODES.map((c) => Type.Literal(c)),
  { description: 'A stable machine-readable error code from the catalogue.' },
)

export const ErrorBody = Type.Object(
  {
    code: ErrorCodeSchema,
    message: Type.String(),
    retryable: Type.Boolean(),
    retryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
    details: Type.Optional(Type.Array(Type.String(), { maxItems: 20 })),
  },
  { $id: 'ErrorBody', description: 'An expected refusal: a value, never an exception.' },
)
export type ErrorBody = Static<typeof ErrorBody>

/** Builds the error value for a code; `message` defaults to the catalogue's meaning. */
export const errorBody = (
  code: ErrorCode,
  message?: string,
  extra?: { details?: string[]; retryAfterMs?: number },
): ErrorBody => ({
  code,
  message: message ?? ERRORS[code].meaning,
  retryable: ERRORS[code].retryable,
  ...(extra?.details ? { details: extra.details } : {}),
  ...(extra?.retryAfterMs !== undefined ? { retryAfterMs: extra.retryAfterMs } : {}),
})

/** An expected refusal thrown across a shell boundary; carries the code to the edge. */
export class ChatError extends Error {
  readonly code: ErrorCode
  readonly details: string[] | undefined
  /** For retryable codes: how long the caller should wait before trying again, when known. */
  readonly retryAfterMs: number | undefined
  constructor(
    code: ErrorCode,
    message?: string,
    options?: { cause?: unknown; details?: string[]; retryAfterMs?: number },
  ) {
    super(
      message ?? ERRORS[code].meaning,
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    this.name = 'ChatError'
    this.code = code
    this.details = options?.details
    this.retryAfterMs = options?.retryAfterMs
  }
  toBody(): ErrorBody {
    return errorBody(this.code, this.message, {
      ...(this.details ? { details: this.details } : {}),
      ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
    })
  }
}

export const isChatError = (e: unknown): e is ChatError => e instanceof ChatError

/**
 * WebSocket close codes. `reconnect` tells a client whether to reconnect (with backoff) on its own.
 */
export const CLOSE_CODES = {
  NORMAL: { code: 1000, reconnect: false, meaning: 'The client or server ended the session on purpose.' },
  GOING_AWAY: {
    code: 1001,
    reconnect: true,
    meaning: 'The server is shutting down; reconnect (to another instance).',
  },
  TOO_LARGE: { code: 1009, reconnect: true, meaning: 'A frame exceeded `maxFrameBytes`.' },
  INTERNAL: { code: 1011, reconnect: true, meaning: 'An unexpected server error.' },
  UNAUTHENTICATED: {
    code: 4401,
    reconnect: false,
    meaning: 'The token is missing, invalid or expired; refresh before reconnecting.',
  },
  SESSION_REVOKED: { code: 4403, reconnect: false, meaning: 'The session was logged out.' },
  AUTH_TIMEOUT: { code: 4408, reconnect: true, meaning: 'No `auth` frame within `authTimeoutMs`.' },
  RATE_LIMITED: {
    code: 4429,
    reconnect: true,
    meaning: 'The connection kept flooding after RATE_LIMITED errors.',
  },
  SLOW_CONSUMER: {
    code: 4430,
    reconnect: true,
    meaning: 'The client read too slowly and its send buffer overflowed; reconnect and sync.',
  },
} as const
export type CloseCodeName = keyof typeof CLOSE_CODES
