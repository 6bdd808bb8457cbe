import { EntitySchema } from '@mikro-orm/core'

/**
 * The push targets table (migration 0190) as the accounts module sees it: revoking a session
 * deletes its targets in the same transaction (a logged-out device is never pushed again). The
 * push module itself reads and writes the table with SQL (push-targets.ts).
 */
export interface PushTargetRow {
  id: string
  userId: string
  sessionId: string
  deviceId: string
}

export const PushTargetSchema = new EntitySchema<PushTargetRow>({
  name: 'PushTarget',
  tableName: 'push_targets',
  properties: {
    id: { type: 'string', primary: true },
    userId: { type: 'string' },
    sessionId: { type: 'string' },
    deviceId: { type: 'string' },
  },
})

export const PUSH_ENTITIES = [PushTargetSchema]
