import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox'
import { ClientMsgId, ConversationId, DeviceId, MediaId, Millis, Seq, UserId } from './ids.js'
import { MediaRef, Variant } from './media.js'
import type { Lane } from './naming.js'

/**
 * Stored events: the log is the source of truth, so these shapes never change in place. A new
 * shape is a new `v`, with an upcaster in `upcast.ts` that lifts older versions on read.
 */

export const Role = Type.Union([Type.Literal('admin'), Type.Literal('member')])
export type Role = Static<typeof Role>

export const ConversationKind = Type.Union([Type.Literal('direct'), Type.Literal('group')])
export type ConversationKind = Static<typeof ConversationKind>

export const MessageKind = Type.Union([
  Type.Literal('text'),
  Type.Literal('image'),
  Type.Literal('video'),
  Type.Literal('audio'),
  Type.Literal('document'),
])
export type MessageKind = Static<typeof MessageKind>

export const Member = Type.Object({ userId: UserId, role: Role })
export type Member = Static<typeof Member>

const event = <T extends string, D extends TSchema>(type: T, data: D, description: string) =>
  Type.Object(
    {
      v: Type.Literal(1),
      type: Type.Literal(type),
      /** Event identity, for de-duplication by views and clients. */
      id: Type.String({ minLength: 1, maxLength: 200 }),
      conversationId: ConversationId,
      /** Who caused it: a user id, or `system` for the media worker. */
      actor: Type.Union([UserId, Type.Literal('system')]),
      at: Millis,
      data,
    },
    { $id: type, description },
  )

export const ConversationCreated = event(
  'conversation.created',
  Type.Object({
    kind: ConversationKind,
    title: Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()]),
    members: Type.Array(Member, { minItems: 1, maxItems: 100_000 }),
    /**
     * Added after v1 events were first stored, optional so they stay valid as they are (absent
     * means none): users the creator named who let only their contacts, or nobody, add them.
     */
    invited: Type.Optional(
      Type.Array(UserId, {
        maxItems: 100_000,
        description:
          'Users invited instead of added: their setting asks for an invitation. Each joins with `member.joined` if they accept.',
      }),
    ),
  }),
  'The first event of every conversation. A direct conversation has exactly two admins and no invitations.',
)

export const ConversationRenamed = event(
  'conversation.renamed',
  Type.Object({ title: Type.String({ minLength: 1, maxLength: 100 }) }),
  'A group got a new title (an admin, or any member when `editInfo` is `everyone`).',
)

export const GroupSettings = Type.Object(
  {
    editInfo: Type.Optional(
      Type.Union([Type.Literal('admins'), Type.Literal('everyone')], {
        description: 'Who may change the title, description and avatar (default `admins`).',
      }),
    ),
    sendMessages: Type.Optional(
      Type.Union([Type.Literal('admins'), Type.Literal('everyone')], {
        description: 'Who may send messages (default `everyone`; `admins`: an announcement group).',
      }),
    ),
  },
  { $id: 'GroupSettings', additionalProperties: false },
)
export type GroupSettings = Static<typeof GroupSettings>

/** Longest group description, in UTF-16 code units. */
export const MAX_DESCRIPTION_LENGTH = 1024

export const ConversationProfileChanged = event(
  'conversation.profile_changed',
  Type.Object({
    description: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: MAX_DESCRIPTION_LENGTH }), Type.Null()], {
        description: 'The new description; null removes it.',
      }),
    ),
    avatar: Type.Optional(
      Type.Union([MediaRef, Type.Null()], {
        description:
          'The new avatar, an image uploaded through `POST /v1/media` (its variants follow as `media.ready`); null removes it.',
      }),
    ),
  }),
  "A group's description or avatar changed (an admin, or any member when `editInfo` is `everyone`). Absent fields stay as they were.",
)

export const ConversationSettingsChanged = event(
  'conversation.settings_changed',
  GroupSettings,
  'An admin changed who may edit the group info or send messages. Absent settings stay as they were.',
)

export const MemberAdded = event(
  'member.added',
  Type.Object({ userId: UserId, role: Role }),
  'An admin added a user to a group. The user receives events from this one on.',
)

export const MemberInvited = event(
  'member.invited',
  Type.Object({ userId: UserId }),
  'An admin invited a user whose setting does not let the admin add them directly. The user is not a member and receives nothing of the group; they may accept (`member.joined`) or decline (`member.invite_cancelled`).',
)

