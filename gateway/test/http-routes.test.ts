import { HTTP_ENDPOINTS } from '@chatapp/contracts'
import { createLogger } from '@chatapp/kit'
import t from 'tap'
import { createTokenService, generatePrivateKeyPem } from '../src/accounts/token-service.js'
import { gatewayRoutes } from '../src/http-routes.js'
import { startHttpServer } from '../src/transport/http/uws-http.js'

t.test('serves exactly the endpoints the contracts list, with the same authentication', async (t) => {
  // Route factories only capture their dependencies; nothing is called while listing routes.
  const routes = gatewayRoutes({
    accounts: {} as never,
    views: {} as never,
    invitations: {} as never,
    members: {} as never,
    media: { media: {} as never, maxUploadBytes: 1024 },
  })
  const served = routes.map((r) => `${r.method} ${r.path} auth=${r.auth}`).sort()
  const contracted = HTTP_ENDPOINTS.map((e) => `${e.method} ${e.path} auth=${e.auth}`).sort()
  t.same(served, contracted)
})

t.test('every route decodes its query and body with the contracts’ schemas', async (t) => {
  const routes = gatewayRoutes({
    accounts: {} as never,
    views: {} as never,
    invitations: {} as never,
    members: {} as never,
    media: { media: {} as never, maxUploadBytes: 1024 },
  })
  for (const e of HTTP_ENDPOINTS) {
    const r = routes.find((x) => x.method === e.method && x.path === e.path)!
    t.equal(r.query, e.query, `${e.method} ${e.path}: query`)
    if (r.body === 'json') t.equal(r.schema, e.request, `${e.method} ${e.path}: body`)
  }
  const upload = routes.find((x) => x.method === 'POST' && x.path === '/v1/media')!
  t.match(upload, { rateLimit: 'upload', rateLimitBy: 'user' }, 'uploads are rate limited per user')
})

t.test('GET …/messages?limit=1.5 is refused before any view is read', async (t) => {
  const tokens = await createTokenService({ privateKeyPem: generatePrivateKeyPem(), ttlS: 60 })
  let reads = 0
  const views = {
    membership: { isMember: async () => true },
    reads: new Proxy(
      {},
      {
        get: () => async () => {
          reads++
        },
      },
    ),
  }
  const server = await startHttpServer({
    routes: gatewayRoutes({
      accounts: {} as never,
      views: views as never,
      invitations: {} as never,
      members: {} as never,
    }),
    deps: { tokens, log: createLogger('test', 'silent') },
  })
  t.teardown(() => server.close())
  const headers = { authorization: `Bearer ${(await tokens.issue('u_query0001', 'd', 's')).accessToken}` }
  for (const q of ['limit=1.5', 'limit=1e1', 'before=7&before=8', 'page=2']) {
    const r = await fetch(`http://127.0.0.1:${server.port}/v1/conversations/c_query00001/messages?${q}`, {
      headers,
    })
    t.equal(r.status, 400, q)
    t.equal(((await r.json()) as { error: { code: string } }).error.code, 'INVALID_REQUEST', q)
  }
  const status = await fetch(
    `http://127.0.0.1:${server.port}/v1/conversations/c_query00001/messages/3/status?x=1`,
    {
      headers,
    },
  )
  t.equal(status.status, 400, 'an endpoint without query parameters takes none')
  t.equal(reads, 0, 'no view was read')
})
