import type { NatsConnection } from '@chatapp/kit'
import type { RevocationReason } from './account-service.js'

/**
 * Which sessions were revoked recently, on every gateway instance. Access tokens are verified
 * without I/O, so without this a logged-out session's access token (and its open WebSockets)
 * would keep working until the token expires. An instance that revokes a session records it and
 * publishes it on core NATS; every instance records what it hears and tells its listeners (the
 * WebSocket layer closes that session's sockets with 4403).
 *
 * Guarantees: best effort and bounded. An entry is kept for `retainMs` (at least the access
 * token lifetime plus clock tolerance: after that the tokens are expired anyway). An instance
 * that was disconnected from NATS when a revocation was published never hears of it; that
 * session then ends at its token's expiry, as it would without this module.
 */
export interface SessionRevocations {
  /** Records and broadcasts a revocation (wire it to AccountService's `onSessionsRevoked`). */
  revoked(userId: string, sessionIds: string[], reason: RevocationReason): void
  /** For TokenService's `isRevoked`. */
  isRevoked(sessionId: string): boolean
  /** Called for every revocation, local or heard from another instance. Returns an unsubscribe. */
  onRevoked(listener: (userId: string, sessionIds: string[]) => void): () => void
  close(): void
}

interface Notice {
  userId: string
  sessionIds: string[]
  reason: RevocationReason
  /** Instance that published it: it already recorded the notice and skips its own echo. */
  origin: string
}

/** Bounds memory under a logout storm; the oldest entries go first (they expire first). */
const MAX_ENTRIES = 1_000_000

export const createSessionRevocations = (o: {
  nc?: NatsConnection
  /** A core NATS subject shared by the gateways of one namespace. */
  subject?: string
  retainMs: number
  now?: () => number
}): SessionRevocations => {
  const now = o.now ?? Date.now
  const origin = Math.random().toString(36).slice(2)
  const until = new Map<string, number>()
  const listeners = new Set<(userId: string, sessionIds: string[]) => void>()

  const record = (userId: string, sessionIds: string[]) => {
    const t = now()
    for (const id of sessionIds) {
      until.delete(id)
      until.set(id, t + o.retainMs)
    }
    // Insertion order is expiry order: drop the expired (and any excess) from the front.
    for (const [id, exp] of until) {
      if (exp > t && until.size <= MAX_ENTRIES) break
      until.delete(id)
    }
    for (const l of listeners) l(userId, sessionIds)
  }

  const sub =
    o.nc && o.subject
      ? o.nc.subscribe(o.subject, {
          callback: (err, msg) => {
            if (err) return
            try {
              const n = msg.json<Notice>()
              if (n.origin === origin || typeof n.userId !== 'string' || !Array.isArray(n.sessionIds)) return
              record(
                n.userId,
                n.sessionIds.filter((s): s is string => typeof s === 'string'),
              )
            } catch {
              // not a notice: ignore
            }
          },
        })
      : undefined

  return {
    revoked(userId, sessionIds, reason) {
      record(userId, sessionIds)
      if (o.nc && o.subject) {
        const notice: Notice = { userId, sessionIds, reason, origin }
        o.nc.publish(o.subject, JSON.stringify(notice))
      }
    },
    isRevoked(sessionId) {
      const exp = until.get(sessionId)
      return exp !== undefined && exp > now()
    },
    onRevoked(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close() {
      sub?.unsubscribe()
      listeners.clear()
    },
  }
}
