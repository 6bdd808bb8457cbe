import type { PushContent } from '@chatapp/contracts'
import type { ConfigReader } from '@chatapp/kit'
import type { TargetPolicy } from './target-policy.js'
import type { RetryPolicy } from './worker/retry.js'

/** What the gateway and the push worker both read: the VAPID key and who may be a target. */
export interface PushConfig {
  vapidKeyFile: string
  vapidSubject: string
  policy: TargetPolicy
  maxTargetsPerUser: number
}

/** Called from a main.ts with its ConfigReader (the only place reading the environment). */
export const readPushConfig = (c: ConfigReader): PushConfig => ({
  vapidKeyFile: c.str('PUSH_VAPID_KEY_FILE'),
  vapidSubject: c.str('PUSH_VAPID_SUBJECT'),
  policy: { webPushOrigins: c.list('PUSH_WEBPUSH_ORIGINS'), webhookOrigins: c.list('PUSH_WEBHOOK_ORIGINS') },
  maxTargetsPerUser: c.int('PUSH_MAX_TARGETS_PER_USER', 1, 1000),
})

export interface PushWorkerConfig {
  opsPort: number
  content: PushContent
  coalesceMs: number
  ttlS: number
  timeoutMs: number
  retry: RetryPolicy
  maxFailures: number
  concurrency: number
  ackWaitMs: number
  deadRetentionMs: number
}

export const readPushWorkerConfig = (c: ConfigReader): PushWorkerConfig => ({
  opsPort: c.int('PUSH_WORKER_OPS_PORT', 0, 65535),
  content: c.oneOf('PUSH_CONTENT', ['full', 'none'] as const),
  coalesceMs: c.int('PUSH_COALESCE_MS', 0, 600_000),
  ttlS: c.int('PUSH_TTL_S', 0, 28 * 86_400),
  timeoutMs: c.int('PUSH_TIMEOUT_MS', 100, 120_000),
  retry: {
    maxAttempts: c.int('PUSH_MAX_ATTEMPTS', 1, 20),
    baseMs: c.int('PUSH_RETRY_BASE_MS', 1, 600_000),
    maxMs: c.int('PUSH_RETRY_MAX_MS', 1, 3_600_000),
  },
  maxFailures: c.int('PUSH_MAX_FAILURES', 1, 1000),
  concurrency: c.int('PUSH_CONCURRENCY', 1, 1024),
  ackWaitMs: c.int('PUSH_ACK_WAIT_MS', 1000, 600_000),
  deadRetentionMs: c.int('PUSH_DEAD_RETENTION_DAYS', 1, 3650) * 86_400_000,
})
