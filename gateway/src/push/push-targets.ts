import { createECDH, randomBytes } from 'node:crypto'
import { ChatError, type PushTarget, type PushTargetRequest } from '@chatapp/contracts'
import { originAllowed, type TargetPolicy } from './target-policy.js'

/** What the store needs of PostgreSQL: `pg.Pool` or a client inside a transaction. */
export interface Sql {
  query<R extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>
}

/** A target as the push worker sends to it. */
export interface StoredTarget {
  id: string
  userId: string
  deviceId: string
  kind: 'webpush' | 'webhook'
  endpoint: string
  p256dh: string | null
  auth: string | null
  secret: string | null
}

export interface Owner {
  userId: string
  deviceId: string
  sessionId: string
}

const newId = () => `pt_${randomBytes(12).toString('base64url')}`

/** A subscription's p256dh must be a point of P-256, or no payload can ever be encrypted for it. */
const isP256Point = (p256dh: string): boolean => {
  try {
    const ecdh = createECDH('prime256v1')
    ecdh.generateKeys()
    ecdh.computeSecret(Buffer.from(p256dh, 'base64url'))
    return true
  } catch {
    return false
  }
}
const newSecret = () => randomBytes(32).toString('base64url')

const COLUMNS = `id, user_id AS "userId", device_id AS "deviceId", kind, endpoint, p256dh, auth, secret`

/**
 * The push targets of the gateway's schema (migration 0190). Guarantees: one live target per
 * device and kind (registering again replaces it), one live target per endpoint (the latest
 * registration owns it), at most `maxPerUser` live targets per user; a dead target (404/410
 * from its push service, or too many failures) is never sent to again and is kept for operators
 * until purged.
 */
