import { type Logger, logIdlePoolErrors } from '@chatapp/kit'
import pg from 'pg'

/**
 * PostgreSQL pools of the projector. int8 columns (stream sequences, millisecond times) come
 * back as numbers: they stay below 2^53 for the life of any log, and every caller wants numbers.
 * The parser is set per pool, never globally, so other code in the process is unaffected.
 */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
}

/**
 * Commits are asynchronous on every connection of these pools (ADR 0102): all they write is
 * derived from the log, with the offset in the same transaction, so a commit PostgreSQL loses in
 * a crash is replayed from the log, never lost; a commit no longer waits for its WAL flush.
 */
export const openPool = (databaseUrl: string, max: number, log: Pick<Logger, 'warn'>): pg.Pool =>
  logIdlePoolErrors(
    new pg.Pool({ connectionString: databaseUrl, max, types, options: '-c synchronous_commit=off' }),
    log,
    'projector',
  )

export type Queryable = Pick<pg.PoolClient, 'query'>

/** Runs `fn` in one transaction on one connection: commit on success, rollback on any error. */
export const inTransaction = async <T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> => {
  const c = await pool.connect()
  try {
    await c.query('BEGIN')
    const out = await fn(c)
    await c.query('COMMIT')
    return out
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {})
    throw e
  } finally {
    c.release()
  }
}

/** Quotes an identifier we built ourselves (schema names derive from a validated namespace). */
export const ident = (name: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe identifier ${name}`)
  return `"${name}"`
}
