import { ConfigError, ConfigReader } from '@chatapp/kit'
import t from 'tap'
import { readHttpConfig } from '../../../src/transport/http/config.js'

t.test('reads the auth rate limit and proxy hops, with defaults', async (t) => {
  const d = readHttpConfig(new ConfigReader({}))
  t.same(d.rateLimits.auth, { perSecond: 20 / 60, burst: 10 })
  t.equal(d.trustedProxyHops, 0)
  t.ok(d.rateLimits.refresh && d.rateLimits.lookup)
  const c = readHttpConfig(
    new ConfigReader({ AUTH_RATE_PER_MINUTE: '120', AUTH_RATE_BURST: '3', TRUSTED_PROXY_HOPS: '2' }),
  )
  t.same(c.rateLimits.auth, { perSecond: 2, burst: 3 })
  t.equal(c.trustedProxyHops, 2)
})

t.test('reports bad values together', async (t) => {
  const c = new ConfigReader({ AUTH_RATE_PER_MINUTE: '0', TRUSTED_PROXY_HOPS: 'x' })
  readHttpConfig(c)
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
