import { type Static, Type } from '@sinclair/typebox'
import { MessageKind } from './events.js'
import { ConversationId, DeviceId, Millis, Seq, UserId } from './ids.js'

/**
 * Push notifications (issue 13, ADR 0190–0192): the targets a device registers, the per-member
 * mute, the job the projector's reactor hands to the push worker, and the notification a device
 * (or a mobile push relay) receives.
 */

const Base64Url = (bytes: number, description: string) =>
  Type.String({ pattern: `^[A-Za-z0-9_-]{${Math.ceil((bytes * 4) / 3)}}={0,2}$`, description })

export const PushTargetId = Type.String({
  pattern: '^pt_[A-Za-z0-9_-]{6,60}$',
  description: 'A push target id, assigned at registration.',
})

export const WebPushTargetRequest = Type.Object(
  {
    kind: Type.Literal('webpush'),
    endpoint: Type.String({
      maxLength: 2048,
      description:
        'The push service URL of the subscription (`PushSubscription.endpoint`); its origin must be one the operator allows (`PUSH_WEBPUSH_ORIGINS`).',
    }),
    keys: Type.Object(
      {
        p256dh: Base64Url(65, 'The subscription’s P-256 public key, uncompressed, base64url.'),
        auth: Base64Url(16, 'The subscription’s 16-byte authentication secret, base64url.'),
      },
      { additionalProperties: false },
    ),
    expirationTime: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
        description:
          'As `PushSubscription.toJSON()` has it; not used (a push service says 404/410 when it ends).',
      }),
    ),
  },
  { additionalProperties: false },
)

export const WebhookTargetRequest = Type.Object(
  {
    kind: Type.Literal('webhook'),
    url: Type.String({
      maxLength: 2048,
      description:
        'Where a mobile push relay (an FCM/APNs bridge) takes notifications for this device: an HTTPS URL whose origin the operator allows (`PUSH_WEBHOOK_ORIGINS`).',
    }),
    secret: Type.Optional(
      Type.String({
        minLength: 32,
        maxLength: 128,
        pattern: '^[\\x21-\\x7e]+$',
        description:
          'The HMAC-SHA256 key of this target, when the relay chose it; otherwise the server makes one and returns it once.',
      }),
    ),
  },
  { additionalProperties: false },
)

export const PushTargetRequest = Type.Union([WebPushTargetRequest, WebhookTargetRequest], {
  $id: 'PushTargetRequest',
  description:
    'Registers where this device (the access token’s) is told of new messages while it has no live socket. Registering the same endpoint again replaces it.',
})
export type PushTargetRequest = Static<typeof PushTargetRequest>

export const PushTarget = Type.Object(
  {
    id: PushTargetId,
    kind: Type.Union([Type.Literal('webpush'), Type.Literal('webhook')]),
    deviceId: DeviceId,
    /** The push service endpoint or the webhook URL. */
    endpoint: Type.String(),
    createdAt: Millis,
    secret: Type.Optional(
      Type.String({ description: 'A webhook target’s signing secret: in the registration answer only.' }),
    ),
  },
  { $id: 'PushTarget' },
)
export type PushTarget = Static<typeof PushTarget>

export const PushTargetsResponse = Type.Object(
  { targets: Type.Array(PushTarget, { description: 'Your live targets, on every device, newest first.' }) },
  { $id: 'PushTargetsResponse' },
)
export type PushTargetsResponse = Static<typeof PushTargetsResponse>

export const VapidKeyResponse = Type.Object(
  {
    publicKey: Type.String({
      description:
        'The VAPID public key (uncompressed P-256, base64url): `applicationServerKey` of `PushManager.subscribe`.',
    }),
  },
  { $id: 'VapidKeyResponse' },
)
export type VapidKeyResponse = Static<typeof VapidKeyResponse>

export const MuteRequest = Type.Object(
  {
    until: Type.Union([Millis, Type.Null()], {
      description: 'When the mute ends (ms since the epoch), or null for until you unmute.',
    }),
  },
  { $id: 'MuteRequest', additionalProperties: false },
)
export type MuteRequest = Static<typeof MuteRequest>

