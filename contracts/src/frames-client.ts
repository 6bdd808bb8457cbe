import { type Static, type TObject, type TProperties, Type } from '@sinclair/typebox'
import { MAX_DESCRIPTION_LENGTH } from './events.js'
import { ClientMsgId, ConversationId, MediaId, RequestId, Seq, UserId } from './ids.js'

/** Client → server frames. Every frame is a JSON object with a `type`. */

const frame = <T extends string, P extends TProperties>(type: T, props: P, description: string) =>
  Type.Object(
    { type: Type.Literal(type), ...props },
    { $id: `client.${type}`, description, additionalProperties: false },
  )

const rid = { rid: Type.Optional(RequestId) }
const ridRequired = { rid: RequestId }

export const AuthFrame = frame(
  'auth',
  { token: Type.String({ minLength: 1, maxLength: 4096 }) },
  'First frame of a connection that did not authenticate in the Sec-WebSocket-Protocol header.',
)

export const SyncFrame = frame(
  'sync',
  {
    ...rid,
    cursors: Type.Optional(
      Type.Record(ConversationId, Seq, {
        description: 'Per conversation, the last stream sequence this device has processed.',
      }),
    ),
    tail: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 500,
        description: 'For conversations without a cursor: how many of the latest events to send.',
      }),
    ),
  },
  'Asks for the inbox and every event after the cursors, before live events. Send once after `hello`.',
)

export const SendFrame = frame(
  'send',
  {
    ...ridRequired,
    conversationId: ConversationId,
    clientMsgId: ClientMsgId,
    kind: Type.Union([
      Type.Literal('text'),
      Type.Literal('image'),
      Type.Literal('video'),
      Type.Literal('audio'),
      Type.Literal('document'),
    ]),
    text: Type.Optional(Type.String({ description: 'The text, or the caption of a media message.' })),
    mediaId: Type.Optional(MediaId),
    replyTo: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'The `seq` of an earlier message of this conversation this one replies to; its kind and a preview travel with the reply.',
      }),
    ),
    mentions: Type.Optional(
      Type.Array(UserId, {
        maxItems: 50,
        uniqueItems: true,
        description:
          'Group members this message mentions. Users who are not members (or yourself) are dropped; in a direct conversation: INVALID_FRAME.',
      }),
    ),
    forward: Type.Optional(
      Type.Object(
        {
          conversationId: ConversationId,
          seq: Type.Integer({ minimum: 1 }),
        },
        {
          additionalProperties: false,
          description:
            'Forwards the message at `seq` of a conversation you can see it in: its content (text, media, caption) is sent here, marked forwarded, without its sender. `kind` must be its kind; `text` and `mediaId` are not given.',
        },
      ),
    ),
    retry: Type.Optional(
      Type.Boolean({
        description: 'Set when resending after a reconnect: asks for the durable de-duplication check.',
      }),
    ),
  },
  'Sends a message. Answered by `sent` (stored) or `error`.',
)

export const ReceiptFrame = frame(
  'receipt',
  {
    conversationId: ConversationId,
    kind: Type.Union([Type.Literal('delivered'), Type.Literal('read')]),
    upTo: Seq,
  },
  'Moves this user’s delivered or read watermark in a conversation. Lower or equal watermarks are ignored.',
)

export const TypingFrame = frame(
  'typing',
  { conversationId: ConversationId, active: Type.Boolean() },
  'Ephemeral: tells the other members that this user is (or stopped) typing. Not stored.',
)

export const PresenceSubscribeFrame = frame(
  'presence.subscribe',
  { ...rid, userIds: Type.Array(UserId, { maxItems: 256 }) },
  'Replaces the set of users whose presence this connection receives (at most 256).',
)

export const DirectOpenFrame = frame(
  'direct.open',
  { ...ridRequired, peerId: UserId },
  'Opens the direct conversation with a user; asking again returns the same conversation.',
)

