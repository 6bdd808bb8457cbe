import { BigIntType, EntitySchema } from '@mikro-orm/core'

/**
 * Media tables (created by migration 0040-media): who uploaded what, and in which conversations
 * it was shared — the two facts download authorisation rests on. Variants are not recorded
 * here: they live in S3 under the media's prefix and are announced by `media.ready`.
 */
const millis = () => ({ type: new BigIntType('number') })

export interface MediaRow {
  id: string
  uploaderId: string
  kind: string
  mime: string
  size: number
  /** Sanitised file name, kept for documents only. */
  name: string | null
  key: string
  createdAt: number
}

export const MediaSchema = new EntitySchema<MediaRow>({
  name: 'Media',
  tableName: 'media',
  properties: {
    id: { type: 'string', primary: true },
    uploaderId: { type: 'string' },
    kind: { type: 'string' },
    mime: { type: 'string' },
    size: { type: new BigIntType('number') },
    name: { type: 'string', nullable: true },
    key: { type: 'string' },
    createdAt: millis(),
  },
})

export interface MediaShareRow {
  mediaId: string
  conversationId: string
  /** Stream sequence of the first message that carried the media into the conversation. */
  seq: number
  /** When the media job was published; null until then (a crash in between is retried). */
  enqueuedAt: number | null
}

export const MediaShareSchema = new EntitySchema<MediaShareRow>({
  name: 'MediaShare',
  tableName: 'media_shares',
  properties: {
    mediaId: { type: 'string', primary: true },
    conversationId: { type: 'string', primary: true },
    seq: { type: new BigIntType('number') },
    enqueuedAt: { ...millis(), nullable: true },
  },
})

export const MEDIA_ENTITIES = [MediaSchema, MediaShareSchema]