export const pushTargets = (
  db: Sql & { connect?: () => Promise<Sql & { release(): void }> },
  schema: string,
) => {
  const t = `"${schema}".push_targets`
  const marks = `"${schema}".push_marks`
  const tx = async <T>(f: (c: Sql) => Promise<T>): Promise<T> => {
    if (!db.connect) return f(db)
    const c = await db.connect()
    try {
      await c.query('BEGIN')
      const r = await f(c)
      await c.query('COMMIT')
      return r
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {})
      throw e
    } finally {
      c.release()
    }
  }
  return {
    /** PUSH_TARGET_NOT_ALLOWED, TOO_MANY_PUSH_TARGETS. */
    async register(
      who: Owner,
      req: PushTargetRequest,
      o: { policy: TargetPolicy; maxPerUser: number; now: number },
    ): Promise<PushTarget> {
      const endpoint = req.kind === 'webpush' ? req.endpoint : req.url
      const allowed = req.kind === 'webpush' ? o.policy.webPushOrigins : o.policy.webhookOrigins
      if (!originAllowed(endpoint, allowed))
        throw new ChatError('PUSH_TARGET_NOT_ALLOWED', undefined, {
          details: [req.kind === 'webpush' ? '/endpoint' : '/url'],
        })
      if (req.kind === 'webpush' && !isP256Point(req.keys.p256dh))
        throw new ChatError('INVALID_REQUEST', 'keys.p256dh is not a P-256 public key.', {
          details: ['/keys/p256dh'],
        })
      const id = newId()
      const secret = req.kind === 'webhook' ? (req.secret ?? newSecret()) : null
      await tx(async (c) => {
        // Serialises registrations of one user, so the count below holds.
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`push:${who.userId}`])
        await c.query(
          `DELETE FROM ${t} WHERE endpoint = $1 OR (user_id = $2 AND device_id = $3 AND kind = $4 AND dead_at IS NULL)`,
          [endpoint, who.userId, who.deviceId, req.kind],
        )
        const n = await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${t} WHERE user_id = $1 AND dead_at IS NULL`,
          [who.userId],
        )
        if ((n.rows[0]?.n ?? 0) >= o.maxPerUser) throw new ChatError('TOO_MANY_PUSH_TARGETS')
        await c.query(
          `INSERT INTO ${t} (id, user_id, session_id, device_id, kind, endpoint, p256dh, auth, secret, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [
            id,
            who.userId,
            who.sessionId,
            who.deviceId,
            req.kind,
            endpoint,
            req.kind === 'webpush' ? req.keys.p256dh : null,
            req.kind === 'webpush' ? req.keys.auth : null,
            secret,
            o.now,
          ],
        )
      })
      return {
        id,
        kind: req.kind,
        deviceId: who.deviceId,
        endpoint,
        createdAt: o.now,
        ...(secret !== null ? { secret } : {}),
      }
    },

    /** The user's live targets, newest first, without secrets. */
    async list(userId: string): Promise<PushTarget[]> {
      const r = await db.query<{
        id: string
        kind: 'webpush' | 'webhook'
        deviceId: string
        endpoint: string
        createdAt: string
      }>(
        `SELECT id, kind, device_id AS "deviceId", endpoint, created_at AS "createdAt" FROM ${t}
         WHERE user_id = $1 AND dead_at IS NULL ORDER BY created_at DESC, id`,
        [userId],
      )
      return r.rows.map((x) => ({ ...x, createdAt: Number(x.createdAt) }))
    },

    /** PUSH_TARGET_NOT_FOUND unless the user has a live target with this id. */
    async remove(userId: string, id: string): Promise<void> {
      const r = await db.query(
        `DELETE FROM ${t} WHERE id = $1 AND user_id = $2 AND dead_at IS NULL RETURNING id`,
        [id, userId],
      )
      if (r.rows.length === 0) throw new ChatError('PUSH_TARGET_NOT_FOUND')
    },

    /** The live targets of these users (the push worker, per burst). */
    async ofUsers(userIds: readonly string[]): Promise<StoredTarget[]> {
      if (userIds.length === 0) return []
      const r = await db.query<StoredTarget>(
        `SELECT ${COLUMNS} FROM ${t} WHERE user_id = ANY($1::text[]) AND dead_at IS NULL`,
        [userIds],
      )
      return r.rows
    },

    /** A push service said the subscription is gone (404/410), or it failed too often. */
    async markDead(id: string, reason: string, now: number): Promise<void> {
      await db.query(`UPDATE ${t} SET dead_at = $2, dead_reason = $3 WHERE id = $1 AND dead_at IS NULL`, [
        id,
        now,
        reason.slice(0, 500),
      ])
      await db.query(`DELETE FROM ${marks} WHERE target_id = $1`, [id])
    },

    /** A send failed for good; `maxFailures` in a row make the target dead. True when it died. */
    async failed(id: string, error: string, maxFailures: number, now: number): Promise<boolean> {
      const r = await db.query<{ failures: number }>(
        `UPDATE ${t} SET failures = failures + 1, last_error = $2 WHERE id = $1 AND dead_at IS NULL RETURNING failures`,
        [id, error.slice(0, 500)],
      )
      const f = r.rows[0]?.failures ?? 0
      if (f < maxFailures) return false
      await this.markDead(id, `${f} failures in a row: ${error}`, now)
      return true
    },

    async succeeded(id: string): Promise<void> {
      await db.query(`UPDATE ${t} SET failures = 0, last_error = NULL WHERE id = $1 AND failures > 0`, [id])
    },

    /**
     * The newest sequence of `conversationId` each target was told of: the worker's idempotency
     * record (a job redelivered after a crash is not sent again to a target that has it).
     */
    async marks(targetIds: readonly string[], conversationId: string): Promise<Map<string, number>> {
      if (targetIds.length === 0) return new Map()
      const r = await db.query<{ target_id: string; seq: string }>(
        `SELECT target_id, seq FROM ${marks} WHERE target_id = ANY($1::text[]) AND conversation_id = $2`,
        [targetIds, conversationId],
      )
      return new Map(r.rows.map((x) => [x.target_id, Number(x.seq)]))
    },

    /** Records that the target was told of `conversationId` up to `seq`; never moves back. */
    async mark(targetId: string, conversationId: string, seq: number, now: number): Promise<void> {
      // A target deleted meanwhile (logout) has no row to refer to: nothing to record.
      await db.query(
        `INSERT INTO ${marks} (target_id, conversation_id, seq, at)
         SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM ${t} WHERE id = $1)
         ON CONFLICT (target_id, conversation_id) DO UPDATE SET seq = GREATEST(${marks}.seq, EXCLUDED.seq), at = EXCLUDED.at`,
        [targetId, conversationId, seq, now],
      )
    },

    /**
     * Marks older than `before`: a mark only has to outlive the redelivery of a burst (a job is
     * unacknowledged for the ack wait and its retries), not the conversation.
     */
    async purgeMarks(before: number): Promise<number> {
      const r = await db.query(`DELETE FROM ${marks} WHERE at < $1 RETURNING target_id`, [before])
      return r.rows.length
    },

    /** Dead targets older than `before` go (and their marks with them). */
    async purgeDead(before: number): Promise<number> {
      const r = await db.query(`DELETE FROM ${t} WHERE dead_at < $1 RETURNING id`, [before])
      return r.rows.length
    },
  }
}

export type PushTargets = ReturnType<typeof pushTargets>
