import type { PushContent } from '@chatapp/contracts'
import type { Sql } from '../push-targets.js'
import type { UserFacts } from './push-worker.js'

/** Display names and push content settings from the accounts table, in one query per burst. */
export const pgUserFacts = (db: Sql, schema: string): UserFacts => ({
  async of(userIds) {
    if (userIds.length === 0) return new Map()
    const r = await db.query<{ id: string; display_name: string; push_content: PushContent }>(
      `SELECT id, display_name, push_content FROM "${schema}".users WHERE id = ANY($1::text[])`,
      [[...new Set(userIds)]],
    )
    return new Map(r.rows.map((x) => [x.id, { displayName: x.display_name, pushContent: x.push_content }]))
  },
})
