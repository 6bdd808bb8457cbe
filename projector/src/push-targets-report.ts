import { ident, type Queryable } from './db.js'

/** One push target as operators see it (`chatapp-ops push-targets`): never its keys or secret. */
export interface PushTargetReport {
  id: string
  userId: string
  deviceId: string
  kind: string
  endpoint: string
  createdAt: number
  failures: number
  lastError: string | null
  deadAt: number | null
  deadReason: string | null
}

/**
 * Reads the gateway's `push_targets` (migration 0190 of the gateway schema; ADR 0190): a user's
 * targets, live and dead, or every dead target. Read-only, and only the columns operators need:
 * the subscription keys and webhook secrets stay where they are.
 */
export const pushTargetsReport = async (
  db: Queryable,
  gatewaySchema: string,
  q: { userId: string } | { dead: true },
  limit: number,
): Promise<PushTargetReport[]> => {
  const where = 'userId' in q ? 'user_id = $1' : 'dead_at IS NOT NULL AND $1::text IS NULL'
  const r = await db.query<Record<string, string | number | null>>(
    `SELECT id, user_id, device_id, kind, endpoint, created_at, failures, last_error, dead_at, dead_reason
     FROM ${ident(gatewaySchema)}.push_targets WHERE ${where}
     ORDER BY dead_at DESC NULLS FIRST, created_at DESC LIMIT $2`,
    ['userId' in q ? q.userId : null, limit],
  )
  return r.rows.map((x) => ({
    id: String(x.id),
    userId: String(x.user_id),
    deviceId: String(x.device_id),
    kind: String(x.kind),
    endpoint: String(x.endpoint),
    createdAt: Number(x.created_at),
    failures: Number(x.failures),
    lastError: x.last_error === null ? null : String(x.last_error),
    deadAt: x.dead_at === null ? null : Number(x.dead_at),
    deadReason: x.dead_reason === null ? null : String(x.dead_reason),
  }))
}

/** The endpoint as a table shows it: its origin and a short path, never a full capability URL. */
export const shortEndpoint = (endpoint: string): string => {
  try {
    const u = new URL(endpoint)
    const path = u.pathname.length > 16 ? `${u.pathname.slice(0, 12)}…` : u.pathname
    return `${u.origin}${path}`
  } catch {
    return endpoint.slice(0, 40)
  }
}
