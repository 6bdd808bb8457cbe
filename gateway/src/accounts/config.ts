import type { ConfigReader } from '@chatapp/kit'

export interface AccountsConfig {
  jwtPrivateKeyFile: string
  accessTokenTtlS: number
  refreshTokenTtlS: number
}

/** Called from main.ts with its ConfigReader (the only place reading the environment). */
export const readAccountsConfig = (c: ConfigReader): AccountsConfig => ({
  jwtPrivateKeyFile: c.str('JWT_PRIVATE_KEY_FILE'),
  accessTokenTtlS: c.int('ACCESS_TOKEN_TTL_S', 30, 86_400),
  refreshTokenTtlS: c.int('REFRESH_TOKEN_TTL_S', 300, 400 * 86_400),
})