export const Mute = Type.Object(
  { conversationId: ConversationId, until: Type.Union([Millis, Type.Null()]) },
  { $id: 'Mute', description: 'A conversation you muted: no push notifications of it until `until`.' },
)
export type Mute = Static<typeof Mute>

export const MutesResponse = Type.Object(
  { mutes: Type.Array(Mute, { description: 'Your mutes in force now.' }) },
  { $id: 'MutesResponse' },
)
export type MutesResponse = Static<typeof MutesResponse>

export const PushContent = Type.Union([Type.Literal('full'), Type.Literal('none')], {
  description:
    '`full`: notifications carry the sender’s name, the kind and a short preview; `none`: only that a conversation has new messages (the app fetches them).',
})
export type PushContent = Static<typeof PushContent>

/** Longest preview a notification carries, in characters. */
export const PUSH_PREVIEW_CHARS = 120

/** Recipients per push job: a larger group's message is several jobs (the stream's message size). */
export const PUSH_JOB_RECIPIENTS = 1000

/**
 * What the projector's reactor hands the push worker for one accepted message (an effect, ADR
 * 0150): who the members were when it was stored, so a member added later is not told of it.
 */
export const PushJob = Type.Object(
  {
    v: Type.Literal(1),
    conversationId: ConversationId,
    conversationKind: Type.Union([Type.Literal('direct'), Type.Literal('group')]),
    title: Type.Union([Type.String({ maxLength: 200 }), Type.Null()]),
    seq: Seq,
    senderId: UserId,
    kind: MessageKind,
    preview: Type.Optional(Type.String({ maxLength: PUSH_PREVIEW_CHARS })),
    /** Members other than the sender when the message was stored (one part of them: `part`). */
    recipients: Type.Array(UserId, { maxItems: PUSH_JOB_RECIPIENTS }),
    part: Type.Integer({ minimum: 0, description: 'Which slice of the members (0 for most messages).' }),
    at: Millis,
  },
  { $id: 'PushJob', description: 'One message to tell offline members about (push work queue).' },
)
export type PushJob = Static<typeof PushJob>

export const PushNotification = Type.Object(
  {
    v: Type.Literal(1),
    id: Type.String({
      description:
        'Stable per device and burst (`<targetId>:<conversationId>:<seq>`): a relay de-duplicates by it.',
    }),
    type: Type.Literal('message'),
    conversationId: ConversationId,
    /** Sequence of the newest message of the burst: fetch history up to it. */
    seq: Seq,
    count: Type.Integer({ minimum: 1, description: 'Messages of the burst this notification stands for.' }),
    content: PushContent,
    conversationKind: Type.Optional(Type.Union([Type.Literal('direct'), Type.Literal('group')])),
    title: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    sender: Type.Optional(Type.Object({ userId: UserId, displayName: Type.String() })),
    kind: Type.Optional(MessageKind),
    preview: Type.Optional(Type.String({ maxLength: PUSH_PREVIEW_CHARS })),
    at: Millis,
  },
  {
    $id: 'PushNotification',
    description:
      'The JSON a device decrypts (Web Push, aes128gcm) or a relay receives (webhook, plus `targetId`). With `content: none` only `id`, `type`, `conversationId`, `seq`, `count` and `at` are set.',
  },
)
export type PushNotification = Static<typeof PushNotification>

export const WebhookBody = Type.Intersect([PushNotification, Type.Object({ targetId: PushTargetId })], {
  $id: 'WebhookBody',
  description:
    'A webhook target’s POST body. Header `Chatapp-Signature: t=<ms>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.',
})
export type WebhookBody = Static<typeof WebhookBody>

/** The header a webhook target's request is signed in (docs/protocol.md shows how to verify it). */
export const WEBHOOK_SIGNATURE_HEADER = 'Chatapp-Signature'

/** A user's mute changed: published on `muteSubject(userId)` so every gateway tells the user's sockets. */
export const MuteSignal = Type.Object(
  {
    userId: UserId,
    conversationId: ConversationId,
    muted: Type.Boolean(),
    until: Type.Union([Millis, Type.Null()]),
  },
  { $id: 'MuteSignal' },
)
export type MuteSignal = Static<typeof MuteSignal>
