import type { EntityManager, MikroORM } from '@mikro-orm/core'
import { type BucketSpec, take } from '../transport/http/rate-limiter.js'
import { attemptLogin, type LoginThrottlePolicy } from './login-throttle.js'

/**
 * Per-account counters in `<ns>_gateway.account_limits`, shared by every gateway (migration 0002):
 * a failed-login record per username lane, a group-creation bucket per user. Each change reads the
 * row under a lock, lets a pure rule decide, and writes the result in one transaction, so two
 * gateways counting the same account take turns instead of both seeing the old value.
 */
export interface LimitRow {
  count: number
  at: number
  until: number
}

/** Rows idle this long carry no information (a forgotten login count, a full bucket). */
export const LIMIT_IDLE_MS = 24 * 3_600_000

export interface AccountLimits {
  /** 0 when the attempt may go ahead (and is counted as a failure until `loginSucceeded`), else ms to wait. */
  loginAttempt(key: string, now: number): Promise<number>
  loginSucceeded(key: string): Promise<void>
  /** 0 when the user may create a group now (and it is counted), else ms to wait. */
  takeGroupCreation(userId: string, now: number): Promise<number>
  /** Deletes rows idle for `LIMIT_IDLE_MS`; returns how many. */
  purgeIdle(now: number): Promise<number>
}

export const createAccountLimits = (
  orm: MikroORM,
  o: { login: LoginThrottlePolicy; groups: BucketSpec },
): AccountLimits => {
  const table = `"${orm.config.get('schema')}".account_limits`
  const sql = (em: EntityManager, query: string, params: unknown[]) =>
    em.getConnection().execute<LimitRow[]>(query, params, 'all', em.getTransactionContext())

  /** One locked read-decide-write of the row of `key`. */
  const change = <T>(key: string, decide: (row: LimitRow | undefined) => { row: LimitRow; result: T }) =>
    orm.em.fork().transactional(async (tx) => {
      // Creates a neutral row when there is none and locks it either way, in one statement.
      const [got] = await sql(
        tx,
        `INSERT INTO ${table} (key, count, at, until) VALUES (?, 0, 0, 0)
         ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key RETURNING count, at, until`,
        [key],
      )
      const at = Number(got?.at ?? 0)
      const { row, result } = decide(
        at > 0 ? { count: got!.count, at, until: Number(got!.until) } : undefined,
      )
      await sql(tx, `UPDATE ${table} SET count = ?, at = ?, until = ? WHERE key = ?`, [
        row.count,
        row.at,
        row.until,
        key,
      ])
      return result
    })

  return {
    loginAttempt: (key, now) =>
      change(key, (row) => {
        const r = attemptLogin(
          row && { failures: row.count, lastAt: row.at, nextAt: row.until },
          o.login,
          now,
        )
        return r.ok
          ? { row: { count: r.record.failures, at: r.record.lastAt, until: r.record.nextAt }, result: 0 }
          : // Refused only while a record says to wait: it stays as it is.
            { row: row!, result: r.retryAfterMs }
      }),
    async loginSucceeded(key) {
      await orm.em.fork().getConnection().execute(`DELETE FROM ${table} WHERE key = ?`, [key], 'run')
    },
    takeGroupCreation: (userId, now) =>
      change(`groups:${userId}`, (row) => {
        const r = take(row && { tokens: row.count, at: row.at }, o.groups, now)
        return {
          row: { count: r.bucket.tokens, at: r.bucket.at, until: 0 },
          result: r.ok ? 0 : r.retryAfterMs,
        }
      }),
    async purgeIdle(now) {
      const res = await orm.em
        .fork()
        .getConnection()
        .execute<{ affectedRows: number }>(`DELETE FROM ${table} WHERE at < ?`, [now - LIMIT_IDLE_MS], 'run')
      return res.affectedRows
    },
  }
}
