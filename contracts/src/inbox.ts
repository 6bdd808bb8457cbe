import { type Static, Type } from '@sinclair/typebox'
import { ConversationKind, GroupSettings, MessageKind, Role } from './events.js'
import { ConversationId, Millis, Seq, UserId } from './ids.js'
import { MediaRef } from './media.js'

/** A conversation as a user's inbox shows it; served by the `inbox` frame and `GET /v1/conversations`. */
export const InboxEntry = Type.Object(
  {
    conversationId: ConversationId,
    kind: ConversationKind,
    title: Type.Union([Type.String(), Type.Null()]),
    role: Role,
    memberCount: Type.Integer({ minimum: 0 }),
    /** For a direct conversation, the other member. */
    peerId: Type.Optional(UserId),
    lastSeq: Seq,
    lastMessage: Type.Union([
      Type.Object({
        seq: Seq,
        n: Type.Integer({ minimum: 1 }),
        senderId: UserId,
        kind: MessageKind,
        text: Type.Optional(Type.String()),
        at: Millis,
        edited: Type.Optional(
          Type.Literal(true, { description: 'Its text was edited; `text` is the latest.' }),
        ),
        deleted: Type.Optional(
          Type.Literal(true, { description: 'Deleted for everyone: a tombstone without text.' }),
        ),
      }),
      Type.Null(),
    ]),
    description: Type.Optional(Type.String({ description: 'A group’s description.' })),
    avatar: Type.Optional(MediaRef),
    settings: Type.Optional(GroupSettings),
    unread: Type.Integer({ minimum: 0 }),
    unreadMentions: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Unread messages that mention this user (groups; counted separately from `unread`).',
      }),
    ),
    /** This user's own watermarks (stream sequences). */
    deliveredUpTo: Seq,
    readUpTo: Seq,
  },
  { $id: 'InboxEntry' },
)
export type InboxEntry = Static<typeof InboxEntry>
