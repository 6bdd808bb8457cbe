import { type Static, Type } from '@sinclair/typebox'
import { ConversationId, MediaId, Millis, UserId } from './ids.js'

export const MediaKind = Type.Union(
  [Type.Literal('image'), Type.Literal('video'), Type.Literal('audio'), Type.Literal('document')],
  { description: 'What the bytes are; decided by the server from magic numbers.' },
)
export type MediaKind = Static<typeof MediaKind>

export const VariantName = Type.Union(
  [
    Type.Literal('thumb'),
    Type.Literal('thumb-fallback'),
    Type.Literal('display'),
    Type.Literal('display-fallback'),
    Type.Literal('video'),
    Type.Literal('poster'),
    Type.Literal('audio'),
  ],
  { description: 'A rendition made by the media worker; `original` is always available too.' },
)
export type VariantName = Static<typeof VariantName>

export const Variant = Type.Object({
  name: VariantName,
  mime: Type.String({ maxLength: 100 }),
  size: Type.Integer({ minimum: 0 }),
  width: Type.Optional(Type.Integer({ minimum: 1 })),
  height: Type.Optional(Type.Integer({ minimum: 1 })),
})
export type Variant = Static<typeof Variant>

/** What a message says about the media it carries, fixed at send time. */
export const MediaRef = Type.Object({
  mediaId: MediaId,
  kind: MediaKind,
  mime: Type.String({ maxLength: 100 }),
  size: Type.Integer({ minimum: 0 }),
  name: Type.Optional(Type.String({ maxLength: 255 })),
})
export type MediaRef = Static<typeof MediaRef>

/** A unit of work on the media work queue: make the variants of one upload, report to one conversation. */
export const MediaJob = Type.Object(
  {
    v: Type.Literal(1),
    mediaId: MediaId,
    conversationId: ConversationId,
    uploaderId: UserId,
    kind: MediaKind,
    mime: Type.String({ maxLength: 100 }),
    size: Type.Integer({ minimum: 0 }),
    name: Type.Optional(Type.String({ maxLength: 255 })),
    /** S3 key of the original upload. */
    key: Type.String({ maxLength: 512 }),
    enqueuedAt: Millis,
  },
  {
    $id: 'MediaJob',
    description: 'Published by the gateway when a message first names a media in a conversation.',
  },
)
export type MediaJob = Static<typeof MediaJob>

/** S3 keys: one prefix per media id, so a media's objects are listed and deleted together. */
export const mediaKeys = {
  original: (mediaId: string) => `media/${mediaId}/original`,
  variant: (mediaId: string, name: string) => `media/${mediaId}/${name}`,
  manifest: (mediaId: string) => `media/${mediaId}/manifest.json`,
} as const