export const GroupCreateFrame = frame(
  'group.create',
  {
    ...ridRequired,
    title: Type.String({ minLength: 1, maxLength: 100 }),
    memberIds: Type.Array(UserId, { maxItems: 1023, uniqueItems: true }),
    clientGroupId: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_-]{8,64}$',
        description:
          'Chosen by the client, unique per group it creates: makes the create safe to retry (the group id is derived from it and the creator, so a retry answers with the same group).',
      }),
    ),
  },
  'Creates a group; the creator is its admin. Named users whose setting does not let the creator add them are invited instead (`ok.invited`).',
)

const groupMemberCommand = <T extends string>(type: T, description: string) =>
  frame(type, { ...ridRequired, conversationId: ConversationId, userId: UserId }, description)

export const GroupAddFrame = groupMemberCommand(
  'group.add',
  'Admin only: adds a user to the group, or invites them when their setting asks for an invitation (`ok.invited`).',
)
export const GroupRemoveFrame = groupMemberCommand(
  'group.remove',
  'Admin only: removes a member, or withdraws a pending invitation.',
)
export const GroupPromoteFrame = groupMemberCommand('group.promote', 'Admin only: makes a member admin.')
export const GroupDemoteFrame = groupMemberCommand(
  'group.demote',
  'Admin only: makes an admin a plain member.',
)

export const GroupLeaveFrame = frame(
  'group.leave',
  { ...ridRequired, conversationId: ConversationId },
  'Leaves a group.',
)

export const GroupInviteAcceptFrame = frame(
  'group.invite.accept',
  { ...ridRequired, conversationId: ConversationId },
  'Accepts a pending invitation to a group: you become a member. Accepting again answers `ok` without `seq`.',
)

export const GroupInviteDeclineFrame = frame(
  'group.invite.decline',
  { ...ridRequired, conversationId: ConversationId },
  'Declines a pending invitation to a group; the group cannot invite you again.',
)

export const GroupRenameFrame = frame(
  'group.rename',
  { ...ridRequired, conversationId: ConversationId, title: Type.String({ minLength: 1, maxLength: 100 }) },
  'Renames the group: an admin, or any member when the group lets everyone edit its info.',
)

const messageCommand = <T extends string, P extends TProperties>(type: T, props: P, description: string) =>
  frame(
    type,
    {
      ...ridRequired,
      conversationId: ConversationId,
      seq: Type.Integer({ minimum: 1, description: 'The `seq` of the message (its `message.sent` event).' }),
      ...props,
    },
    description,
  )

export const MessageEditFrame = messageCommand(
  'message.edit',
  { text: Type.String({ minLength: 1 }) },
  'The sender replaces the text or caption of their message, within `editWindowMs` of sending it. Answered by `ok` with the `seq` of the `message.edited` event.',
)

export const MessageDeleteFrame = messageCommand(
  'message.delete',
  {
    for: Type.Union([Type.Literal('me'), Type.Literal('everyone')], {
      description:
        '`me`: hidden from your own devices only. `everyone`: a tombstone replaces it for all (its sender within `deleteWindowMs`, a group admin at any time).',
    }),
  },
  'Deletes a message for you or for everyone. Deleting again answers `ok` without `seq`.',
)

export const MessageReactFrame = messageCommand(
  'message.react',
  {
    emoji: Type.Union([Type.String({ minLength: 1, maxLength: 32 }), Type.Null()], {
      description: 'One emoji; it replaces your earlier reaction to the message. null removes it.',
    }),
  },
  'Sets or removes your reaction to a message (one per member per message).',
)

export const GroupProfileFrame = frame(
  'group.profile',
  {
    ...ridRequired,
    conversationId: ConversationId,
    description: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: MAX_DESCRIPTION_LENGTH }), Type.Null()], {
        description: 'The new description; null removes it.',
      }),
    ),
    avatarMediaId: Type.Optional(
      Type.Union([MediaId, Type.Null()], {
        description: 'An image you uploaded (`POST /v1/media`) as the new avatar; null removes it.',
      }),
    ),
  },
  'Changes the group description and/or avatar (admins, or everyone when `editInfo` is `everyone`). The title is `group.rename`.',
)

