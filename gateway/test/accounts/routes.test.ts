import type { TokenPair, UserProfile } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import t from 'tap'
import {
  createAccountService,
  PURGE_GRACE_MS,
  type RevocationReason,
} from '../../src/accounts/account-service.js'
import { DEFAULT_LOGIN_THROTTLE } from '../../src/accounts/login-throttle.js'
import { createPasswordHasher } from '../../src/accounts/password-hasher.js'
import { accountRoutes } from '../../src/accounts/routes.js'
import { createTokenService, generatePrivateKeyPem } from '../../src/accounts/token-service.js'
import { webSessionRoutes } from '../../src/accounts/web-session-routes.js'
import { openGatewayDb } from '../../src/db/gateway-db.js'
import { startHttpServer } from '../../src/transport/http/uws-http.js'

const tn = await createTestNamespace({ shards: 1 })
t.teardown(tn.cleanup)
const log = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent')
const db = await openGatewayDb(tn.stack.databaseUrl, tn.names.dbSchemas.gateway, log)
t.teardown(() => db.close())
const pem = generatePrivateKeyPem()
// One second of tolerance keeps the expiry test short.
const tokens = await createTokenService({ privateKeyPem: pem, ttlS: 900, clockToleranceS: 1 })
const revoked: { userId: string; sessionIds: string[]; reason: RevocationReason }[] = []
const accounts = createAccountService({
  orm: db.orm,
  tokens,
  hasher: await createPasswordHasher(),
  refreshTtlS: 3600,
  log,
  onSessionsRevoked: (userId, sessionIds, reason) => revoked.push({ userId, sessionIds, reason }),
  // These tests fail logins on purpose; the per-account throttle has its own (login-throttle.test.ts).
  loginThrottle: { ...DEFAULT_LOGIN_THROTTLE, freeFailures: 1000 },
})
const routes = [...accountRoutes(accounts), ...webSessionRoutes(accounts)]
const server = await startHttpServer({
  routes,
  deps: { tokens, log, rateLimits: { auth: { perSecond: 1000, burst: 1000 } } },
})
t.teardown(() => server.close())
const base = `http://127.0.0.1:${server.port}`

type Json = Record<string, unknown>
const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
  const text = await r.text()
  return { status: r.status, headers: r.headers, body: (text ? JSON.parse(text) : undefined) as Json }
}
const code = (r: { body: Json }) => (r.body.error as { code: string } | undefined)?.code
const PASSWORD = 'violet-harbour-tangent'
const register = (username: string, password = PASSWORD) =>
  call('POST', '/v1/auth/register', { username, password, displayName: `${username} display` })
const login = async (username: string, deviceId?: string, password = PASSWORD) =>
  call('POST', '/v1/auth/login', { username, password, ...(deviceId ? { deviceId } : {}) })

t.test('registers, logs in, and the access token opens authenticated routes', async (t) => {
  const reg = await register('alice')
  t.equal(reg.status, 201)
  const profile = reg.body as unknown as UserProfile
  t.match(profile, { username: 'alice', displayName: 'alice display', userId: /^u_[A-Za-z0-9_-]{20,}$/ })
  t.notOk('passwordHash' in reg.body)
  t.equal(reg.headers.get('cache-control'), 'no-store')

  const l = await login('Alice', 'phone')
  t.equal(l.status, 200, 'usernames are case-insensitive at login')
  const pair = l.body as unknown as TokenPair
  t.match(pair, { userId: profile.userId, deviceId: 'phone', refreshToken: /^rt_/ })
  t.ok(pair.accessExpiresAt > Date.now() && pair.refreshExpiresAt > pair.accessExpiresAt)
  t.equal(l.headers.get('cache-control'), 'no-store', 'token responses are never cached')

  const me = await tokens.verifyAccessToken(pair.accessToken)
  t.match(me, { userId: profile.userId, deviceId: 'phone' })
  const found = await call('GET', '/v1/users/by-username/ALICE', undefined, {
    authorization: `Bearer ${pair.accessToken}`,
  })
  t.same(found.body, profile)
  const missing = await call('GET', '/v1/users/by-username/nobody', undefined, {
    authorization: `Bearer ${pair.accessToken}`,
  })
  t.equal(missing.status, 404)
  t.equal(code(missing), 'USER_NOT_FOUND')
  const anonymous = await call('GET', '/v1/users/by-username/alice')
  t.equal(anonymous.status, 401)
  t.equal(code(anonymous), 'UNAUTHENTICATED')

  const noDevice = (await login('alice')).body as unknown as TokenPair
  t.match(noDevice.deviceId, /^d[A-Za-z0-9_-]{8,}$/, 'a device id is assigned when none is given')
})

