import { VIEW_TABLES } from '@chatapp/contracts'
import { ident, type Queryable } from './db.js'

/**
 * A scratch schema (rebuild, verify) is filled from sequence 1 without its secondary indexes and
 * unique constraints, which are built once at the end: a sorted index build costs a fraction of
 * the same index maintained row by row (measured in ADR 0102). Primary keys stay: the upserts
 * need them. Definitions are read from the catalogue, so the migrations remain their one home.
 */
export interface SecondaryIndexes {
  /** `ALTER TABLE … ADD CONSTRAINT …` statements of the unique constraints that were dropped. */
  constraints: string[]
  /** `CREATE INDEX …` statements of the plain indexes that were dropped. */
  indexes: string[]
}

const TABLES = Object.values(VIEW_TABLES)

export const dropSecondaryIndexes = async (db: Queryable, schema: string): Promise<SecondaryIndexes> => {
  const s = ident(schema)
  const constraints = await db.query<{ table: string; name: string; def: string }>(
    `SELECT t.relname AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS def
     FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = $1 AND c.contype = 'u' AND t.relname = ANY($2::text[]) ORDER BY 1, 2`,
    [schema, TABLES],
  )
  const indexes = await db.query<{ name: string; def: string }>(
    `SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def
     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = $1 AND t.relname = ANY($2::text[]) AND NOT x.indisprimary
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY 1`,
    [schema, TABLES],
  )
  for (const c of constraints.rows)
    await db.query(`ALTER TABLE ${s}.${ident(c.table)} DROP CONSTRAINT ${ident(c.name)}`)
  for (const i of indexes.rows) await db.query(`DROP INDEX ${s}.${ident(i.name)}`)
  return {
    constraints: constraints.rows.map(
      (c) => `ALTER TABLE ${s}.${ident(c.table)} ADD CONSTRAINT ${ident(c.name)} ${c.def}`,
    ),
    indexes: indexes.rows.map((i) => i.def),
  }
}

/**
 * Ends a fill: applies what the unique constraints did row by row in the live views, then builds
 * the indexes back. The one such rule: a message whose (conversation, sender, client message id)
 * is already stored is not stored again (a send retried after the JetStream duplicate window,
 * sql-writer.ts), so of equal keys the first in the log stays.
 */
export const restoreSecondaryIndexes = async (
  db: Queryable,
  schema: string,
  saved: SecondaryIndexes,
): Promise<void> => {
  const s = ident(schema)
  // Grouped first (one hash aggregate): a self-join of the fresh, never analysed table could be
  // planned as a nested loop over each conversation's messages.
  await db.query(
    `DELETE FROM ${s}.messages later
     USING (SELECT conversation_id, sender_id, client_msg_id, min(seq) AS seq FROM ${s}.messages
            GROUP BY 1, 2, 3 HAVING count(*) > 1) first
     WHERE later.conversation_id = first.conversation_id AND later.sender_id = first.sender_id
       AND later.client_msg_id = first.client_msg_id AND later.seq > first.seq`,
  )
  for (const sql of [...saved.constraints, ...saved.indexes]) await db.query(sql)
}