export const LinkId = Type.String({
  pattern: '^[A-Za-z0-9_-]{16}$',
  description: 'An invite link of a group.',
})

export const MemberJoined = event(
  'member.joined',
  Type.Object({
    userId: UserId,
    /** Added like `invited` (ADR 0216): the invite link they joined with; absent: an invitation. */
    link: Type.Optional(LinkId),
  }),
  'An invited user accepted, or a user joined with an invite link (`link`): they are a member from this event on, like one added by an admin. `actor` is that user, or, for a link that needs approval, the admin who approved their `member.join_requested` (ADR 0217).',
)

export const LinkCreated = event(
  'conversation.link_created',
  Type.Object({
    linkId: LinkId,
    /** SHA-256 (base64url) of the link's secret: the token itself is given to its admin only. */
    hash: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }),
    /** Added like `member.joined`'s `link` (ADR 0217): absent means the link admits directly. */
    approval: Type.Optional(
      Type.Literal(true, {
        description:
          'Joins through this link need an admin’s approval: using it stores `member.join_requested`, not `member.joined`.',
      }),
    ),
  }),
  'An admin created an invite link: anyone logged in who has its token may preview the group and join it (or ask to, with `approval`).',
)

export const MemberJoinRequested = event(
  'member.join_requested',
  Type.Object({ userId: UserId, link: LinkId }),
  'A user (`actor`, who is `userId`) used an invite link that needs approval: they ask to join and are not a member. An admin answers with `member.joined` (approved) or `member.join_denied`; the user may withdraw with `member.join_cancelled`. Revoking the link ends its pending requests without an event (ADR 0217).',
)

export const MemberJoinDenied = event(
  'member.join_denied',
  Type.Object({ userId: UserId }),
  'An admin (`actor`) denied the pending join request of `userId`. Final: the user cannot ask to join this group again (an admin may still add or invite them).',
)

export const MemberJoinCancelled = event(
  'member.join_cancelled',
  Type.Object({ userId: UserId }),
  'The requester (`actor`, who is `userId`) withdrew their pending join request; they may ask again.',
)

export const LinkRevoked = event(
  'conversation.link_revoked',
  Type.Object({ linkId: LinkId }),
  'An admin revoked an invite link: its token no longer previews or joins.',
)

export const MemberInviteCancelled = event(
  'member.invite_cancelled',
  Type.Object({ userId: UserId }),
  'An invitation ended without a join: declined by the invitee (`actor` is `userId`; the group cannot invite them again) or withdrawn by an admin.',
)

export const MemberRemoved = event(
  'member.removed',
  Type.Object({ userId: UserId }),
  'An admin removed a member. The member receives this event and nothing after it.',
)

export const MemberLeft = event(
  'member.left',
  Type.Object({ userId: UserId }),
  'A member left the group. When the last admin leaves, the longest-standing remaining member becomes admin (a rule of the fold, so no second event is needed).',
)

export const MemberRoleChanged = event(
  'member.role_changed',
  Type.Object({ userId: UserId, role: Role }),
  'An admin promoted or demoted a member, or the group promoted one because its last admin left.',
)

/** Longest quoted preview a reply carries, in UTF-16 code units. */
export const REPLY_PREVIEW_LENGTH = 120

export const ReplyRef = Type.Object(
  {
    seq: Seq,
    senderId: UserId,
    kind: MessageKind,
    preview: Type.Optional(
      Type.String({
        maxLength: REPLY_PREVIEW_LENGTH,
        description: 'The start of the quoted text or caption, as it was when the reply was sent.',
      }),
    ),
  },
  {
    $id: 'ReplyRef',
    description:
      'The earlier message of the same conversation a message replies to. Readers hide `preview` once the quoted message is deleted for everyone.',
  },
)
export type ReplyRef = Static<typeof ReplyRef>

