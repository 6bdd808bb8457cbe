import { ChatError, fnv1a32 } from '@chatapp/contracts'
import type { MikroORM } from '@mikro-orm/postgresql'
import type { MediaRow } from './entities.js'
import { sharesTable } from './media-repo.js'
import { decideReservation, type UploadQuota, type UploadUsage, utcDay } from './upload-quota.js'

/** Advisory lock class (first key) of one user's upload quota; the second key hashes schema and user. */
export const LOCK_UPLOAD_QUOTA = 0x63_68_30

/**
 * One upload's account with the user's quotas, in PostgreSQL so that every gateway counts the
 * same bytes. Guarantees:
 * - `ensure(total, slab)` makes the reservation at least `total` bytes (`slab` more when it has
 *   to grow and that fits),
 *   deciding and recording under a per-user transaction-scoped advisory lock: concurrent uploads
 *   of one user, on any gateways, never together pass a quota. Refusals throw ChatError
 *   (QUOTA_EXCEEDED with retryAfterMs, or PAYLOAD_TOO_LARGE).
 * - `complete(row)` stores the media row and ends the reservation in one transaction, the day's
 *   count corrected to the real size. It returns false, storing nothing, when the reservation is
 *   gone (the sweeper ended an upload that ran too long): the caller deletes the object.
 * - `release()` ends a failed upload's reservation and gives its bytes back. Idempotent. A gateway
 *   that dies first leaves the reservation to the sweeper (it counts until then).
 */
export interface UploadBudget {
  readonly reserved: number
  ensure(total: number, slab?: number): Promise<void>
  complete(row: MediaRow): Promise<boolean>
  release(): Promise<void>
}

export interface UploadLedger {
  readonly quota: UploadQuota
  budget(userId: string, mediaId: string): UploadBudget
  /** The user's usage now, as a reservation would see it (tests, operators). */
  usage(userId: string): Promise<UploadUsage>
}

type Query = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>