t.test('refuses a taken username with USERNAME_TAKEN, also when two register at once', async (t) => {
  await register('bob')
  const again = await register('bob', 'another-fine-password')
  t.equal(again.status, 409)
  t.equal(code(again), 'USERNAME_TAKEN')
  const race = await Promise.all([register('carol'), register('carol'), register('carol')])
  t.same(race.map((r) => r.status).sort(), [201, 409, 409])
})

t.test('refuses weak and common passwords with WEAK_PASSWORD', async (t) => {
  for (const password of [
    'short',
    'password123',
    'Qwerty123!',
    'iloveyou2',
    'dave-the-dave-99',
    '𝒂'.repeat(257),
  ]) {
    const r = await register('dave', password)
    t.equal(r.status, 400, password.slice(0, 20))
    t.equal(code(r), 'WEAK_PASSWORD', password.slice(0, 20))
  }
  t.equal((await register('dave', 'a perfectly decent passphrase')).status, 201)
})

t.test('refuses malformed registration bodies with codes', async (t) => {
  const cases: [unknown, string][] = [
    ['{"username":', 'BAD_JSON'],
    [{ username: 'Has Space', password: 'long enough pass', displayName: 'x' }, 'INVALID_REQUEST'],
    [{ username: 'erin', password: 'long enough pass' }, 'INVALID_REQUEST'],
    [{ username: 'erin', password: 'long enough pass', displayName: 'x', admin: true }, 'INVALID_REQUEST'],
    [{ username: 'erin', password: 'long enough pass', displayName: 'evil\u202eeman' }, 'INVALID_REQUEST'],
    [{ username: 'erin', password: 'x'.repeat(5000), displayName: 'x' }, 'PAYLOAD_TOO_LARGE'],
  ]
  for (const [body, expected] of cases) {
    const r = await call('POST', '/v1/auth/register', body)
    t.equal(code(r), expected, JSON.stringify(body).slice(0, 60))
  }
  t.equal(code(await call('GET', '/v1/auth/register')), 'METHOD_NOT_ALLOWED')
  t.equal(code(await call('POST', '/v1/auth/nothing', {})), 'NOT_FOUND')
})