export const MessageSent = event(
  'message.sent',
  Type.Object({
    clientMsgId: ClientMsgId,
    deviceId: DeviceId,
    /** Dense, 1-based number of this message among the conversation's messages. */
    n: Type.Integer({ minimum: 1 }),
    kind: MessageKind,
    text: Type.Optional(Type.String({ maxLength: 65_536 })),
    media: Type.Optional(MediaRef),
    /**
     * Added after v1 events were first stored, optional so they stay valid as they are (ADR 0210,
     * as `conversation.created`'s `invited`): absent means not a reply.
     */
    replyTo: Type.Optional(ReplyRef),
    /** Added like `replyTo`: absent means nobody is mentioned. Groups only (ADR 0214). */
    mentions: Type.Optional(
      Type.Array(UserId, {
        maxItems: 50,
        uniqueItems: true,
        description:
          'Members this message mentions (`@user` in the text is the client’s rendering of these ids): each counts it in their inbox’s `unreadMentions` and is notified even where they muted the group.',
      }),
    ),
    /** Added like `replyTo`: absent means not forwarded. */
    forwarded: Type.Optional(
      Type.Object(
        {
          count: Type.Integer({
            minimum: 1,
            description:
              'How many forwards led here (1: forwarded once). From `forwardedManyTimes` on (hello limits) clients show "forwarded many times".',
          }),
        },
        {
          description:
            'A forwarded message: its content came from another message, whose sender it does not name.',
        },
      ),
    ),
  }),
  'A message: text, or media with an optional caption in `text`. `actor` is the sender.',
)

export const MessageEdited = event(
  'message.edited',
  Type.Object({
    /** The edited message. Only its sender edits it; its kind and media stay. */
    seq: Seq,
    text: Type.String({ minLength: 1, maxLength: 65_536 }),
  }),
  'The sender replaced the text (or caption) of their message at `seq`. Views keep the latest text and an edited mark; the earlier texts stay in the log only.',
)

export const MessageDeleted = event(
  'message.deleted',
  Type.Object({
    seq: Seq,
    /** The deleted message's sender, as the writer read it from the log (a fixed fact of it). */
    senderId: UserId,
    /** The media the message carried, if any: it becomes unreachable and is purged (ADR 0212). */
    mediaId: Type.Optional(MediaId),
  }),
  'The message at `seq` was deleted for everyone, by its sender or a group admin (`actor`). Views keep a tombstone; its text, media, quote and reactions are gone from every read.',
)

export const MessageHidden = event(
  'message.hidden',
  Type.Object({ seq: Seq }),
  'Delete for me: the actor hides the message at `seq` from their own views and devices. Stored on the receipt lane (`.r`): it concerns the actor alone and is sent to no other member.',
)

export const MessageReacted = event(
  'message.reacted',
  Type.Object({
    seq: Seq,
    /** The reacted message's sender, as the writer read it from the log: who a reaction notifies. */
    senderId: UserId,
    emoji: Type.Union([Type.String({ minLength: 1, maxLength: 32 }), Type.Null()], {
      description: "One emoji (one grapheme); null removes the actor's reaction.",
    }),
  }),
  "The actor's reaction to the message at `seq`: one per member per message, replaced by the next, removed by null.",
)

export const MediaReady = event(
  'media.ready',
  Type.Object({
    mediaId: MediaId,
    variants: Type.Array(Variant, { maxItems: 16 }),
    width: Type.Optional(Type.Integer({ minimum: 1 })),
    height: Type.Optional(Type.Integer({ minimum: 1 })),
    durationMs: Type.Optional(Type.Integer({ minimum: 0 })),
    /** A tiny blurred preview (data URL) for images and video posters. */
    placeholder: Type.Optional(Type.String({ maxLength: 4096 })),
    /** Audio loudness summary, 0-255 per bucket, for drawing a voice note. */
    waveform: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 255 }), { maxItems: 256 })),
  }),
  'The media worker made the variants of a media shared in this conversation.',
)

export const MediaFailed = event(
  'media.failed',
  Type.Object({
    mediaId: MediaId,
    code: Type.String({ maxLength: 64 }),
    reason: Type.String({ maxLength: 500 }),
  }),
  'The media worker gave up on a media for good; `code` comes from the error catalogue.',
)

export const ReceiptDelivered = event(
  'receipt.delivered',
  Type.Object({ upTo: Seq }),
  'The actor has received every message of the conversation up to stream sequence `upTo`.',
)

export const ReceiptRead = event(
  'receipt.read',
  Type.Object({ upTo: Seq }),
  'The actor has read every message of the conversation up to stream sequence `upTo`.',
)

const ReceiptMark = Type.Object({ userId: UserId, upTo: Seq })

