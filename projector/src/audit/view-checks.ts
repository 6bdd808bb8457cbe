import type { Names } from '@chatapp/contracts'
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type pg from 'pg'
import type { ArchiveSource } from '../archived-log-reader.js'
import { ident, type Queryable } from '../db.js'
import { verify } from '../verify.js'
import type { RowDifference } from '../view-compare.js'
import { type Finding, finding } from './findings.js'

export interface ViewCheckDeps {
  js: JetStreamClient
  jsm: JetStreamManager
  pool: pg.Pool
  databaseUrl: string
  names: Names
  batch: number
  /** History older than the streams (ADR 0201). */
  archive?: ArchiveSource
}

const KIND_CODE = {
  missing: 'VIEW_ROW_MISSING',
  unexpected: 'VIEW_ROW_UNEXPECTED',
  differs: 'VIEW_ROW_DIFFERS',
} as const

const differenceFinding = (d: RowDifference): Finding => {
  const conversationId = String(d.key.conversation_id)
  const key = Object.entries(d.key)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')
  const columns = d.columns
    ? `: ${Object.entries(d.columns)
        .map(
          ([c, [view, log]]) =>
            `${c} ${JSON.stringify(view)} in the view, ${JSON.stringify(log)} from the log`,
        )
        .join('; ')}`
    : ''
  return finding(KIND_CODE[d.kind], `${d.view} ${key}${columns}`, { conversationId })
}

/**
 * The views of some conversations (or of all, `undefined`) against the log, through `verify`:
 * the views recomputed from the log in a scratch schema at exactly the live offsets, compared
 * row by row (view-compare.ts, the one home of that rule). One conversation costs a scratch
 * schema and a read of its events; every conversation, a rebuild's worth of work.
 */
export const compareWithLog = async (
  d: ViewCheckDeps,
  conversationIds: readonly string[] | undefined,
): Promise<Finding[]> => {
  const base = {
    js: d.js,
    jsm: d.jsm,
    pool: d.pool,
    databaseUrl: d.databaseUrl,
    names: d.names,
    batch: d.batch,
    ...(d.archive ? { archive: d.archive } : {}),
  }
  if (conversationIds === undefined) return (await verify(base)).differences.map(differenceFinding)
  const out: Finding[] = []
  for (const conversationId of conversationIds)
    out.push(...(await verify({ ...base, conversationId })).differences.map(differenceFinding))
  return out
}

export interface WatermarkRow {
  conversationId: string
  userId: string
  delivered: number
  read: number
}

/** Member watermarks of the views, of some conversations or of all. */
export const readWatermarks = async (
  db: Queryable,
  schema: string,
  conversationIds: readonly string[] | undefined,
): Promise<WatermarkRow[]> => {
  const r = await db.query<WatermarkRow>(
    `SELECT conversation_id AS "conversationId", user_id AS "userId", delivered_up_to AS delivered,
       read_up_to AS read
     FROM ${ident(schema)}.members WHERE $1::text[] IS NULL OR conversation_id = ANY($1)`,
    [conversationIds ?? null],
  )
  return r.rows.map((x) => ({ ...x, delivered: Number(x.delivered), read: Number(x.read) }))
}

/**
 * The receipt rules as the views show them: read ≤ delivered ≤ the conversation's last stored
 * sequence (`lastSeqOf`, read from the log after the rows were), and no watermark lower than
 * when it was last sampled (`previous`, updated). Pure.
 */
export const watermarkFindings = (
  rows: readonly WatermarkRow[],
  lastSeqOf: (conversationId: string) => number | undefined,
  previous: Map<string, { delivered: number; read: number }>,
): Finding[] => {
  const out: Finding[] = []
  for (const r of rows) {
    const where = { conversationId: r.conversationId }
    const who = `${r.userId} in ${r.conversationId}`
    const stored = lastSeqOf(r.conversationId) ?? 0
    if (r.read > r.delivered)
      out.push(finding('VIEW_WATERMARK_ORDER', `${who}: read ${r.read} > delivered ${r.delivered}`, where))
    if (r.delivered > stored)
      out.push(
        finding(
          'VIEW_WATERMARK_ORDER',
          `${who}: delivered ${r.delivered} > last stored sequence ${stored}`,
          where,
        ),
      )
    const key = `${r.conversationId}/${r.userId}`
    const before = previous.get(key)
    if (before && (r.delivered < before.delivered || r.read < before.read))
      out.push(
        finding(
          'VIEW_WATERMARK_BACKWARDS',
          `${who}: delivered ${before.delivered} → ${r.delivered}, read ${before.read} → ${r.read}`,
          where,
        ),
      )
    previous.set(key, {
      delivered: Math.max(r.delivered, before?.delivered ?? 0),
      read: Math.max(r.read, before?.read ?? 0),
    })
  }
  return out
}

/**
 * Messages of the views at sequences the log's fold rejected (`rejected`: conversation → its
 * rejected `.m` sequences). Every reader skips a rejected event (ADR 0080), so the history a view
 * serves must not hold it. `verify` cannot see this: it recomputes with the projector's own fold.
 */
export const rejectedShown = async (
  db: Queryable,
  schema: string,
  rejected: ReadonlyMap<string, readonly number[]>,
): Promise<Finding[]> => {
  const ids: string[] = []
  const seqs: number[] = []
  for (const [id, list] of rejected)
    for (const seq of list) {
      ids.push(id)
      seqs.push(seq)
    }
  if (ids.length === 0) return []
  const r = await db.query<{ conversation_id: string; seq: string | number }>(
    `SELECT m.conversation_id, m.seq FROM ${ident(schema)}.messages m
     JOIN unnest($1::text[], $2::int8[]) AS x(c, s) ON m.conversation_id = x.c AND m.seq = x.s
     ORDER BY 1, 2`,
    [ids, seqs],
  )
  return r.rows.map((x) =>
    finding(
      'VIEW_SHOWS_REJECTED',
      `messages conversation_id=${x.conversation_id} seq=${x.seq}: the log rejects it (EVENT_REJECTED)`,
      { conversationId: x.conversation_id, seq: Number(x.seq) },
    ),
  )
}
