import { type Static, type TObject, type TProperties, Type } from '@sinclair/typebox'
import { ErrorCodeSchema } from './errors.js'
import { ChatEvent } from './events.js'
import { Invitation } from './http.js'
import { ClientMsgId, ConversationId, DeviceId, Millis, RequestId, Seq, UserId } from './ids.js'
import { InboxEntry } from './inbox.js'
import { MediaRef } from './media.js'

/** Server → client frames. */

const frame = <T extends string, P extends TProperties>(type: T, props: P, description: string) =>
  Type.Object(
    { type: Type.Literal(type), ...props },
    { $id: `server.${type}`, description, additionalProperties: false },
  )

export const HelloFrame = frame(
  'hello',
  {
    userId: UserId,
    deviceId: DeviceId,
    sessionId: Type.String(),
    serverTime: Millis,
    limits: Type.Record(Type.String(), Type.Integer(), { description: 'The effective protocol limits.' }),
  },
  'Sent once the connection is authenticated. The client sends `sync` next.',
)

export const SentFrame = frame(
  'sent',
  {
    rid: RequestId,
    conversationId: ConversationId,
    clientMsgId: ClientMsgId,
    seq: Seq,
    n: Type.Integer({ minimum: 1 }),
    at: Millis,
    duplicate: Type.Boolean({ description: 'True when this send was a retry of a stored message.' }),
  },
  'The message is stored in the log (JetStream acknowledged it): the sender’s first tick.',
)

export const EventFrame = frame(
  'event',
  {
    conversationId: ConversationId,
    seq: Seq,
    prev: Type.Integer({
      minimum: 0,
      description:
        'Stream sequence of the previous event on the same lane of this conversation (0 for the first): a client that saw `prev` has no gap.',
    }),
    lane: Type.Union([Type.Literal('m'), Type.Literal('r')]),
    event: ChatEvent,
    rid: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          'On the event of a message this connection sent: the `rid` of that `send`. It answers the send (no `sent` frame follows): the message is stored and accepted with this `seq`.',
      }),
    ),
  },
  'A stored event of a conversation, from sync or live. Delivered at least once: de-duplicate by `seq`.',
)

export const InboxFrame = frame(
  'inbox',
  { rid: Type.Optional(RequestId), conversations: Type.Array(InboxEntry) },
  'The inbox, first answer to `sync`.',
)

export const SyncedFrame = frame(
  'synced',
  {
    rid: Type.Optional(RequestId),
    cursors: Type.Record(ConversationId, Seq),
  },
  'Every stored event after the device’s cursors has been sent; live events follow.',
)

export const OkFrame = frame(
  'ok',
  {
    rid: RequestId,
    conversationId: Type.Optional(ConversationId),
    seq: Type.Optional(Seq),
    invited: Type.Optional(
      Type.Array(UserId, {
        description:
          '`group.create` and `group.add`: the users invited instead of added, because their setting asks for an invitation.',
      }),
    ),
    link: Type.Optional(
      Type.Object(
        { linkId: Type.String(), token: Type.String() },
        { description: '`group.link.create`: the new link; the token is the secret to share.' },
      ),
    ),
    preview: Type.Optional(
      Type.Object(
        {
          title: Type.Union([Type.String(), Type.Null()]),
          memberCount: Type.Integer({ minimum: 0 }),
          description: Type.Optional(Type.String()),
          avatar: Type.Optional(MediaRef),
          approval: Type.Optional(
            Type.Literal(true, { description: 'Joining through this link asks an admin first.' }),
          ),
        },
        { description: '`group.link.preview`: what the link leads to.' },
      ),
    ),
    requested: Type.Optional(
      Type.Literal(true, {
        description:
          '`group.link.join` through a link that needs approval: your join request is stored (`seq`); you are not a member until an admin approves.',
      }),
    ),
  },
  'A command succeeded; for conversation commands, the conversation and the sequence of the stored event.',
)

export const ErrorFrame = frame(
  'error',
  {
    rid: Type.Optional(RequestId),
    code: ErrorCodeSchema,
    message: Type.String(),
    retryable: Type.Boolean(),
    retryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
    details: Type.Optional(Type.Array(Type.String())),
  },
  'A refused frame. The connection stays open unless a close frame follows.',
)

export const TypingEventFrame = frame(
  'typing',
  { conversationId: ConversationId, userId: UserId, active: Type.Boolean() },
  'Another member is (or stopped) typing. Ephemeral.',
)

export const PresenceFrame = frame(
  'presence',
  { userId: UserId, online: Type.Boolean(), lastSeen: Type.Union([Millis, Type.Null()]) },
  'Presence of a subscribed user: on subscribe, then on every change.',
)

export const InvitationFrame = frame(
  'invitation',
  {
    conversationId: ConversationId,
    pending: Type.Boolean({
      description:
        'True: you are invited to the group now (`invitation` says by whom); false: the invitation ended (you accepted or declined it, or an admin withdrew it).',
    }),
    invitation: Type.Optional(Invitation),
  },
  'An invitation of yours to a group changed, pushed live to your synced devices when it is stored. What the group’s log holds when the gateway forwards it, like `GET /v1/invitations`; de-duplicate by `conversationId` and `invitation.seq`.',
)

export const MuteFrame = frame(
  'mute',
  {
    conversationId: ConversationId,
    muted: Type.Boolean(),
    until: Type.Union([Millis, Type.Null()], { description: 'When the mute ends; null: until unmuted.' }),
  },
  'You muted or unmuted a conversation (on any device): sent to your connected devices. The full list is `GET /v1/users/me/mutes`.',
)

export const PongFrame = frame(
  'pong',
  { rid: Type.Optional(RequestId), serverTime: Millis },
  'Answer to `ping`.',
)

export const SERVER_FRAMES = [
  HelloFrame,
  SentFrame,
  EventFrame,
  InboxFrame,
  SyncedFrame,
  OkFrame,
  ErrorFrame,
  TypingEventFrame,
  PresenceFrame,
  InvitationFrame,
  MuteFrame,
  PongFrame,
] as const

export const ServerFrame = Type.Union([...SERVER_FRAMES], { $id: 'ServerFrame' })
export type ServerFrame = Static<typeof ServerFrame>
export type ServerFrameType = ServerFrame['type']
export type ServerFrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>

export const serverFrameSchemas: Record<ServerFrameType, TObject> = Object.fromEntries(
  SERVER_FRAMES.map((f) => [f.properties.type.const, f]),
) as unknown as Record<ServerFrameType, TObject>
