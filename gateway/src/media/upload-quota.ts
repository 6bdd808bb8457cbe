import type { ErrorCode } from '@chatapp/contracts'

/**
 * Per-user upload quotas, decided purely from a snapshot of the user's usage (read under a
 * per-user lock by `upload-ledger.ts`, so every gateway decides on the same numbers):
 * - bytes per UTC day: everything reserved that day, uploads that failed later excepted;
 * - unattached bytes: uploads no message carries yet, plus uploads in progress (their reserved
 *   bytes), so parallel uploads cannot all pass the same check.
 * Uploads reserve as they go (the declared length at once, or slab by slab when chunked), so a
 * refusal comes before the bytes are stored, and a chunked upload is cut where it crosses a quota.
 */
export interface UploadQuota {
  dailyBytes: number
  unattachedBytes: number
  /** An upload no message carries is deleted this long after it ended. */
  unattachedTtlMs: number
}

export const DEFAULT_UPLOAD_QUOTA: UploadQuota = {
  dailyBytes: 1024 * 1024 * 1024,
  unattachedBytes: 256 * 1024 * 1024,
  unattachedTtlMs: 24 * 3600_000,
}

export interface UploadUsage {
  /** Reserved today (UTC), this upload's earlier reservations included. */
  dayBytes: number
  /** Unattached uploads, and reservations of uploads in progress (this one's included). */
  unattachedBytes: number
  /** When the oldest unattached upload was stored: its expiry frees room. */
  oldestUnattachedAt: number | undefined
}

export type QuotaDecision =
  | { ok: true }
  | {
      ok: false
      code: Extract<ErrorCode, 'QUOTA_EXCEEDED' | 'PAYLOAD_TOO_LARGE'>
      message: string
      retryAfterMs?: number
    }

const DAY_MS = 86_400_000

/** Days since the epoch, UTC: the key of the daily counter. */
export const utcDay = (now: number): number => Math.floor(now / DAY_MS)

/** Slab a chunked upload reserves at a time (its size is unknown until it ends). */
export const RESERVE_SLAB = 1024 * 1024

/**
 * May an upload that will then have reserved `total` bytes reserve `more` now? An upload larger
 * than a whole quota can never pass: PAYLOAD_TOO_LARGE. Otherwise QUOTA_EXCEEDED says when
 * waiting helps: at the next UTC midnight, or when the oldest unattached upload expires (a
 * client may also send or delete what it uploaded; an upload in progress frees its room when it
 * ends, hence the one-minute floor when nothing unattached is stored yet).
 */
export const decideReservation = (
  usage: UploadUsage,
  more: number,
  total: number,
  q: UploadQuota,
  now: number,
): QuotaDecision => {
  if (total > q.dailyBytes || total > q.unattachedBytes)
    return {
      ok: false,
      code: 'PAYLOAD_TOO_LARGE',
      message: `the upload exceeds your upload quota (${Math.min(q.dailyBytes, q.unattachedBytes)} bytes)`,
    }
  if (usage.dayBytes + more > q.dailyBytes)
    return {
      ok: false,
      code: 'QUOTA_EXCEEDED',
      message: `you may upload ${q.dailyBytes} bytes a day (UTC)`,
      retryAfterMs: (utcDay(now) + 1) * DAY_MS - now,
    }
  if (usage.unattachedBytes + more > q.unattachedBytes)
    return {
      ok: false,
      code: 'QUOTA_EXCEEDED',
      message: `uploads not yet sent in a message may hold ${q.unattachedBytes} bytes: send or wait for them to expire`,
      retryAfterMs:
        usage.oldestUnattachedAt === undefined
          ? 60_000
          : Math.max(1000, usage.oldestUnattachedAt + q.unattachedTtlMs - now),
    }
  return { ok: true }
}
