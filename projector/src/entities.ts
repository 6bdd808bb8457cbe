import { EntitySchema } from '@mikro-orm/core'

/**
 * The view tables as MikroORM entities (EntitySchema: no decorators). The hot path writes with
 * multi-row SQL (sql-writer.ts); the entities serve the operator CLI's reads and keep the ORM's
 * metadata in step with the migrations.
 */
export interface DeadLetterEntity {
  stream: string
  seq: string
  subject: string
  code: string
  reason: string
  payload: string
  at: string
}

export const DeadLetterSchema = new EntitySchema<DeadLetterEntity>({
  name: 'DeadLetter',
  tableName: 'dead_letters',
  properties: {
    stream: { type: 'string', primary: true },
    seq: { type: 'bigint', primary: true },
    subject: { type: 'string' },
    code: { type: 'string' },
    reason: { type: 'text' },
    payload: { type: 'text' },
    at: { type: 'bigint' },
  },
})

export interface OffsetEntity {
  shard: number
  lastSeq: string
  lastAt: string
  updatedAt: Date
}

export const OffsetSchema = new EntitySchema<OffsetEntity>({
  name: 'ProjectorOffset',
  tableName: 'projector_offsets',
  properties: {
    shard: { type: 'integer', primary: true },
    lastSeq: { type: 'bigint', fieldName: 'last_seq' },
    lastAt: { type: 'bigint', fieldName: 'last_at' },
    updatedAt: { type: 'Date', fieldName: 'updated_at' },
  },
})

export const ENTITIES = [DeadLetterSchema, OffsetSchema]