t.test('an unknown user and a wrong password get the same answer in about the same time', async (t) => {
  await register('frank')
  const wrong = () => login('frank', 'd1', 'not-the-password')
  const unknown = () => login('nosuchuser', 'd1', 'not-the-password')
  const a = await wrong()
  const b = await unknown()
  t.equal(a.status, 401)
  t.same(a.body, b.body)
  t.equal(code(a), 'INVALID_CREDENTIALS')
  const names = (h: Headers) => [...h.keys()].filter((k) => k !== 'date').sort()
  t.same(names(a.headers), names(b.headers))
  t.equal(
    code(await login('x', 'd1', 'whatever-password')),
    'INVALID_CREDENTIALS',
    'not even a valid username',
  )

  const time = async (f: () => Promise<unknown>) => {
    const start = performance.now()
    await f()
    return performance.now() - start
  }
  const tw: number[] = []
  const tu: number[] = []
  for (let i = 0; i < 5; i++) {
    tw.push(await time(wrong))
    tu.push(await time(unknown))
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[2]!
  const ratio = median(tu) / median(tw)
  // Without the dummy verification the ratio is ~0.1: the bounds leave room for a busy machine.
  t.ok(ratio > 0.33 && ratio < 3, `unknown/wrong median time ratio ${ratio.toFixed(2)}`)
})

t.test('refresh rotates the token; reusing a rotated one revokes the whole session', async (t) => {
  await register('grace')
  const first = (await login('grace', 'laptop')).body as unknown as TokenPair
  const r1 = await call('POST', '/v1/auth/refresh', { refreshToken: first.refreshToken })
  t.equal(r1.status, 200)
  const second = r1.body as unknown as TokenPair
  t.not(second.refreshToken, first.refreshToken, 'a new refresh token')
  t.equal(second.deviceId, 'laptop')
  const s1 = await tokens.verifyAccessToken(first.accessToken)
  const s2 = await tokens.verifyAccessToken(second.accessToken)
  t.equal(s2.sessionId, s1.sessionId, 'same session (family)')

  revoked.length = 0
  const reuse = await call('POST', '/v1/auth/refresh', { refreshToken: first.refreshToken })
  t.equal(reuse.status, 401)
  t.equal(code(reuse), 'INVALID_REFRESH_TOKEN')
  t.same(revoked, [{ userId: second.userId, sessionIds: [s1.sessionId], reason: 'reuse' }])
  const legit = await call('POST', '/v1/auth/refresh', { refreshToken: second.refreshToken })
  t.equal(code(legit), 'INVALID_REFRESH_TOKEN', 'the current token of the family died with it')
  t.equal(
    code(await call('POST', '/v1/auth/refresh', { refreshToken: 'rt_unknown' })),
    'INVALID_REFRESH_TOKEN',
  )
  t.equal(code(await call('POST', '/v1/auth/refresh', {})), 'INVALID_REQUEST')
})

t.test('two refreshes of one token at once: one wins, the other is reuse', async (t) => {
  await register('heidi')
  const p = (await login('heidi', 'tab')).body as unknown as TokenPair
  const both = await Promise.all([
    call('POST', '/v1/auth/refresh', { refreshToken: p.refreshToken }),
    call('POST', '/v1/auth/refresh', { refreshToken: p.refreshToken }),
  ])
  t.same(both.map((r) => r.status).sort(), [200, 401])
})

t.test('logging in again on a device replaces its session; other devices keep theirs', async (t) => {
  await register('ivan')
  const phone1 = (await login('ivan', 'phone')).body as unknown as TokenPair
  const desk = (await login('ivan', 'desk')).body as unknown as TokenPair
  const phone2 = (await login('ivan', 'phone')).body as unknown as TokenPair
  t.equal(
    code(await call('POST', '/v1/auth/refresh', { refreshToken: phone1.refreshToken })),
    'INVALID_REFRESH_TOKEN',
  )
  t.equal((await call('POST', '/v1/auth/refresh', { refreshToken: desk.refreshToken })).status, 200)
  t.equal((await call('POST', '/v1/auth/refresh', { refreshToken: phone2.refreshToken })).status, 200)
})

t.test('logout ends one device; logout of all devices ends every session', async (t) => {
  await register('judy')
  const a = (await login('judy', 'a')).body as unknown as TokenPair
  const b = (await login('judy', 'b')).body as unknown as TokenPair
  const c = (await login('judy', 'c')).body as unknown as TokenPair
  const out = await call('POST', '/v1/auth/logout', { refreshToken: a.refreshToken })
  t.equal(out.status, 204)
  t.equal(
    code(await call('POST', '/v1/auth/refresh', { refreshToken: a.refreshToken })),
    'INVALID_REFRESH_TOKEN',
  )
  const bNext = (await call('POST', '/v1/auth/refresh', { refreshToken: b.refreshToken }))
    .body as unknown as TokenPair
  t.ok(bNext.refreshToken, 'device b is still logged in')

  revoked.length = 0
  t.equal(
    code(await call('POST', '/v1/auth/logout', { refreshToken: b.refreshToken, allDevices: true })),
    'INVALID_REFRESH_TOKEN',
    'a rotated token may not end every device',
  )
  t.equal(
    (await call('POST', '/v1/auth/logout', { refreshToken: bNext.refreshToken, allDevices: true })).status,
    204,
  )
  t.equal(revoked.length, 1)
  t.equal(revoked[0]!.reason, 'logout-all')
  t.equal(revoked[0]!.sessionIds.length, 2, 'b and c')
  for (const token of [bNext.refreshToken, c.refreshToken]) {
    t.equal(code(await call('POST', '/v1/auth/refresh', { refreshToken: token })), 'INVALID_REFRESH_TOKEN')
  }
  t.equal(code(await call('POST', '/v1/auth/logout', { refreshToken: 'rt_nope' })), 'INVALID_REFRESH_TOKEN')
})

t.test('an access token past its expiry is refused with TOKEN_EXPIRED', async (t) => {
  const reg = (await register('kim')).body as unknown as UserProfile
  const short = await createTokenService({ privateKeyPem: pem, ttlS: 1 })
  const { accessToken, expiresAt } = await short.issue(reg.userId, 'd1', 's_abcdefgh')
  const get = () =>
    call('GET', '/v1/users/by-username/kim', undefined, { authorization: `Bearer ${accessToken}` })
  t.equal((await get()).status, 200, 'valid before it expires')
  // The server allows 1 s of clock skew: wait for that instant on the clock, bounded.
  const deadline = expiresAt + 1000
  while (Date.now() <= deadline)
    await new Promise((r) => setTimeout(r, Math.min(100, deadline - Date.now() + 1)))
  const r = await get()
  t.equal(r.status, 401)
  t.equal(code(r), 'TOKEN_EXPIRED')
})

t.test('the directory answers which user ids exist, in one round trip', async (t) => {
  const l = (await register('leo')).body as unknown as UserProfile
  const m = (await register('mia')).body as unknown as UserProfile
  t.same(await accounts.existing([]), new Set())
  t.same(
    await accounts.existing([l.userId, m.userId, 'u_doesnotexist', l.userId]),
    new Set([l.userId, m.userId]),
  )
})

t.test('register and login are rate limited per client address', async (t) => {
  const limited = await startHttpServer({ routes, deps: { tokens, log, trustedProxyHops: 1 } })
  t.teardown(() => limited.close())
  const attempt = (ip: string) =>
    fetch(`http://127.0.0.1:${limited.port}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
      body: JSON.stringify({ username: 'nobody', password: 'guess-guess-guess' }),
    })
  const statuses: number[] = []
  for (let i = 0; i < 11; i++) statuses.push((await attempt('203.0.113.7')).status)
  t.same(statuses, [...Array(10).fill(401), 429], 'the default burst is 10')
  const r = await attempt('203.0.113.7')
  t.equal(r.status, 429)
  t.ok(Number(r.headers.get('retry-after')) >= 1)
  t.equal(((await r.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED')
  t.equal((await attempt('198.51.100.2')).status, 401, 'another address is not limited')
})

t.test('purging removes long-expired refresh tokens and the sessions left without any', async (t) => {
  await register('nina')
  const p = (await login('nina', 'old-phone')).body as unknown as TokenPair
  t.match(await accounts.purgeExpired(), { tokens: 0, sessions: 0 }, 'nothing has expired yet')
  const later = createAccountService({
    orm: db.orm,
    tokens,
    hasher: await createPasswordHasher(),
    refreshTtlS: 3600,
    log,
    now: () => Date.now() + 3_600_000 + PURGE_GRACE_MS + 1000,
  })
  const purged = await later.purgeExpired()
  t.ok(purged.tokens >= 1 && purged.sessions >= 1, JSON.stringify(purged))
  t.equal(
    code(await call('POST', '/v1/auth/refresh', { refreshToken: p.refreshToken })),
    'INVALID_REFRESH_TOKEN',
  )
  t.same(await later.purgeExpired(), { tokens: 0, sessions: 0, limits: 0 }, 'idempotent')
})

// The browser's endpoints (web-session-routes.ts), tested here on the same account service.
const cookieOf = (r: { headers: Headers }) => r.headers.get('set-cookie') ?? ''
const rtOf = (setCookie: string) => /chatapp_rt=([^;]*)/.exec(setCookie)?.[1] ?? ''

t.test(
  'a web login puts the refresh token in an HttpOnly SameSite=Strict cookie, never in the body',
  async (t) => {
    await register('wendy')
    const r = await call('POST', '/v1/auth/web/login', {
      username: 'wendy',
      password: PASSWORD,
      deviceId: 'web-1',
    })
    t.equal(r.status, 200)
    t.notOk('refreshToken' in r.body, 'no refresh token in the body')
    t.match(r.body, { deviceId: 'web-1', accessToken: /^ey/ })
    const c = cookieOf(r)
    t.match(rtOf(c), /^rt_/)
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/v1/auth/web'])
      t.ok(c.includes(attr), attr)
    t.equal(r.headers.get('cache-control'), 'no-store')
  },
)

t.test(
  'the cookie refreshes and rotates; replaying a used cookie revokes the session and clears it',
  async (t) => {
    await register('walter')
    const first = rtOf(
      cookieOf(await call('POST', '/v1/auth/web/login', { username: 'walter', password: PASSWORD })),
    )
    const r = await call('POST', '/v1/auth/web/refresh', undefined, {
      cookie: `other=1; chatapp_rt=${first}`,
    })
    t.equal(r.status, 200)
    const second = rtOf(cookieOf(r))
    t.not(second, first, 'rotated')
    t.match(r.body, { accessToken: /^ey/ })
    const replay = await call('POST', '/v1/auth/web/refresh', undefined, { cookie: `chatapp_rt=${first}` })
    t.equal(code(replay), 'INVALID_REFRESH_TOKEN')
    t.match(cookieOf(replay), /chatapp_rt=;.*Max-Age=0/, 'the dead cookie is cleared')
    const after = await call('POST', '/v1/auth/web/refresh', undefined, { cookie: `chatapp_rt=${second}` })
    t.equal(code(after), 'INVALID_REFRESH_TOKEN', 'reuse revoked the whole session')
    t.equal(
      code(await call('POST', '/v1/auth/web/refresh')),
      'INVALID_REFRESH_TOKEN',
      'no cookie, no session',
    )
  },
)

t.test('a page of another site cannot use the web session endpoints', async (t) => {
  await register('wilma')
  const evil = { origin: 'https://evil.example' }
  const login = await call('POST', '/v1/auth/web/login', { username: 'wilma', password: PASSWORD }, evil)
  t.equal(login.status, 403)
  t.equal(code(login), 'ORIGIN_NOT_ALLOWED')
  t.equal(cookieOf(login), '')
  const own = await call(
    'POST',
    '/v1/auth/web/login',
    { username: 'wilma', password: PASSWORD },
    { origin: base },
  )
  t.equal(own.status, 200, 'the gateway’s own origin is accepted')
  const rt = rtOf(cookieOf(own))
  const refresh = await call('POST', '/v1/auth/web/refresh', undefined, {
    ...evil,
    cookie: `chatapp_rt=${rt}`,
  })
  t.equal(code(refresh), 'ORIGIN_NOT_ALLOWED')
  const out = await call('POST', '/v1/auth/web/logout', undefined, { ...evil, cookie: `chatapp_rt=${rt}` })
  t.equal(code(out), 'ORIGIN_NOT_ALLOWED')
  t.equal((await call('POST', '/v1/auth/web/refresh', undefined, { cookie: `chatapp_rt=${rt}` })).status, 200)
})

t.test('a plain-HTTP deployment may drop Secure from the cookie, nothing else', async (t) => {
  const plain = await startHttpServer({
    routes: webSessionRoutes(accounts, { secureCookie: false }),
    deps: { tokens, log, rateLimits: { auth: { perSecond: 1000, burst: 1000 } } },
  })
  t.teardown(() => plain.close())
  await register('wes')
  const r = await fetch(`http://127.0.0.1:${plain.port}/v1/auth/web/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'wes', password: PASSWORD }),
  })
  const c = r.headers.get('set-cookie') ?? ''
  t.equal(r.status, 200)
  t.notMatch(c, /Secure/)
  t.match(c, /HttpOnly; SameSite=Strict/)
})

t.test('web logout revokes the session of the cookie and clears it, also when already gone', async (t) => {
  await register('wayne')
  const rt = rtOf(
    cookieOf(await call('POST', '/v1/auth/web/login', { username: 'wayne', password: PASSWORD })),
  )
  const out = await call('POST', '/v1/auth/web/logout', undefined, { cookie: `chatapp_rt=${rt}` })
  t.equal(out.status, 204)
  t.match(cookieOf(out), /chatapp_rt=;.*Max-Age=0/)
  t.equal(
    code(await call('POST', '/v1/auth/web/refresh', undefined, { cookie: `chatapp_rt=${rt}` })),
    'INVALID_REFRESH_TOKEN',
  )
  t.equal((await call('POST', '/v1/auth/web/logout', undefined, { cookie: `chatapp_rt=${rt}` })).status, 204)
  t.equal((await call('POST', '/v1/auth/web/logout')).status, 204)
})
