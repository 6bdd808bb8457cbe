import type { TokenPair } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import WebSocket from 'ws'
import { startGatewayProcess } from './support/gateway-process.js'

/**
 * The gateway as it is deployed (`dist/main.js`, configured by the environment only): accounts,
 * the HTTP plumbing and the WebSocket upgrade work together on one port.
 */
const tn = await createTestNamespace({ shards: 1 })
t.teardown(tn.cleanup)
const gw = await startGatewayProcess(tn)
t.teardown(() => gw.stop())
const { port } = gw
const base = `http://127.0.0.1:${port}`
const post = async (path: string, body: unknown) => {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: r.status, body: (await r.json()) as Record<string, unknown> }
}

t.test('registers, logs in, refreshes and opens an authenticated WebSocket', async (t) => {
  const reg = await post('/v1/auth/register', {
    username: 'olga',
    password: 'amber lantern quietly',
    displayName: 'Olga',
  })
  t.equal(reg.status, 201)
  const login = await post('/v1/auth/login', {
    username: 'olga',
    password: 'amber lantern quietly',
    deviceId: 'cli',
  })
  t.equal(login.status, 200)
  const pair = login.body as unknown as TokenPair
  const refreshed = await post('/v1/auth/refresh', { refreshToken: pair.refreshToken })
  t.equal(refreshed.status, 200)
  const fresh = refreshed.body as unknown as TokenPair

  const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, ['chatapp.v1', `bearer.${fresh.accessToken}`])
    const timer = setTimeout(() => reject(new Error('no hello in 10 s')), 10_000)
    ws.once('message', (m) => {
      clearTimeout(timer)
      resolve(JSON.parse(m.toString()))
      ws.close()
    })
    ws.once('error', reject)
  })
  t.match(hello, { type: 'hello', userId: pair.userId, deviceId: 'cli' })

  const wrong = await post('/v1/auth/login', {
    username: 'olga',
    password: 'not her password',
    deviceId: 'cli',
  })
  t.equal((wrong.body.error as { code: string }).code, 'INVALID_CREDENTIALS')
  const missing = await fetch(`${base}/v1/nothing-here`)
  t.equal(missing.status, 404)
})

t.test('serves every endpoint of the HTTP API, media upload and download included', async (t) => {
  await post('/v1/auth/register', { username: 'pia', password: 'lantern-orchard-93', displayName: 'Pia' })
  const login = await post('/v1/auth/login', {
    username: 'pia',
    password: 'lantern-orchard-93',
    deviceId: 'cli',
  })
  const auth = { authorization: `Bearer ${login.body.accessToken as string}` }
  // A 1×1 PNG: the gateway judges the type by these bytes.
  const png = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
    'base64',
  )
  const up = await fetch(`${base}/v1/media`, { method: 'POST', headers: auth, body: png })
  t.equal(up.status, 201, 'POST /v1/media is mounted')
  const media = (await up.json()) as { mediaId: string; kind: string; mime: string }
  t.match(media, { kind: 'image', mime: 'image/png' })
  const down = await fetch(`${base}/v1/media/${media.mediaId}/original`, { headers: auth })
  t.equal(down.status, 200, 'the uploader downloads the original')
  t.same(Buffer.from(await down.arrayBuffer()), png)
  // No projector has run in this namespace, so its views do not exist yet: the inbox route is
  // there and says so with a retryable error instead of failing.
  const inbox = await fetch(`${base}/v1/conversations`, { headers: auth })
  t.equal(inbox.status, 503, 'GET /v1/conversations is mounted')
  t.match(await inbox.json(), { error: { code: 'UNAVAILABLE', retryable: true } })
})
