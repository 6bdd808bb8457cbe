import { ConfigError, ConfigReader } from '@chatapp/kit'
import t from 'tap'
import { readAccountsConfig } from '../../src/accounts/config.js'

t.test('reads the key file and token lifetimes, with defaults', async (t) => {
  t.same(readAccountsConfig(new ConfigReader({})), {
    jwtPrivateKeyFile: '.data/keys/jwt-ed25519.pem',
    accessTokenTtlS: 900,
    refreshTokenTtlS: 2_592_000,
    loginThrottle: { freeFailures: 5, maxDelayMs: 900_000, forgetAfterMs: 86_400_000 },
    groupCreation: { perSecond: 20 / 3600, burst: 20 },
  })
  t.match(readAccountsConfig(new ConfigReader({ ACCESS_TOKEN_TTL_S: '60' })), { accessTokenTtlS: 60 })
  t.match(
    readAccountsConfig(
      new ConfigReader({ LOGIN_FREE_FAILURES: '3', LOGIN_MAX_DELAY_S: '60', GROUP_CREATE_PER_HOUR: '6' }),
    ),
    {
      loginThrottle: { freeFailures: 3, maxDelayMs: 60_000 },
      groupCreation: { perSecond: 6 / 3600, burst: 6 },
    },
  )
})

t.test('refuses lifetimes out of range', async (t) => {
  const c = new ConfigReader({ ACCESS_TOKEN_TTL_S: '5', REFRESH_TOKEN_TTL_S: 'forever' })
  readAccountsConfig(c)
  const e = (() => {
    try {
      c.done()
    } catch (err) {
      return err
    }
  })()
  t.ok(e instanceof ConfigError, 'a ConfigError')
  t.equal((e as ConfigError).problems.length, 2, 'both problems at once')
})
