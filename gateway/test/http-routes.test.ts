import { HTTP_ENDPOINTS } from '@chatapp/contracts'
import t from 'tap'
import { gatewayRoutes } from '../src/http-routes.js'

t.test('serves exactly the endpoints the contracts list, with the same authentication', async (t) => {
  // Route factories only capture their dependencies; nothing is called while listing routes.
  const routes = gatewayRoutes({
    accounts: {} as never,
    views: {} as never,
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
