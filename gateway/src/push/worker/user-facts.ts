import type { PushContent } from '@chatapp/contracts'
import type { Sql } from '../push-targets.js'
import type { UserFacts } from './push-worker.js'

/** Display names and push settings from the accounts table, in one query per burst. */
export const pgUserFacts = (db: Sql, schema: string): UserFacts => ({
  async of(userIds) {
    if (userIds.length === 0) return new Map()
    const r = await db.query<{
      id: string
      display_name: string
      push_content: PushContent
      push_mentions_when_muted: boolean
    }>(
      `SELECT id, display_name, push_content, push_mentions_when_muted FROM "${schema}".users WHERE id = ANY($1::text[])`,
      [[...new Set(userIds)]],
    )
    return new Map(
      r.rows.map((x) => [
        x.id,
        {
          displayName: x.display_name,
          pushContent: x.push_content,
          pushMentionsWhenMuted: x.push_mentions_when_muted,
        },
      ]),
    )
  },
})
