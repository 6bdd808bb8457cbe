import { VIEW_NAMES, VIEW_TABLES, type ViewName } from '@chatapp/contracts'
import { ident, type Queryable } from './db.js'

/** The primary key of each view table: rows are matched on it when two schemas are compared. */
export const VIEW_KEYS: Record<ViewName, string[]> = {
  conversations: ['conversation_id'],
  members: ['conversation_id', 'user_id'],
  invitations: ['conversation_id', 'user_id'],
  join_requests: ['conversation_id', 'user_id'],
  messages: ['conversation_id', 'seq'],
  reactions: ['conversation_id', 'seq', 'user_id'],
  mentions: ['conversation_id', 'user_id', 'seq'],
  hidden_messages: ['conversation_id', 'user_id', 'seq'],
  media: ['conversation_id', 'media_id'],
}

export interface RowDifference {
  view: ViewName
  key: Record<string, unknown>
  kind: 'missing' | 'unexpected' | 'differs'
  /** For `differs`: column → [in the views, recomputed from the log]. */
  columns?: Record<string, [unknown, unknown]>
}

/**
 * Every row that differs between the live views and a recomputed copy (full outer join on the
 * key), optionally for one conversation. `missing`: the log says it should exist and the view has
 * no such row; `unexpected`: the reverse.
 */
export const compareViews = async (
  db: Queryable,
  live: string,
  expected: string,
  conversationId?: string,
  limit = 1000,
): Promise<RowDifference[]> => {
  const out: RowDifference[] = []
  for (const view of VIEW_NAMES) {
    const keys = VIEW_KEYS[view]
    const t = VIEW_TABLES[view]
    const r = await db.query<{ l: Record<string, unknown> | null; e: Record<string, unknown> | null }>(
      `SELECT to_jsonb(l) AS l, to_jsonb(e) AS e
       FROM ${ident(live)}.${t} l FULL JOIN ${ident(expected)}.${t} e USING (${keys.join(', ')})
       WHERE to_jsonb(l) IS DISTINCT FROM to_jsonb(e)
         AND ($1::text IS NULL OR COALESCE(l.conversation_id, e.conversation_id) = $1)
       ORDER BY ${keys.map((k) => `COALESCE(l.${k}, e.${k})`).join(', ')}
       LIMIT $2`,
      [conversationId ?? null, limit],
    )
    for (const { l, e } of r.rows) {
      const row = (l ?? e)!
      const key = Object.fromEntries(keys.map((k) => [k, row[k]]))
      if (!l) out.push({ view, key, kind: 'missing' })
      else if (!e) out.push({ view, key, kind: 'unexpected' })
      else {
        const columns: Record<string, [unknown, unknown]> = {}
        for (const c of Object.keys({ ...l, ...e }))
          if (JSON.stringify(l[c]) !== JSON.stringify(e[c])) columns[c] = [l[c], e[c]]
        out.push({ view, key, kind: 'differs', columns })
      }
    }
  }
  return out
}

/** An md5 per view table over its rows in key order: equal checksums, equal views. */
export const viewChecksums = async (db: Queryable, schema: string): Promise<Record<ViewName, string>> => {
  const out = {} as Record<ViewName, string>
  for (const view of VIEW_NAMES) {
    const r = await db.query<{ sum: string | null }>(
      `SELECT md5(string_agg(t::text, E'\\n' ORDER BY ${VIEW_KEYS[view].join(', ')})) AS sum
       FROM ${ident(schema)}.${VIEW_TABLES[view]} t`,
    )
    out[view] = r.rows[0]?.sum ?? 'empty'
  }
  return out
}
