import type { Names } from '@chatapp/contracts'
import type { JetStreamManager } from '@nats-io/jetstream'
import { ident, type Queryable } from '../db.js'
import { type LagRow, lag } from '../lag.js'
import { type Bounds, type Finding, finding } from './findings.js'

export interface Projection {
  deadLetters: { total: number; byCode: Record<string, number> }
  lag: LagRow[]
}

/** Dead letters by code, and per shard what the views have not applied yet (lag.ts). */
export const readProjection = async (jsm: JetStreamManager, db: Queryable, n: Names): Promise<Projection> => {
  const r = await db.query<{ code: string; count: string }>(
    `SELECT code, count(*) AS count FROM ${ident(n.dbSchemas.views)}.dead_letters GROUP BY code`,
  )
  const byCode = Object.fromEntries(r.rows.map((x) => [x.code, Number(x.count)]))
  const total = Object.values(byCode).reduce((a, b) => a + b, 0)
  return { deadLetters: { total, byCode }, lag: await lag(jsm, db, n) }
}

/** Dead letters and consumer lag held against their bounds. Pure. */
export const boundFindings = (p: Projection, b: Bounds): Finding[] => {
  const out: Finding[] = []
  if (p.deadLetters.total > b.maxDeadLetters)
    out.push(
      finding(
        'DEAD_LETTERS_OVER_BOUND',
        `${p.deadLetters.total} dead letter(s) (${Object.entries(p.deadLetters.byCode)
          .map(([c, k]) => `${c} ${k}`)
          .join(', ')}), bound ${b.maxDeadLetters}`,
      ),
    )
  for (const [shard, row] of p.lag.entries())
    if (row.oldestAgeSeconds > b.maxLagSeconds)
      out.push(
        finding(
          'LAG_OVER_BOUND',
          `${row.stream}: ${row.pending} event(s) not applied, the oldest ${Math.round(row.oldestAgeSeconds)} s old (bound ${b.maxLagSeconds} s)`,
          { shard },
        ),
      )
  return out
}
