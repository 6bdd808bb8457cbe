import { type Static, type TSchema, Type } from '@sinclair/typebox'
import { ConversationKind, MessageKind, ReplyRef, Role } from './events.js'
import { ConversationId, DeviceId, MediaId, Millis, Seq, UserId } from './ids.js'
import { InboxEntry } from './inbox.js'
import { MediaKind, MediaRef, Variant } from './media.js'
import {
  Mute,
  MuteRequest,
  MutesResponse,
  PushTarget,
  PushTargetRequest,
  PushTargetsResponse,
  VapidKeyResponse,
} from './push.js'

/** HTTP request and response bodies. Errors are `{ "error": ErrorBody }` with the code's status. */

export const Username = Type.String({
  pattern: '^[a-z0-9_.]{3,32}$',
  description: 'Lower-case letters, digits, `_` and `.`; 3-32 characters.',
})

export const RegisterRequest = Type.Object(
  {
    username: Username,
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    displayName: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { $id: 'RegisterRequest', additionalProperties: false },
)
export type RegisterRequest = Static<typeof RegisterRequest>

export const UserProfile = Type.Object(
  { userId: UserId, username: Username, displayName: Type.String() },
  { $id: 'UserProfile' },
)
export type UserProfile = Static<typeof UserProfile>

export const GroupAdds = Type.Union(
  [Type.Literal('everyone'), Type.Literal('contacts'), Type.Literal('nobody')],
  {
    description:
      'Who may add you to a group directly: `everyone`; your `contacts` (users you have sent a message to in your direct conversation with them); or `nobody`. Anyone else who adds you sends an invitation, which you accept or decline.',
  },
)
export type GroupAdds = Static<typeof GroupAdds>

export const UserSettings = Type.Object(
  {
    groupAdds: GroupAdds,
    pushContent: Type.Optional(
      Type.Union([Type.Literal('full'), Type.Literal('none')], {
        description:
          'What your push notifications carry: `full` (sender, kind, preview; unless the operator set `PUSH_CONTENT=none`) or `none` (only that a conversation has new messages). Absent in a PUT: unchanged.',
      }),
    ),
    pushMentionsWhenMuted: Type.Optional(
      Type.Boolean({
        description:
          'Whether a message that mentions you in a group you muted is still pushed to you (default `true`). Absent in a PUT: unchanged.',
      }),
    ),
  },
  { $id: 'UserSettings', additionalProperties: false },
)
export type UserSettings = Static<typeof UserSettings>

export const Invitation = Type.Object(
  {
    conversationId: ConversationId,
    title: Type.Union([Type.String(), Type.Null()]),
    invitedBy: UserId,
    /** Stream sequence of the event that invited you. */
    seq: Seq,
    at: Millis,
    memberCount: Type.Integer({ minimum: 0 }),
  },
  { $id: 'Invitation' },
)
export type Invitation = Static<typeof Invitation>

export const InvitationsResponse = Type.Object(
  { invitations: Type.Array(Invitation, { description: 'Pending invitations, newest first.' }) },
  { $id: 'InvitationsResponse' },
)
export type InvitationsResponse = Static<typeof InvitationsResponse>

export const LoginRequest = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    deviceId: Type.Optional(DeviceId),
  },
  { $id: 'LoginRequest', additionalProperties: false },
)
export type LoginRequest = Static<typeof LoginRequest>

export const TokenPair = Type.Object(
  {
    userId: UserId,
    deviceId: DeviceId,
    accessToken: Type.String({ description: 'JWT (EdDSA), short-lived; send as `Authorization: Bearer`.' }),
    accessExpiresAt: Millis,
    refreshToken: Type.String({ description: 'Opaque, single use: every refresh returns a new one.' }),
    refreshExpiresAt: Millis,
  },
  { $id: 'TokenPair' },
)
export type TokenPair = Static<typeof TokenPair>

export const WebSession = Type.Object(
  {
    userId: UserId,
    deviceId: DeviceId,
    accessToken: Type.String({ description: 'JWT (EdDSA), short-lived; keep it in memory only.' }),
    accessExpiresAt: Millis,
    refreshExpiresAt: Millis,
  },
  {
    $id: 'WebSession',
    description:
      'A token pair for a browser page: the refresh token is not in the body but in an HttpOnly, SameSite=Strict cookie that scripts cannot read.',
  },
)
export type WebSession = Static<typeof WebSession>

export const RefreshRequest = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: 512 }) },
  { $id: 'RefreshRequest', additionalProperties: false },
)
export type RefreshRequest = Static<typeof RefreshRequest>

export const LogoutRequest = Type.Object(
  {
    refreshToken: Type.String({ minLength: 1, maxLength: 512 }),
    allDevices: Type.Optional(Type.Boolean()),
  },
  { $id: 'LogoutRequest', additionalProperties: false },
)
export type LogoutRequest = Static<typeof LogoutRequest>

export const UploadResponse = Type.Object(
  {
    mediaId: MediaId,
    kind: MediaKind,
    mime: Type.String(),
    size: Type.Integer(),
    name: Type.Optional(Type.String()),
  },
  { $id: 'UploadResponse' },
)
export type UploadResponse = Static<typeof UploadResponse>