export const GroupSettingsFrame = frame(
  'group.settings',
  {
    ...ridRequired,
    conversationId: ConversationId,
    editInfo: Type.Optional(Type.Union([Type.Literal('admins'), Type.Literal('everyone')])),
    sendMessages: Type.Optional(Type.Union([Type.Literal('admins'), Type.Literal('everyone')])),
  },
  'Admin only: who may change the group info (`editInfo`) and who may send (`sendMessages`).',
)

/** An invite link's token: `<conversationId>.<secret>` (ADR 0216). */
const LinkToken = Type.String({ pattern: '^[cd]_[A-Za-z0-9_-]{6,60}\\.[A-Za-z0-9_-]{22}$' })

export const GroupLinkCreateFrame = frame(
  'group.link.create',
  {
    ...ridRequired,
    conversationId: ConversationId,
    approval: Type.Optional(
      Type.Boolean({
        description: 'True: who uses the link asks to join, and an admin approves or denies (ADR 0217).',
      }),
    ),
  },
  'Admin only: creates an invite link; `ok.link` holds its `linkId` and `token` (shown to this admin only: share it).',
)

export const GroupLinkRevokeFrame = frame(
  'group.link.revoke',
  { ...ridRequired, conversationId: ConversationId, linkId: Type.String({ pattern: '^[A-Za-z0-9_-]{16}$' }) },
  'Admin only: revokes an invite link.',
)

export const GroupLinkPreviewFrame = frame(
  'group.link.preview',
  { ...ridRequired, token: LinkToken },
  'Anyone logged in: the group an invite link leads to (`ok.preview`: title, member count, description, avatar). Rate limited.',
)

export const GroupLinkJoinFrame = frame(
  'group.link.join',
  { ...ridRequired, token: LinkToken },
  'Anyone logged in joins the group of an invite link (`ok` with the conversation and `seq`; already a member: no `seq`), or, through a link that needs approval, asks to join (`ok.requested`). Rate limited.',
)

const JoinAnswer = { ...ridRequired, conversationId: ConversationId, userId: UserId }

export const GroupJoinApproveFrame = frame(
  'group.join.approve',
  JoinAnswer,
  'Admin only: approves `userId`’s pending join request; they become a member (`member.joined` with the link).',
)

export const GroupJoinDenyFrame = frame(
  'group.join.deny',
  JoinAnswer,
  'Admin only: denies `userId`’s pending join request (`member.join_denied`); they cannot ask again.',
)

export const GroupJoinCancelFrame = frame(
  'group.join.cancel',
  { ...ridRequired, conversationId: ConversationId },
  'Withdraws your own pending join request to a group (`member.join_cancelled`).',
)

export const PingFrame = frame('ping', rid, 'Application-level ping; answered by `pong`.')

export const CLIENT_FRAMES = [
  AuthFrame,
  SyncFrame,
  SendFrame,
  ReceiptFrame,
  TypingFrame,
  PresenceSubscribeFrame,
  DirectOpenFrame,
  GroupCreateFrame,
  GroupAddFrame,
  GroupRemoveFrame,
  GroupPromoteFrame,
  GroupDemoteFrame,
  GroupLeaveFrame,
  GroupRenameFrame,
  GroupInviteAcceptFrame,
  GroupInviteDeclineFrame,
  MessageEditFrame,
  MessageDeleteFrame,
  MessageReactFrame,
  GroupProfileFrame,
  GroupSettingsFrame,
  GroupLinkCreateFrame,
  GroupLinkRevokeFrame,
  GroupLinkPreviewFrame,
  GroupLinkJoinFrame,
  GroupJoinApproveFrame,
  GroupJoinDenyFrame,
  GroupJoinCancelFrame,
  PingFrame,
] as const

export const ClientFrame = Type.Union([...CLIENT_FRAMES], { $id: 'ClientFrame' })
export type ClientFrame = Static<typeof ClientFrame>
export type ClientFrameType = ClientFrame['type']
export type ClientFrameOf<T extends ClientFrameType> = Extract<ClientFrame, { type: T }>

export const clientFrameSchemas: Record<ClientFrameType, TObject> = Object.fromEntries(
  CLIENT_FRAMES.map((f) => [f.properties.type.const, f]),
) as unknown as Record<ClientFrameType, TObject>
