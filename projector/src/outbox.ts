import type { OutboxRow } from './core/outbox-rows.js'
import { ident, type Queryable } from './db.js'
import type { Write } from './sql-writer.js'

/**
 * The effect outbox of a views schema (ADR 0150): the effects of the events each batch admitted,
 * inserted by the batch's own statement (so they exist exactly when the views show the events),
 * published after COMMIT by outbox-relay.ts and deleted once JetStream acknowledged them.
 */
export const OUTBOX_TABLE = 'effect_outbox'

/** The batch's outbox rows, as one more write of its statement; idempotent on the effect id. */
export const outboxWrite = (schema: string, rows: readonly OutboxRow[]): Write => ({
  // The guard goes in this write's own WHERE like every other write's: the fast path carries it.
  sql: (g) => `INSERT INTO ${ident(schema)}.${OUTBOX_TABLE} (id, shard, seq, subject, payload)
    SELECT * FROM unnest($1::text[], $2::int4[], $3::int8[], $4::text[], $5::text[])${g ? ` WHERE ${g}` : ''}
    ON CONFLICT (id) DO NOTHING`,
  params: [
    rows.map((r) => r.id),
    rows.map((r) => r.shard),
    rows.map((r) => r.seq),
    rows.map((r) => r.subject),
    rows.map((r) => r.payload),
  ],
})

/** The oldest rows of a shard's outbox, in log order. */
export const readOutbox = async (
  db: Queryable,
  schema: string,
  shard: number,
  limit: number,
): Promise<OutboxRow[]> => {
  const r = await db.query<OutboxRow>(
    `SELECT id, shard, seq, subject, payload FROM ${ident(schema)}.${OUTBOX_TABLE}
     WHERE shard = $1 ORDER BY seq, id LIMIT $2`,
    [shard, limit],
  )
  return r.rows
}

export const deleteOutbox = async (db: Queryable, schema: string, ids: readonly string[]): Promise<void> => {
  if (ids.length > 0)
    await db.query(`DELETE FROM ${ident(schema)}.${OUTBOX_TABLE} WHERE id = ANY($1::text[])`, [ids])
}

export const countOutbox = async (db: Queryable, schema: string, shard: number): Promise<number> => {
  const r = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${ident(schema)}.${OUTBOX_TABLE} WHERE shard = $1`,
    [shard],
  )
  return r.rows[0]?.n ?? 0
}

/**
 * A full rebuild replaces the views schema by renaming a freshly filled one over it; the effects
 * still waiting in the live outbox move with it (inside the switch-over transaction, under the
 * shard locks). A row the relay publishes meanwhile may then be published once more, within
 * JetStream's duplicate window, which drops it.
 */
export const carryOutbox = async (db: Queryable, from: string, to: string): Promise<void> => {
  await db.query(
    `INSERT INTO ${ident(to)}.${OUTBOX_TABLE} SELECT * FROM ${ident(from)}.${OUTBOX_TABLE} ON CONFLICT DO NOTHING`,
  )
}