export const InboxResponse = Type.Object({ conversations: Type.Array(InboxEntry) }, { $id: 'InboxResponse' })
export type InboxResponse = Static<typeof InboxResponse>

export const MediaState = Type.Union([Type.Literal('pending'), Type.Literal('ready'), Type.Literal('failed')])

export const HistoryMessage = Type.Object(
  {
    seq: Seq,
    n: Type.Integer({ minimum: 1 }),
    senderId: UserId,
    kind: MessageKind,
    text: Type.Optional(Type.String()),
    media: Type.Optional(
      Type.Intersect([
        MediaRef,
        Type.Object({ state: MediaState, variants: Type.Optional(Type.Array(Variant)) }),
      ]),
    ),
    at: Millis,
    replyTo: Type.Optional(ReplyRef),
    forwarded: Type.Optional(
      Type.Object({ count: Type.Integer({ minimum: 1 }) }, { description: 'As `message.sent.forwarded`.' }),
    ),
    mentions: Type.Optional(Type.Array(UserId, { description: 'Members the message mentions.' })),
    editedAt: Type.Optional(Millis),
    deleted: Type.Optional(
      Type.Literal(true, {
        description: 'Deleted for everyone: a tombstone (no text, media, quote or reactions).',
      }),
    ),
    reactions: Type.Optional(
      Type.Array(
        Type.Object({
          emoji: Type.String(),
          count: Type.Integer({ minimum: 1 }),
          userIds: Type.Array(UserId, { description: 'Who reacted with it, earliest first.' }),
        }),
        { description: 'Per emoji, most reacted first.' },
      ),
    ),
  },
  {
    $id: 'HistoryMessage',
    description: 'A message as history serves it: its latest text; messages the reader hid are left out.',
  },
)
export type HistoryMessage = Static<typeof HistoryMessage>

export const HistoryQuery = Type.Object(
  {
    before: Type.Optional(Seq),
    after: Type.Optional(Seq),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  },
  { $id: 'HistoryQuery', additionalProperties: false },
)
export type HistoryQuery = Static<typeof HistoryQuery>

/** The query of an endpoint that takes none: any parameter is refused, as an unknown body field is. */
export const NoQuery = Type.Object({}, { additionalProperties: false })

/** The query of `POST /v1/media`: the kind the client wants (the bytes must agree, except `document`). */
export const UploadQuery = Type.Object(
  { kind: Type.Optional(MediaKind) },
  { $id: 'UploadQuery', additionalProperties: false },
)
export type UploadQuery = Static<typeof UploadQuery>

export const HistoryResponse = Type.Object(
  {
    conversationId: ConversationId,
    messages: Type.Array(HistoryMessage, { description: 'Oldest first.' }),
    hasMore: Type.Boolean({ description: 'More messages exist past the end this page was read towards.' }),
  },
  { $id: 'HistoryResponse' },
)
export type HistoryResponse = Static<typeof HistoryResponse>

export const MessageStatusResponse = Type.Object(
  {
    conversationId: ConversationId,
    seq: Seq,
    members: Type.Array(Type.Object({ userId: UserId, delivered: Type.Boolean(), read: Type.Boolean() })),
  },
  { $id: 'MessageStatusResponse' },
)
export type MessageStatusResponse = Static<typeof MessageStatusResponse>

export const MembersResponse = Type.Object(
  {
    conversationId: ConversationId,
    kind: ConversationKind,
    title: Type.Union([Type.String(), Type.Null()]),
    members: Type.Array(
      Type.Object({
        userId: UserId,
        username: Username,
        displayName: Type.String(),
        role: Role,
        deliveredUpTo: Seq,
        readUpTo: Seq,
      }),
      { description: 'Longest-standing first.' },
    ),
    invited: Type.Array(UserProfile, { description: 'Pending invitations (not members).' }),
    joinRequests: Type.Optional(
      Type.Array(
        Type.Object({
          userId: UserId,
          username: Username,
          displayName: Type.String(),
          link: Type.String({ description: 'The invite link they used.' }),
          seq: Seq,
          at: Millis,
        }),
        {
          description:
            'Admins only: pending join requests through links that need approval (ADR 0217), oldest first.',
        },
      ),
    ),
  },
  { $id: 'MembersResponse' },
)
export type MembersResponse = Static<typeof MembersResponse>

export const HealthResponse = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
    service: Type.String(),
    checks: Type.Record(Type.String(), Type.Union([Type.Literal('up'), Type.Literal('down')])),
  },
  { $id: 'HealthResponse' },
)
export type HealthResponse = Static<typeof HealthResponse>

/** The HTTP API, as data: the protocol document and the AsyncAPI export are generated from it. */
export interface Endpoint {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  path: string
  auth: boolean
  summary: string
  /** The query's schema; an endpoint without one takes no query parameters. */
  query?: TSchema
  /** The JSON body's schema. */
  request?: TSchema
  response?: TSchema
  status: number
}

