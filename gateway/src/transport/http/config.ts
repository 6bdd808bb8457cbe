import type { ConfigReader } from '@chatapp/kit'
import type { BucketSpec } from './rate-limiter.js'

/**
 * Token buckets, by the name routes give in `rateLimit` (keyed by client address unless the route
 * says `rateLimitBy: 'user'`):
 * - `auth`: register and login (argon2 work, password guessing);
 * - `refresh`: refresh and logout (a client refreshes every ~15 minutes);
 * - `lookup`: finding users by username (enumeration by logged-in users);
 * - `upload`: media uploads, per user (the byte quotas are the media module's, over all gateways).
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<string, BucketSpec>> = {
  auth: { perSecond: 20 / 60, burst: 10 },
  refresh: { perSecond: 1, burst: 30 },
  lookup: { perSecond: 1, burst: 30 },
  upload: { perSecond: 30 / 60, burst: 10 },
}

export interface HttpConfig {
  rateLimits: Record<string, BucketSpec>
  trustedProxyHops: number
}

/** Called from main.ts with its ConfigReader (the only place reading the environment). */
export const readHttpConfig = (c: ConfigReader): HttpConfig => ({
  rateLimits: {
    ...DEFAULT_RATE_LIMITS,
    auth: {
      perSecond: c.int('AUTH_RATE_PER_MINUTE', 1, 1_000_000) / 60,
      burst: c.int('AUTH_RATE_BURST', 1, 1_000_000),
    },
    upload: {
      perSecond: c.int('UPLOAD_RATE_PER_MINUTE', 1, 1_000_000) / 60,
      burst: c.int('UPLOAD_RATE_BURST', 1, 1_000_000),
    },
  },
  trustedProxyHops: c.int('TRUSTED_PROXY_HOPS', 0, 10),
})
