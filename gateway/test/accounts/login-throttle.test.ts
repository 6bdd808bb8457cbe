import { createTestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import t from 'tap'
import { createAccountService } from '../../src/accounts/account-service.js'
import { createPasswordHasher } from '../../src/accounts/password-hasher.js'
import { accountRoutes } from '../../src/accounts/routes.js'
import { createTokenService, generatePrivateKeyPem } from '../../src/accounts/token-service.js'
import { openGatewayDb } from '../../src/db/gateway-db.js'
import { startHttpServer } from '../../src/transport/http/uws-http.js'

/**
 * Issue 10 item 5: password guessing is slowed per account, not only per address, and the
 * slow-down cannot be turned against the account's owner. The clock is the service's own (`now`),
 * so delays pass without waiting.
 */
const tn = await createTestNamespace({ shards: 1 })
t.teardown(tn.cleanup)
const log = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent')
const db = await openGatewayDb(tn.stack.databaseUrl, tn.names.dbSchemas.gateway, log)
t.teardown(() => db.close())
const tokens = await createTokenService({ privateKeyPem: generatePrivateKeyPem(), ttlS: 900 })
let clock = Date.now()
const hasher = await createPasswordHasher()
/** One gateway's accounts module; two of them over one database are two gateways. */
const service = () =>
  createAccountService({ orm: db.orm, tokens, hasher, refreshTtlS: 3600, log, now: () => clock })
const accounts = service()
// Every attempt from its own address (X-Forwarded-For through one trusted hop): the per-address
// limit never applies here, so what limits is the account's.
const server = await startHttpServer({
  routes: accountRoutes(accounts),
  deps: { tokens, log, trustedProxyHops: 1, rateLimits: { auth: { perSecond: 1000, burst: 1000 } } },
})
t.teardown(() => server.close())

let ipCount = 0
const post = async (path: string, body: unknown) => {
  const r = await fetch(`http://127.0.0.1:${server.port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': `198.51.100.${++ipCount % 250}` },
    body: JSON.stringify(body),
  })
  const error =
    r.status === 200 || r.status === 201
      ? undefined
      : ((await r.json()) as { error: Record<string, unknown> }).error
  return { status: r.status, error, retryAfter: r.headers.get('retry-after') }
}
const PASSWORD = 'violet-harbour-tangent'
const register = (username: string) =>
  post('/v1/auth/register', { username, password: PASSWORD, displayName: username })
const login = (username: string, password: string, deviceId?: string) =>
  post('/v1/auth/login', { username, password, ...(deviceId ? { deviceId } : {}) })
const fail = (username: string, deviceId?: string) => login(username, 'a-wrong-guess-123', deviceId)

t.test(
  'after five failures a username is slowed down, registered or not, with the same answer',
  async (t) => {
    await register('victor')
    for (let i = 0; i < 5; i++) {
      t.equal((await fail('victor')).error?.code, 'INVALID_CREDENTIALS')
      t.equal((await fail('nobody_here')).error?.code, 'INVALID_CREDENTIALS')
    }
    const known = await fail('victor')
    const unknown = await fail('nobody_here')
    for (const r of [known, unknown]) {
      t.equal(r.status, 429)
      t.match(r.error, { code: 'LOGIN_THROTTLED', retryable: true, retryAfterMs: 1000 })
      t.equal(r.retryAfter, '1')
    }
    t.same(known.error, unknown.error, 'an unknown username cannot be told apart')
    t.equal(
      (await login('victor', PASSWORD)).error?.code,
      'LOGIN_THROTTLED',
      'during the delay the right password is not even checked: a guess learns nothing',
    )
  },
)

t.test('each further failure doubles the delay; a success ends it', async (t) => {
  await register('wanda')
  for (let i = 0; i < 5; i++) await fail('wanda')
  const waits: unknown[] = []
  for (let i = 0; i < 4; i++) {
    const r = await fail('wanda')
    waits.push(r.error?.retryAfterMs)
    clock += Number(r.error?.retryAfterMs)
    t.equal((await fail('wanda')).error?.code, 'INVALID_CREDENTIALS', 'once the delay is over, one guess')
  }
  t.same(waits, [1000, 2000, 4000, 8000])
  clock += 16_000
  t.equal((await login('wanda', PASSWORD)).status, 200)
  for (let i = 0; i < 5; i++)
    t.equal((await fail('wanda')).error?.code, 'INVALID_CREDENTIALS', 'the count started again')
})

t.test('the delay is bounded, and forgotten a day after the last failure', async (t) => {
  await register('xena')
  let last = 0
  for (let i = 0; i < 30; i++) {
    const r = await fail('xena')
    if (r.status === 429) {
      last = Number(r.error?.retryAfterMs)
      clock += last
    }
  }
  t.equal(last, 15 * 60_000, 'never more than LOGIN_MAX_DELAY_S (15 minutes)')
  clock += 24 * 3_600_000 + 1
  for (let i = 0; i < 5; i++) t.equal((await fail('xena')).error?.code, 'INVALID_CREDENTIALS')
})

t.test(
  'failures from elsewhere never slow down a device the account has logged in from before',
  async (t) => {
    await register('yusuf')
    t.equal((await login('yusuf', PASSWORD, 'yusufs-phone-7f3a')).status, 200)
    for (let i = 0; i < 8; i++) await fail('yusuf', i % 2 ? 'attacker-device' : undefined)
    t.equal((await fail('yusuf')).error?.code, 'LOGIN_THROTTLED', 'new devices wait')
    t.equal((await login('yusuf', PASSWORD, 'yusufs-phone-7f3a')).status, 200, 'the known device does not')
    // The known device has its own count: guessing with it is slowed down the same way.
    for (let i = 0; i < 5; i++) await fail('yusuf', 'yusufs-phone-7f3a')
    t.equal((await fail('yusuf', 'yusufs-phone-7f3a')).error?.code, 'LOGIN_THROTTLED')
  },
)

t.test(
  'guesses sent in parallel when a wait ends get one attempt between them, on any gateway',
  async (t) => {
    await register('zora')
    for (let i = 0; i < 5; i++) await fail('zora')
    clock += 1000
    // A second service over the same database: another gateway counting the same username.
    const other = service()
    const codes = await Promise.all([
      ...Array.from({ length: 4 }, () => fail('zora').then((r) => r.error?.code)),
      ...Array.from({ length: 4 }, () =>
        other.login({ username: 'zora', password: 'a-wrong-guess-123' }).then(
          () => 'LOGGED_IN',
          (e: { code: string }) => e.code,
        ),
      ),
    ])
    t.same(
      codes.sort(),
      ['INVALID_CREDENTIALS', ...Array(7).fill('LOGIN_THROTTLED')],
      'one guess checked, seven told to wait',
    )
  },
)
