import pg from 'pg'

/**
 * Which PostgreSQL errors are about the data of a statement, and so follow one event wherever it
 * is applied (ADR 0101): the batch is split until that event is found and dead-lettered. By
 * SQLSTATE class:
 * - 21 cardinality violation (two rows of one batch on one key): splitting separates them;
 * - 22 data exception (U+0000 in text 22021 or in jsonb 22P05, a number out of range 22003, …);
 * - 23 integrity constraint violation (a unique, check or not-null constraint);
 * - 54 program limit exceeded (an index row too large for its btree).
 * Everything else is retried, never dead-lettered: connections (08), serialisation and deadlocks
 * (40), resources (53), operator intervention and timeouts (57), system errors (58), and errors
 * that point at the schema or the code (42 and the rest), which no single event explains.
 */
const PER_EVENT_CLASSES = new Set(['21', '22', '23', '54'])
const TRANSIENT_CLASSES = new Set(['08', '40', '53', '57', '58'])

const sqlstate = (err: unknown): string | undefined =>
  err instanceof pg.DatabaseError && typeof err.code === 'string' ? err.code : undefined

/** The dead-letter reason when PostgreSQL refused a statement for its data; undefined otherwise. */
export const refusalOf = (err: unknown): string | undefined => {
  const code = sqlstate(err)
  if (code === undefined || !PER_EVENT_CLASSES.has(code.slice(0, 2))) return undefined
  const e = err as pg.DatabaseError
  return `PostgreSQL refused it: SQLSTATE ${code} ${e.message}${e.detail ? ` (${e.detail})` : ''}`
}

/** For logs and metrics: a failure expected to pass (the database or the network), or not. */
export const failureKind = (err: unknown): 'transient' | 'unexpected' => {
  const code = sqlstate(err)
  if (code !== undefined) return TRANSIENT_CLASSES.has(code.slice(0, 2)) ? 'transient' : 'unexpected'
  // Errors of the driver itself: refused or reset connections, timeouts, a pool shutting down.
  const sys = (err as { code?: unknown }).code
  if (typeof sys === 'string' && /^E[A-Z]+$/.test(sys)) return 'transient'
  const msg = err instanceof Error ? err.message : ''
  return /Connection terminated|timeout|timed out|Client has encountered a connection error/i.test(msg)
    ? 'transient'
    : 'unexpected'
}
