import t from 'tap'
import { createRouter } from '../../../src/transport/http/router.js'

const routes = [
  { method: 'GET', path: '/v1/users/:id' },
  { method: 'GET', path: '/v1/users/me' },
  { method: 'POST', path: '/v1/users/:id' },
  { method: 'GET', path: '/v1/media/:mediaId/:variant' },
  { method: 'POST', path: '/v1/auth/login' },
] as const

t.test('finds a route and decodes its parameters', async (t) => {
  const match = createRouter(routes)
  t.match(match('GET', '/v1/users/u_abc%20d'), { kind: 'found', route: routes[0], params: { id: 'u_abc d' } })
  t.match(match('GET', '/v1/media/m_1/thumb'), {
    kind: 'found',
    params: { mediaId: 'm_1', variant: 'thumb' },
  })
  t.match(match('POST', '/v1/auth/login'), { kind: 'found', params: {} })
})

t.test('prefers literal segments over parameters whatever the order', async (t) => {
  t.match(createRouter(routes)('GET', '/v1/users/me'), { kind: 'found', route: routes[1] })
})

t.test('answers method-not-allowed with the allowed methods when only the method differs', async (t) => {
  t.same(createRouter(routes)('DELETE', '/v1/users/x'), {
    kind: 'method-not-allowed',
    allow: ['GET', 'POST'],
  })
  t.same(createRouter(routes)('GET', '/v1/auth/login'), { kind: 'method-not-allowed', allow: ['POST'] })
})

t.test(
  'answers not-found for unknown paths, extra segments, empty parameters and bad encoding',
  async (t) => {
    const match = createRouter(routes)
    for (const p of [
      '/',
      '/v1',
      '/v1/users',
      '/v1/users/',
      '/v1/users/a/b',
      '/v1/auth/login/',
      '/v1/users/%E0%A4%A',
    ]) {
      t.same(match('GET', p), { kind: 'not-found' }, p)
    }
  },
)

t.test('refuses duplicate routes and malformed patterns at start-up', async (t) => {
  t.throws(() => createRouter([...routes, { method: 'GET', path: '/v1/users/:other' }]), /two routes/)
  t.throws(() => createRouter([{ method: 'GET', path: 'v1/x' }]), /must start with/)
  t.throws(() => createRouter([{ method: 'GET', path: '/v1/*' }]), /bad segment/)
})

t.test('matches the root path only when a route for / exists', async (t) => {
  const match = createRouter([...routes, { method: 'GET', path: '/' }])
  t.match(match('GET', '/'), { kind: 'found', params: {} })
  t.same(match('POST', '/'), { kind: 'method-not-allowed', allow: ['GET'] })
  t.same(match('GET', '//'), { kind: 'not-found' })
})
