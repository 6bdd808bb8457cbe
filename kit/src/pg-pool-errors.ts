import type { Logger } from './logger.js'

/** What this needs of a `pg.Pool` (kit does not depend on pg). */
interface ErrorEmitter {
  on(event: 'error', listener: (err: Error) => void): unknown
}

/**
 * A `pg.Pool` emits 'error' when one of its idle connections dies (PostgreSQL restarted, the
 * backend was terminated, the network dropped it). Without a listener Node throws that as an
 * uncaught exception and the process exits. The pool has already discarded the connection and
 * the next query opens a new one, so a warning is all it deserves.
 */
export const logIdlePoolErrors = <P extends ErrorEmitter>(
  pool: P,
  log: Pick<Logger, 'warn'>,
  name: string,
): P => {
  pool.on('error', (err) =>
    log.warn({ err, pool: name }, 'an idle PostgreSQL connection was lost; the pool opens another'),
  )
  return pool
}
