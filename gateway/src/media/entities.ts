import { BigIntType, EntitySchema } from '@mikro-orm/core'

/**
 * Media records (created by migration 0040-media): who uploaded what. Where it was shared is a
 * fact of the projector's views (media-repo.ts). Variants are not recorded here: they live in S3
 * under the media's prefix and are announced by `media.ready`.
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

export const MEDIA_ENTITIES = [MediaSchema]
