import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { errorBody } from '@chatapp/contracts'
import t from 'tap'
import { AuthApi } from '../src/auth-api.js'

type Handler = (req: IncomingMessage, body: unknown, res: ServerResponse) => void

const serve = async (t: { teardown: (f: () => unknown) => void }, handler: Handler) => {
  const seen: Array<{ path: string | undefined; body: unknown; contentType: string | undefined }> = []
  const server = createServer((req, res) => {
    let data = ''
    req.on('data', (c) => {
      data += c
    })
    req.on('end', () => {
      const body = data ? JSON.parse(data) : undefined
      seen.push({ path: req.url, body, contentType: req.headers['content-type'] })
      handler(req, body, res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, seen }
}

const json = (res: ServerResponse, status: number, body?: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(body === undefined ? '' : JSON.stringify(body))
}

const pair = {
  userId: 'u_alice0001',
  deviceId: 'phone',
  accessToken: 'a.b.c',
  accessExpiresAt: 1,
  refreshToken: 'r1',
  refreshExpiresAt: 2,
}

t.test(
  'register, login, refresh and logout post JSON to their endpoints and decode the answers',
  async (t) => {
    const { base, seen } = await serve(t, (req, _body, res) => {
      switch (req.url) {
        case '/v1/auth/register':
          return json(res, 201, { userId: 'u_alice0001', username: 'alice', displayName: 'Alice' })
        case '/v1/auth/login':
        case '/v1/auth/refresh':
          return json(res, 200, pair)
        default:
          res.writeHead(204)
          res.end()
      }
    })
    const api = new AuthApi(base)
    t.same(await api.register({ username: 'alice', password: 'long enough pw', displayName: 'Alice' }), {
      userId: 'u_alice0001',
      username: 'alice',
      displayName: 'Alice',
    })
    t.same(await api.login({ username: 'alice', password: 'long enough pw', deviceId: 'phone' }), pair)
    t.same(await api.refresh('r0'), pair)
    t.equal(await api.logout('r1', true), undefined)
    await api.logout('r2')
    t.same(
      seen.map((s) => s.path),
      ['/v1/auth/register', '/v1/auth/login', '/v1/auth/refresh', '/v1/auth/logout', '/v1/auth/logout'],
    )
    t.same(seen[2]?.body, { refreshToken: 'r0' })
    t.same(seen[3]?.body, { refreshToken: 'r1', allDevices: true })
    t.same(seen[4]?.body, { refreshToken: 'r2' })
    t.equal(seen[0]?.contentType, 'application/json')
  },
)

t.test('an error body becomes a ChatClientError with the server code', async (t) => {
  const { base } = await serve(t, (_req, _body, res) =>
    json(res, 401, { error: errorBody('INVALID_CREDENTIALS') }),
  )
  await t.rejects(new AuthApi(base).login({ username: 'alice', password: 'wrong' }), {
    name: 'ChatClientError',
    code: 'INVALID_CREDENTIALS',
    retryable: false,
  })
})

t.test('a response that is not ours is classified by status; a bad success body is INTERNAL', async (t) => {
  let mode = 0
  const { base } = await serve(t, (_req, _body, res) => {
    mode += 1
    if (mode === 1) {
      res.writeHead(502)
      res.end('<html>bad gateway</html>')
    } else if (mode === 2) json(res, 400, { message: 'nope' })
    else json(res, 200, { userId: 'not-an-id' })
  })
  const api = new AuthApi(base)
  await t.rejects(api.refresh('r'), { code: 'UNAVAILABLE', message: /HTTP 502/ })
  await t.rejects(api.refresh('r'), { code: 'INTERNAL', message: /HTTP 400/ })
  await t.rejects(api.refresh('r'), { code: 'INTERNAL', message: /unexpected response/ })
})

t.test('an unreachable server is UNAVAILABLE', async (t) => {
  const { base } = await serve(t, (_req, _body, res) => json(res, 200, pair))
  const failing: typeof fetch = async () => {
    throw new TypeError('fetch failed')
  }
  await t.rejects(new AuthApi(base, { fetch: failing }).refresh('r'), {
    code: 'UNAVAILABLE',
    retryable: true,
  })
})

t.test('a server that does not answer in time is UNAVAILABLE', async (t) => {
  const { base } = await serve(t, () => {
    // never answers
  })
  await t.rejects(new AuthApi(base, { timeoutMs: 50 }).refresh('r'), { code: 'UNAVAILABLE' })
})

t.test('looks a user up by username with the access token as a bearer', async (t) => {
  const seenAuth: Array<string | undefined> = []
  const { base, seen } = await serve(t, (req, _body, res) => {
    seenAuth.push(req.headers.authorization)
    if (req.method !== 'GET') return json(res, 405, { error: errorBody('METHOD_NOT_ALLOWED') })
    if (req.url === '/v1/users/by-username/bob') {
      return json(res, 200, { userId: 'u_bobby0001', username: 'bob', displayName: 'Bob' })
    }
    json(res, 404, { error: errorBody('USER_NOT_FOUND') })
  })
  const api = new AuthApi(base)
  t.same(await api.userByUsername('a.b.c', 'bob'), {
    userId: 'u_bobby0001',
    username: 'bob',
    displayName: 'Bob',
  })
  await t.rejects(api.userByUsername('a.b.c', 'no/body'), { code: 'USER_NOT_FOUND' })
  t.same(seenAuth, ['Bearer a.b.c', 'Bearer a.b.c'])
  t.equal(seen[1]?.path, '/v1/users/by-username/no%2Fbody')
  t.equal(seen[0]?.contentType, undefined, 'no body, no content type')
})