export const ReceiptBatch = event(
  'receipt.batch',
  Type.Object({
    delivered: Type.Array(ReceiptMark, { maxItems: 1024 }),
    read: Type.Array(ReceiptMark, { maxItems: 1024 }),
  }),
  "Several members' receipts of a group, appended by the gateway (`actor` is `system`) instead of one receipt event each (ADR 0070): each entry means what `receipt.delivered` / `receipt.read` with that `userId` as actor means. Only in groups; a batch of one member is never written (that is a plain receipt).",
)

export const EVENT_SCHEMAS = [
  ConversationCreated,
  ConversationRenamed,
  ConversationProfileChanged,
  ConversationSettingsChanged,
  MemberAdded,
  MemberInvited,
  MemberJoined,
  LinkCreated,
  LinkRevoked,
  MemberJoinRequested,
  MemberJoinDenied,
  MemberJoinCancelled,
  MemberInviteCancelled,
  MemberRemoved,
  MemberLeft,
  MemberRoleChanged,
  MessageSent,
  MessageEdited,
  MessageDeleted,
  MessageHidden,
  MessageReacted,
  MediaReady,
  MediaFailed,
  ReceiptDelivered,
  ReceiptRead,
  ReceiptBatch,
] as const

export const ChatEvent = Type.Union([...EVENT_SCHEMAS], {
  $id: 'ChatEvent',
  description: 'Any stored event of a conversation log.',
})
export type ChatEvent = Static<typeof ChatEvent>
export type EventType = ChatEvent['type']
export type EventOf<T extends EventType> = Extract<ChatEvent, { type: T }>
export type EventData<T extends EventType> = EventOf<T>['data']

export const EVENT_TYPES: EventType[] = (EVENT_SCHEMAS as readonly TObject[]).map(
  (s) => (s.properties.type as unknown as { const: EventType }).const,
)

/**
 * Which lane of the conversation an event type is appended to: every `receipt.*` (batches too) and
 * `message.hidden` are `r`, per-member facts that concern few readers (ADR 0212).
 */
export const laneOf = (type: EventType): Lane =>
  type.startsWith('receipt.') || type === 'message.hidden' ? 'r' : 'm'

export const eventSchemaByType: Record<EventType, TObject> = Object.fromEntries(
  EVENT_TYPES.map((t, i) => [t, EVENT_SCHEMAS[i]]),
) as unknown as Record<EventType, TObject>

/**
 * A user's membership notice on the per-user subject: derived from the conversation logs so a
 * gateway can find a user's conversations without scanning them. Idempotent by `id`.
 */
export const MembershipNotice = Type.Object(
  {
    v: Type.Literal(1),
    id: Type.String({ maxLength: 200 }),
    userId: UserId,
    conversationId: ConversationId,
    joined: Type.Boolean(),
    /** Stream sequence of the conversation event that caused it. */
    convSeq: Seq,
    at: Millis,
  },
  { $id: 'MembershipNotice', description: 'A user joined or left a conversation.' },
)
export type MembershipNotice = Static<typeof MembershipNotice>

/**
 * An invitation as the invitee's index sees it, on their invitation subject (`names.userInvitationSubject`,
 * in the same per-user stream as membership notices but on a subject of its own, so a reader of
 * membership notices never meets one): the group's log says whether it is still pending.
 * Idempotent by `id`.
 */
export const InvitationNotice = Type.Object(
  {
    v: Type.Literal(1),
    id: Type.String({ maxLength: 200 }),
    userId: UserId,
    conversationId: ConversationId,
    /** True: invited by the event at `convSeq`; false: that event ended the invitation. */
    pending: Type.Boolean(),
    /** The user who invited, or who ended the invitation. */
    by: UserId,
    convSeq: Seq,
    at: Millis,
  },
  { $id: 'InvitationNotice', description: 'A user was invited to a group, or an invitation ended.' },
)
export type InvitationNotice = Static<typeof InvitationNotice>

/** A dead-letter record: the event a consumer could not apply, and why. */
export const DeadLetter = Type.Object(
  {
    v: Type.Literal(1),
    source: Type.String({ maxLength: 100 }),
    stream: Type.String({ maxLength: 100 }),
    seq: Seq,
    subject: Type.String({ maxLength: 300 }),
    code: Type.String({ maxLength: 64 }),
    reason: Type.String({ maxLength: 2000 }),
    payload: Type.String({ description: 'The raw event, base64.' }),
    at: Millis,
  },
  { $id: 'DeadLetter' },
)
export type DeadLetter = Static<typeof DeadLetter>
