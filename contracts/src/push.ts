import { type Static, Type } from '@sinclair/typebox'
import { MessageKind } from './events.js'
import { ConversationId, DeviceId, Millis, Seq, UserId } from './ids.js'

/**
 * Push notifications (issue 13, ADR 0190–0194): the targets a device registers, the per-member
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

/** Recipients per push job: a larger group's message is split over several jobs (its `part`s). */
export const PUSH_JOB_RECIPIENTS = 1000

/** Items per push job: a projector batch with more is several jobs (the stream's message size). */
export const PUSH_JOB_ITEMS = 128

/** The emoji of a reaction, as `message.reacted` carries it. */
const Emoji = Type.String({ minLength: 1, maxLength: 32 })

/** What every push item carries: which conversation, which events, whom to tell. */
const itemCommon = {
  conversationId: ConversationId,
  conversationKind: Type.Union([Type.Literal('direct'), Type.Literal('group')]),
  title: Type.Union([Type.String({ maxLength: 200 }), Type.Null()]),
  /** Stream sequence of the newest event the item stands for: the mark it moves a target to. */
  seq: Seq,
  /** Stream sequence of the oldest event it stands for (`seq` when it is one event). */
  firstSeq: Seq,
  /** The sender of the newest message, or who reacted. */
  senderId: UserId,
  /** Members to tell when the events were stored (one part of them: `part`). */
  recipients: Type.Array(UserId, { maxItems: PUSH_JOB_RECIPIENTS }),
  part: Type.Integer({ minimum: 0, description: 'Which slice of the recipients (0 for most items).' }),
  /** `at` of the newest event, and of the oldest (latency is measured from it). */
  at: Millis,
  firstAt: Millis,
}

/**
 * Consecutive messages of one conversation in one projector batch, with the same sender and
 * recipients and no mentions, collapsed to what a notification shows: the newest one and a count.
 * A message that mentions someone is an item of its own, so the mentioned see that message.
 */
export const PushMessageItem = Type.Object(
  {
    type: Type.Literal('message'),
    ...itemCommon,
    count: Type.Integer({ minimum: 1, description: 'Messages the item stands for.' }),
    kind: MessageKind,
    preview: Type.Optional(Type.String({ maxLength: PUSH_PREVIEW_CHARS })),
    mentioned: Type.Optional(
      Type.Array(UserId, { maxItems: 50, description: 'Recipients the message mentions (ADR 0214).' }),
    ),
  },
  { $id: 'PushMessageItem' },
)
export type PushMessageItem = Static<typeof PushMessageItem>

/** A reaction set or replaced by another member: tells the reacted message's author (ADR 0211). */
export const PushReactionItem = Type.Object(
  {
    type: Type.Literal('reaction'),
    ...itemCommon,
    emoji: Emoji,
    /** The message reacted to. */
    messageSeq: Seq,
  },
  { $id: 'PushReactionItem' },
)
export type PushReactionItem = Static<typeof PushReactionItem>

export const PushItem = Type.Union([PushMessageItem, PushReactionItem], { $id: 'PushItem' })
export type PushItem = Static<typeof PushItem>

/**
 * What the projector's reactor hands the push worker for one committed batch of a shard (an
 * effect, ADR 0150 and 0193): every notification-worthy event of the batch, grouped by
 * conversation. Membership is the fold's when each event was stored, so a member added later is
 * not told of it.
 */
export const PushJob = Type.Object(
  {
    v: Type.Literal(2),
    batch: Type.String({
      maxLength: 100,
      description: 'The job id (`push:<shard>:<first stream seq of the batch>:<part>`), also its Msg-Id.',
    }),
    items: Type.Array(PushItem, { minItems: 1, maxItems: PUSH_JOB_ITEMS }),
  },
  { $id: 'PushJob', description: 'A projector batch’s notifications (push work queue), v2.' },
)
export type PushJob = Static<typeof PushJob>

/**
 * The job of ADR 0190: one accepted message. No longer written; a worker still reads the ones
 * queued before an upgrade (as one item, see `decodePushJob`).
 */
export const PushJobV1 = Type.Object(
  {
    v: Type.Literal(1),
    conversationId: ConversationId,
    conversationKind: Type.Union([Type.Literal('direct'), Type.Literal('group')]),
    title: Type.Union([Type.String({ maxLength: 200 }), Type.Null()]),
    seq: Seq,
    senderId: UserId,
    kind: MessageKind,
    preview: Type.Optional(Type.String({ maxLength: PUSH_PREVIEW_CHARS })),
    recipients: Type.Array(UserId, { maxItems: PUSH_JOB_RECIPIENTS }),
    part: Type.Integer({ minimum: 0 }),
    at: Millis,
  },
  {
    $id: 'PushJobV1',
    description: 'One message to tell offline members about (ADR 0190; read, not written).',
  },
)
export type PushJobV1 = Static<typeof PushJobV1>

/** The job versions a worker reads: anything else is dead-lettered, never guessed at. */
export const PUSH_JOB_VERSIONS = [1, 2] as const

/** A v1 job as the item it is (one message). */
export const upcastPushJobV1 = (j: PushJobV1): PushJob => ({
  v: 2,
  batch: `${j.conversationId}:${j.seq}:push:${j.part}`,
  items: [
    {
      type: 'message',
      conversationId: j.conversationId,
      conversationKind: j.conversationKind,
      title: j.title,
      seq: j.seq,
      firstSeq: j.seq,
      senderId: j.senderId,
      recipients: j.recipients,
      part: j.part,
      at: j.at,
      firstAt: j.at,
      count: 1,
      kind: j.kind,
      ...(j.preview !== undefined ? { preview: j.preview } : {}),
    },
  ],
})

export const PushNotification = Type.Object(
  {
    v: Type.Literal(1),
    id: Type.String({
      description:
        'Stable per device and burst (`<targetId>:<conversationId>:<seq>`): a relay de-duplicates by it.',
    }),
    type: Type.Union([Type.Literal('message'), Type.Literal('reaction')], {
      description:
        '`message`: new messages (`count` of them); `reaction`: someone reacted to your message (`reaction`), and no new message came with it. Ignore a type you do not know.',
    }),
    conversationId: ConversationId,
    /** Sequence of the newest message (or reaction) of the burst: fetch history up to it. */
    seq: Seq,
    count: Type.Integer({
      minimum: 1,
      description: 'Messages (or, for `reaction`, reactions) of the burst this notification stands for.',
    }),
    content: PushContent,
    mention: Type.Optional(
      Type.Literal(true, {
        description:
          'Set when a message of the burst mentions you; in a group you muted you are told of your mentions only (if `pushMentionsWhenMuted`), and the notification shows the newest of them.',
      }),
    ),
    conversationKind: Type.Optional(Type.Union([Type.Literal('direct'), Type.Literal('group')])),
    title: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    sender: Type.Optional(
      Type.Object(
        { userId: UserId, displayName: Type.String() },
        { description: 'Who sent the newest message, or who reacted.' },
      ),
    ),
    kind: Type.Optional(MessageKind),
    preview: Type.Optional(Type.String({ maxLength: PUSH_PREVIEW_CHARS })),
    reaction: Type.Optional(
      Type.Object(
        { emoji: Emoji, messageSeq: Seq },
        { description: '`type: reaction`: the emoji, and the sequence of your message it was put on.' },
      ),
    ),
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