export const uploadLedger = (
  orm: MikroORM,
  schemas: { gateway: string; views: string },
  quota: UploadQuota,
  now: () => number = Date.now,
): UploadLedger => {
  const schema = schemas.gateway
  const t = (name: string) => `"${schema}".${name}`
  const shares = sharesTable(schemas.views)
  const inTx = <T>(f: (q: Query) => Promise<T>): Promise<T> =>
    orm.em.fork().transactional(async (em) => {
      const conn = em.getConnection()
      const ctx = em.getTransactionContext()
      return f((sql, params = []) => conn.execute(sql, params, 'all', ctx) as never)
    })
  const lockUser = (q: Query, userId: string) =>
    q('SELECT pg_advisory_xact_lock(?, ?)', [LOCK_UPLOAD_QUOTA, fnv1a32(`${schema}:${userId}`) | 0])

  /** Whether the views exist (a projector ran once); they never go away after, so `true` is kept. */
  let views = false
  const viewsExist = async (q: Query): Promise<boolean> => {
    if (!views) views = (await q<{ t: string | null }>('SELECT to_regclass(?) AS t', [shares]))[0]?.t != null
    return views
  }

  /**
   * Read under the user's lock; only uploads younger than the TTL can still be attached. "Not
   * attached" is read from the views, which lag the log by the projection delay: a media sent a
   * moment ago may count a moment longer, on the side of the quota. Without views, nothing is.
   */
  const readUsage = async (q: Query, userId: string, at: number): Promise<UploadUsage> => {
    const [day] = await q<{ bytes: string }>(
      `SELECT bytes FROM ${t('upload_days')} WHERE user_id = ? AND day = ?`,
      [userId, utcDay(at)],
    )
    const [unattached] = await q<{ bytes: string; oldest: string | null }>(
      `SELECT coalesce(sum(m.size), 0) AS bytes, min(m.created_at) AS oldest FROM ${t('media')} m
       WHERE m.uploader_id = ? AND m.created_at > ?
         ${(await viewsExist(q)) ? `AND NOT EXISTS (SELECT 1 FROM ${shares} s WHERE s.media_id = m.id AND s.shared_seq IS NOT NULL)` : ''}`,
      [userId, at - quota.unattachedTtlMs],
    )
    const [pending] = await q<{ bytes: string }>(
      `SELECT coalesce(sum(reserved), 0) AS bytes FROM ${t('upload_pending')} WHERE user_id = ?`,
      [userId],
    )
    return {
      dayBytes: Number(day?.bytes ?? 0),
      unattachedBytes: Number(unattached?.bytes ?? 0) + Number(pending?.bytes ?? 0),
      oldestUnattachedAt: unattached?.oldest == null ? undefined : Number(unattached.oldest),
    }
  }

  return {
    quota,
    usage: (userId) => inTx(async (q) => readUsage(q, userId, now())),

    budget(userId, mediaId) {
      let reserved = 0
      let ended = false
      return {
        get reserved() {
          return reserved
        },

        async ensure(total, slab = 0) {
          if (ended) throw new Error(`upload ${mediaId} has ended its reservation`)
          if (total <= reserved) return
          reserved = await inTx(async (q) => {
            await lockUser(q, userId)
            const at = now()
            const usage = await readUsage(q, userId, at)
            // A slab ahead, so a chunked upload asks once per slab; exactly `total` when the slab
            // alone would not fit, so rounding never refuses bytes that do.
            let want = Math.max(total, reserved + slab)
            let d = decideReservation(usage, want - reserved, want, quota, at)
            if (!d.ok && want > total) {
              want = total
              d = decideReservation(usage, want - reserved, want, quota, at)
            }
            if (!d.ok)
              throw new ChatError(
                d.code,
                d.message,
                d.retryAfterMs === undefined ? {} : { retryAfterMs: d.retryAfterMs },
              )
            const day = utcDay(at)
            await q(
              `INSERT INTO ${t('upload_days')} (user_id, day, bytes) VALUES (?, ?, ?)
               ON CONFLICT (user_id, day) DO UPDATE SET bytes = ${t('upload_days')}.bytes + EXCLUDED.bytes`,
              [userId, day, want - reserved],
            )
            await q(
              `INSERT INTO ${t('upload_pending')} (media_id, user_id, reserved, day, started_at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (media_id) DO UPDATE SET reserved = ${t('upload_pending')}.reserved + EXCLUDED.reserved`,
              [mediaId, userId, want - reserved, day, at],
            )
            return want
          })
        },

        async complete(row) {
          ended = true
          return inTx(async (q) => {
            await lockUser(q, userId)
            const [p] = await q<{ reserved: string; day: number }>(
              `DELETE FROM ${t('upload_pending')} WHERE media_id = ? RETURNING reserved, day`,
              [mediaId],
            )
            if (!p) return false
            await q(
              `INSERT INTO ${t('media')} (id, uploader_id, kind, mime, size, name, key, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
              [row.id, row.uploaderId, row.kind, row.mime, row.size, row.name, row.key, row.createdAt],
            )
            await q(
              `UPDATE ${t('upload_days')} SET bytes = greatest(0, bytes + ?) WHERE user_id = ? AND day = ?`,
              [row.size - Number(p.reserved), userId, p.day],
            )
            return true
          })
        },

        async release() {
          if (ended) return
          ended = true
          if (reserved === 0) return
          await inTx(async (q) => {
            await lockUser(q, userId)
            const [p] = await q<{ reserved: string; day: number }>(
              `DELETE FROM ${t('upload_pending')} WHERE media_id = ? RETURNING reserved, day`,
              [mediaId],
            )
            if (p)
              await q(
                `UPDATE ${t('upload_days')} SET bytes = greatest(0, bytes - ?) WHERE user_id = ? AND day = ?`,
                [Number(p.reserved), userId, p.day],
              )
          })
        },
      }
    },
  }
}
