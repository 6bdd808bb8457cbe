import { ARCHIVE_HEADS_TABLE, fnv1a32, type Lane, parseConvSubject } from '@chatapp/contracts'
import { type DecodedMessage, type Logger, logIdlePoolErrors } from '@chatapp/kit'
import pg from 'pg'
import { ident } from '../db.js'

/**
 * The archiver's PostgreSQL side: the heads table (contracts' ARCHIVE_HEADS_TABLE) on a pool of
 * its own whose commits are synchronous. That matters beyond the heads: the projector commits
 * asynchronously (ADR 0102), so an offset it reports may still be lost in a PostgreSQL crash; a
 * synchronous commit flushes the WAL up to itself, every earlier commit included. The trimmer
 * commits one after reading the projector's offset and before it purges (trimmer.ts).
 */
export const openArchiveDb = (databaseUrl: string, schema: string, log: Pick<Logger, 'warn'>) => {
  const pool = logIdlePoolErrors(
    new pg.Pool({ connectionString: databaseUrl, max: 2, options: '-c synchronous_commit=on' }),
    log,
    'archive',
  )
  const table = `${ident(schema)}.${ident(ARCHIVE_HEADS_TABLE)}`
  return {
    pool,
    async migrate(): Promise<void> {
      // Under a transaction-scoped advisory lock: projectors starting together would otherwise race
      // on CREATE TABLE IF NOT EXISTS, which PostgreSQL does not make safe (a duplicate pg_type row).
      const c = await pool.connect()
      try {
        await c.query('BEGIN')
        await c.query('SELECT pg_advisory_xact_lock($1)', [fnv1a32(`${schema}:migrate`) | 0])
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`)
        await c.query(`CREATE TABLE IF NOT EXISTS ${table} (
          conversation_id text NOT NULL,
          lane text NOT NULL,
          last_seq bigint NOT NULL,
          PRIMARY KEY (conversation_id, lane)
        )`)
        await c.query('COMMIT')
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {})
        throw e
      } finally {
        c.release()
      }
    },
    /** Records the last sequence of every subject in `messages`; idempotent, never moves back. */
    async record(messages: readonly DecodedMessage[]): Promise<void> {
      const last = new Map<string, number>()
      for (const m of messages) {
        const p = parseConvSubject(m.subject)
        if (p) last.set(`${p.conversationId}\u0000${p.lane}`, m.seq)
      }
      if (last.size === 0) return
      const ids: string[] = []
      const lanes: string[] = []
      const seqs: number[] = []
      for (const [k, seq] of last) {
        const [id, lane] = k.split('\u0000') as [string, Lane]
        ids.push(id)
        lanes.push(lane)
        seqs.push(seq)
      }
      await pool.query(
        `INSERT INTO ${table} (conversation_id, lane, last_seq)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
         ON CONFLICT (conversation_id, lane) DO UPDATE SET last_seq = GREATEST(${table}.last_seq, EXCLUDED.last_seq)`,
        [ids, lanes, seqs],
      )
    },
    /** A synchronous commit: everything committed before it is durable once it returns. */
    async flush(): Promise<void> {
      await pool.query('SELECT txid_current()')
    },
    close: () => pool.end(),
  }
}

export type ArchiveDb = ReturnType<typeof openArchiveDb>