export const HTTP_ENDPOINTS: readonly Endpoint[] = [
  {
    method: 'POST',
    path: '/v1/auth/register',
    auth: false,
    summary: 'Create an account.',
    request: RegisterRequest,
    response: UserProfile,
    status: 201,
  },
  {
    method: 'POST',
    path: '/v1/auth/login',
    auth: false,
    summary: 'Log in a device; returns tokens.',
    request: LoginRequest,
    response: TokenPair,
    status: 200,
  },
  {
    method: 'POST',
    path: '/v1/auth/refresh',
    auth: false,
    summary: 'Rotate a refresh token into a new pair.',
    request: RefreshRequest,
    response: TokenPair,
    status: 200,
  },
  {
    method: 'POST',
    path: '/v1/auth/logout',
    auth: false,
    summary: 'Revoke a refresh token (or all of the user’s).',
    request: LogoutRequest,
    status: 204,
  },
  {
    method: 'POST',
    path: '/v1/auth/web/login',
    auth: false,
    summary: 'Log in a browser page: the refresh token goes to an HttpOnly SameSite=Strict cookie.',
    request: LoginRequest,
    response: WebSession,
    status: 200,
  },
  {
    method: 'POST',
    path: '/v1/auth/web/refresh',
    auth: false,
    summary: 'Rotate the refresh token of the cookie (no body); same-origin requests only.',
    response: WebSession,
    status: 200,
  },
  {
    method: 'POST',
    path: '/v1/auth/web/logout',
    auth: false,
    summary: 'Revoke the session of the cookie and clear it (no body); same-origin requests only.',
    status: 204,
  },
  {
    method: 'GET',
    path: '/v1/users/by-username/:username',
    auth: true,
    summary: 'Find a user to start a chat with.',
    response: UserProfile,
    status: 200,
  },
  {
    method: 'GET',
    path: '/v1/users/me/settings',
    auth: true,
    summary: 'Your settings: who may add you to groups, and what push notifications you get.',
    response: UserSettings,
    status: 200,
  },
  {
    method: 'PUT',
    path: '/v1/users/me/settings',
    auth: true,
    summary: 'Change your settings; answers with them.',
    request: UserSettings,
    response: UserSettings,
    status: 200,
  },
  {
    method: 'GET',
    path: '/v1/invitations',
    auth: true,
    summary: 'Your pending invitations to groups.',
    response: InvitationsResponse,
    status: 200,
  },
  {
    method: 'POST',
    path: '/v1/media',
    auth: true,
    summary: 'Upload a media file (raw body, streamed); type judged by its bytes.',
    query: UploadQuery,
    response: UploadResponse,
    status: 201,
  },
  {
    method: 'GET',
    path: '/v1/media/:mediaId/:variant',
    auth: true,
    summary: 'Download the original or a variant; Range supported.',
    status: 200,
  },
  {
    method: 'GET',
    path: '/v1/conversations',
    auth: true,
    summary: 'The inbox.',
    response: InboxResponse,
    status: 200,
  },
  {
    method: 'GET',
    path: '/v1/conversations/:conversationId/messages',
    auth: true,
    summary: 'A page of history.',
    query: HistoryQuery,
    response: HistoryResponse,
    status: 200,
  },
  {
    method: 'GET',
    path: '/v1/conversations/:conversationId/messages/:seq/status',
    auth: true,
    summary: 'Per-member delivered/read state of a message.',
    response: MessageStatusResponse,
    status: 200,
  },
  {
    method: 'GET',
    path: '/v1/conversations/:conversationId/members',
    auth: true,
    summary: 'Members (names, roles, receipt watermarks) and pending invitations, from the log.',
    response: MembersResponse,
    status: 200,
  },
  {
    method: 'GET',
    path: '/v1/push/vapid-public-key',
    auth: true,
    summary: 'The VAPID public key a browser subscribes with (`applicationServerKey`).',
    response: VapidKeyResponse,
    status: 200,
  },
  {
    method: 'POST',
    path: '/v1/push/targets',
    auth: true,
    summary: 'Register a push target (Web Push subscription or webhook) for this device.',
    request: PushTargetRequest,
    response: PushTarget,
    status: 201,
  },
  {
    method: 'GET',
    path: '/v1/push/targets',
    auth: true,
    summary: 'Your push targets, on every device.',
    response: PushTargetsResponse,
    status: 200,
  },
  {
    method: 'DELETE',
    path: '/v1/push/targets/:targetId',
    auth: true,
    summary: 'Delete one of your push targets.',
    status: 204,
  },
  {
    method: 'PUT',
    path: '/v1/conversations/:conversationId/mute',
    auth: true,
    summary:
      'Mute a conversation you are a member of (no push notifications), until a time or until unmuted.',
    request: MuteRequest,
    response: Mute,
    status: 200,
  },
  {
    method: 'DELETE',
    path: '/v1/conversations/:conversationId/mute',
    auth: true,
    summary: 'Unmute a conversation.',
    status: 204,
  },
  {
    method: 'GET',
    path: '/v1/users/me/mutes',
    auth: true,
    summary: 'The conversations you muted, with when each mute ends.',
    response: MutesResponse,
    status: 200,
  },
]
