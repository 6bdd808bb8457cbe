import { HTTP_ENDPOINTS } from '@chatapp/contracts'
import t from 'tap'
import { gatewayRoutes } from '../src/http-routes.js'

t.test('serves exactly the endpoints the contracts list, with the same authentication', async (t) => {
  // Route factories only capture their dependencies; nothing is called while listing routes.
  const routes = gatewayRoutes({
    accounts: {} as never,
    views: {} as never,
    invitations: {} as never,
    media: { media: {} as never, maxUploadBytes: 1024 },
  })
  const served = routes.map((r) => `${r.method} ${r.path} auth=${r.auth}`).sort()
  const contracted = HTTP_ENDPOINTS.map((e) => `${e.method} ${e.path} auth=${e.auth}`).sort()
  t.same(served, contracted)
})
