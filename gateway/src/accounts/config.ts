import type { ConfigReader } from '@chatapp/kit'
import type { BucketSpec } from '../transport/http/rate-limiter.js'
import { DEFAULT_LOGIN_THROTTLE, type LoginThrottlePolicy } from './login-throttle.js'

export interface AccountsConfig {
  jwtPrivateKeyFile: string
  accessTokenTtlS: number
  refreshTokenTtlS: number
  loginThrottle: LoginThrottlePolicy
  /** Group creations per user, across gateways: `GROUP_CREATE_PER_HOUR` at once, then as many per hour. */
  groupCreation: BucketSpec
}

/** Called from main.ts with its ConfigReader (the only place reading the environment). */
export const readAccountsConfig = (c: ConfigReader): AccountsConfig => ({
  jwtPrivateKeyFile: c.str('JWT_PRIVATE_KEY_FILE'),
  accessTokenTtlS: c.int('ACCESS_TOKEN_TTL_S', 30, 86_400),
  refreshTokenTtlS: c.int('REFRESH_TOKEN_TTL_S', 300, 400 * 86_400),
  loginThrottle: {
    ...DEFAULT_LOGIN_THROTTLE,
    freeFailures: c.int('LOGIN_FREE_FAILURES', 1, 100),
    maxDelayMs: c.int('LOGIN_MAX_DELAY_S', 1, 86_400) * 1000,
  },
  groupCreation: ((perHour: number) => ({ perSecond: perHour / 3600, burst: perHour }))(
    c.int('GROUP_CREATE_PER_HOUR', 1, 1_000_000),
  ),
})
