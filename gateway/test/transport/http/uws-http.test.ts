import uWS from 'uWebSockets.js'
import { createHash, randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { connect } from 'node:net'
import { Readable } from 'node:stream'
import { ChatError } from '@chatapp/contracts'
import { createLogger } from '@chatapp/kit'
import { Type } from '@sinclair/typebox'
import { Registry } from 'prom-client'
import t from 'tap'
import WebSocket from 'ws'
import { createTokenService, generatePrivateKeyPem } from '../../../src/accounts/token-service.js'
import { defineRoute, reply } from '../../../src/transport/http/route.js'
import { mountHttp, startHttpServer } from '../../../src/transport/http/uws-http.js'
import { RawConnection, rawHead } from '../../support/raw-http.js'

const serverPem = generatePrivateKeyPem()
const tokens = await createTokenService({ privateKeyPem: serverPem, ttlS: 60 })
const registry = new Registry()
const uploads: string[] = []

const routes = [
  defineRoute({
    method: 'GET',
    path: '/t/public',
    auth: false,
    body: 'none',
    handle: async () => reply.json({ ok: true }),
  }),
  defineRoute({
    method: 'POST',
    path: '/t/echo',
    auth: false,
    body: 'json',
    schema: Type.Object({ name: Type.String({ maxLength: 10 }) }, { additionalProperties: false }),
    maxBodyBytes: 1024,
    handle: async (ctx) => reply.json({ hello: ctx.body.name }, 201),
  }),
  defineRoute({
    method: 'GET',
    path: '/t/me',
    auth: true,
    body: 'none',
    handle: async (ctx) => reply.json({ userId: ctx.principal.userId, deviceId: ctx.principal.deviceId }),
  }),
  defineRoute({
    method: 'GET',
    path: '/t/items/:id',
    auth: false,
    body: 'none',
    query: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })) }),
    handle: async (ctx) => reply.json({ id: ctx.params.id, limit: ctx.query.limit ?? null, ip: ctx.ip }),
  }),
  defineRoute({
    method: 'POST',
    path: '/t/upload',
    auth: true,
    body: 'stream',
    maxBodyBytes: 8 * 1024 * 1024,
    handle: async (ctx) => {
      const hash = createHash('sha256')
      let size = 0
      try {
        for await (const chunk of ctx.stream) {
          hash.update(chunk as Buffer)
          size += (chunk as Buffer).length
          // A slow consumer, so the socket has to be paused while it catches up.
          if (size % (1024 * 1024) < 65536) await new Promise((r) => setImmediate(r))
        }
      } catch (e) {
        uploads.push(e instanceof ChatError ? e.code : 'other')
        throw e
      }
      uploads.push('complete')
      return reply.json({ size, sha256: hash.digest('hex') })
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/t/download/:mode',
    auth: false,
    body: 'none',
    handle: async (ctx) => {
      const data = Buffer.alloc(5 * 1024 * 1024, 7)
      if (ctx.params.mode === 'sized')
        return reply.stream(Readable.from(chunks(data)), {
          status: 206,
          length: data.length,
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `bytes 0-${data.length - 1}/*`,
          },
        })
      if (ctx.params.mode === 'chunked') return reply.stream(Readable.from(chunks(data)))
      if (ctx.params.mode === 'empty') return reply.stream(Readable.from([]), { length: 0 })
      return reply.stream(
        new Readable({
          read() {
            this.destroy(new ChatError('MEDIA_NOT_FOUND'))
          },
        }),
      )
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/t/overlong',
    auth: false,
    body: 'none',
    // A source that yields more than the length it was announced with (as a store ignoring a
    // Range header does): the client must get exactly the announced bytes.
    handle: async () =>
      reply.stream(Readable.from([Buffer.from('ab'), Buffer.from('cdef'), Buffer.from('ghij')]), {
        status: 206,
        length: 3,
      }),
  }),
  defineRoute({
    method: 'POST',
    path: '/t/per-user',
    auth: true,
    body: 'none',
    rateLimit: 'tight',
    rateLimitBy: 'user',
    handle: async () => reply.empty(),
  }),
  defineRoute({
    method: 'GET',
    path: '/t/endless',
    auth: false,
    body: 'none',
    handle: async () => {
      // Produces on demand only: how much it produced shows whether the transport waited.
      endless.produced = 0
      endless.destroyed = false
      const chunk = Buffer.alloc(64 * 1024, 1)
      const source = new Readable({
        read() {
          endless.produced += chunk.length
          this.push(chunk)
        },
        destroy(err, cb) {
          endless.destroyed = true
          cb(err)
        },
      })
      return reply.stream(source, { length: 1024 * 1024 * 1024 })
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/t/thing',
    auth: false,
    body: 'none',
    handle: async () => reply.empty(204, { 'x-done': 'yes' }),
  }),
  defineRoute({
    method: 'GET',
    path: '/t/range',
    auth: false,
    body: 'none',
    handle: async () => reply.error('RANGE_NOT_SATISFIABLE', { headers: { 'content-range': 'bytes */10' } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/t/boom',
    auth: false,
    body: 'none',
    handle: async () => {
      throw new Error('database exploded')
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/t/refused',
    auth: false,
    body: 'none',
    handle: async () => {
      throw new ChatError('NOT_A_MEMBER')
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/t/limited',
    auth: false,
    body: 'none',
    rateLimit: 'tight',
    handle: async () => reply.empty(),
  }),
]

const endless = { produced: 0, destroyed: false }

function* chunks(data: Buffer): Generator<Buffer> {
  for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024)
}

const server = await startHttpServer({
  routes,
  deps: {
    tokens,
    log: createLogger('test', 'silent'),
    registry,
    rateLimits: { tight: { perSecond: 0.01, burst: 2 } },
  },
})
t.teardown(() => server.close())
const base = `http://127.0.0.1:${server.port}`
const bearer = async () => ({
  authorization: `Bearer ${(await tokens.issue('u_tester01', 'dev1', 's_session1')).accessToken}`,
})
const errorOf = async (r: Response) =>
  ((await r.json()) as { error: { code: string; details?: string[] } }).error

t.test('answers JSON with security headers', async (t) => {
  const r = await fetch(`${base}/t/public`)
  t.equal(r.status, 200)
  t.same(await r.json(), { ok: true })
  t.equal(r.headers.get('x-content-type-options'), 'nosniff')
  t.equal(r.headers.get('cache-control'), 'no-store')
  t.equal(r.headers.get('content-type'), 'application/json')
})

t.test('decodes a JSON body against its schema', async (t) => {
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/t/echo`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    })
  const ok = await post('{"name":"ann"}')
  t.equal(ok.status, 201)
  t.same(await ok.json(), { hello: 'ann' })
  const bad = await post('{"name":')
  t.equal(bad.status, 400)
  t.equal((await errorOf(bad)).code, 'BAD_JSON')
  const empty = await fetch(`${base}/t/echo`, { method: 'POST' })
  t.equal((await errorOf(empty)).code, 'BAD_JSON', 'no body is not JSON')
  const invalid = await post('{"name":"far too long a name","x":1}')
  t.equal(invalid.status, 400)
  const e = await errorOf(invalid)
  t.equal(e.code, 'INVALID_REQUEST')
  t.ok(e.details && e.details.length > 0, 'names the fields')
  const big = await post(JSON.stringify({ name: 'x'.repeat(2000) }))
  t.equal(big.status, 413)
  t.equal((await errorOf(big)).code, 'PAYLOAD_TOO_LARGE')
})

t.test('refuses a chunked JSON body past the limit while reading it', async (t) => {
  const { status, body } = await rawRequest('POST', '/t/echo', Buffer.alloc(4096, 32), { chunked: true })
  t.equal(status, 413)
  t.equal(JSON.parse(body).error.code, 'PAYLOAD_TOO_LARGE')
})

t.test('answers 404 for unknown paths and 405 with Allow for a wrong method', async (t) => {
  const nf = await fetch(`${base}/nope`)
  t.equal(nf.status, 404)
  t.equal((await errorOf(nf)).code, 'NOT_FOUND')
  const na = await fetch(`${base}/t/public`, { method: 'POST' })
  t.equal(na.status, 405)
  t.equal(na.headers.get('allow'), 'GET')
  t.equal((await errorOf(na)).code, 'METHOD_NOT_ALLOWED')
})

t.test('authenticates with a bearer token and refuses a missing, bad or expired one', async (t) => {
  const ok = await fetch(`${base}/t/me`, { headers: await bearer() })
  t.same(await ok.json(), { userId: 'u_tester01', deviceId: 'dev1' })
  for (const [name, headers] of [
    ['missing', {}],
    ['not bearer', { authorization: 'Basic abc' }],
    ['garbage', { authorization: 'Bearer abc.def.ghi' }],
  ] as const) {
    const r = await fetch(`${base}/t/me`, { headers })
    t.equal(r.status, 401, name)
    t.equal((await errorOf(r)).code, 'UNAUTHENTICATED', name)
  }
  // Signed with the server's key an hour ago: genuine, but expired.
  const expiredSvc = await createTokenService({
    privateKeyPem: serverPem,
    ttlS: 1,
    now: () => Date.now() - 3_600_000,
  })
  const expired = (await expiredSvc.issue('u_tester01', 'dev1', 's_1')).accessToken
  const r = await fetch(`${base}/t/me`, { headers: { authorization: `Bearer ${expired}` } })
  t.equal(r.status, 401)
  t.equal((await errorOf(r)).code, 'TOKEN_EXPIRED')
  t.match(r.headers.get('www-authenticate'), /invalid_token/)
})

t.test('converts and checks the query, and decodes path parameters', async (t) => {
  const r = await fetch(`${base}/t/items/a%2Fb?limit=7`)
  t.same(await r.json(), { id: 'a/b', limit: 7, ip: '127.0.0.1' })
  for (const q of ['limit=500', 'limit=many', 'limit=1.5', 'limit=1e1', 'limit=3&limit=4']) {
    const bad = await fetch(`${base}/t/items/x?${q}`)
    t.equal(bad.status, 400, q)
    t.equal((await errorOf(bad)).code, 'INVALID_REQUEST', q)
  }
  const proto = await fetch(`${base}/t/items/x?__proto__=1&constructor=2&limit=3`, {
    headers: { constructor: 'x' },
  })
  t.same(await proto.json(), { id: 'x', limit: 3, ip: '127.0.0.1' }, 'prototype-named keys are plain keys')
})

t.test('a route without a query schema takes no query parameters', async (t) => {
  t.equal((await fetch(`${base}/t/public?`)).status, 200, 'an empty query is no query')
  const r = await fetch(`${base}/t/public?debug=1`)
  t.equal(r.status, 400)
  const e = await errorOf(r)
  t.equal(e.code, 'INVALID_REQUEST')
})

t.test('refuses ambiguous body framing with 400 and closes the connection', async (t) => {
  // Bodies as long as uWS takes them to be (it reads the first Content-Length as a number): had
  // bytes remained, uWS would parse them as a next request, fail, and drop the connection before
  // the answer is flushed (the smuggling test below covers that case).
  const cases: [string, [string, string][], string][] = [
    [
      'two different Content-Lengths',
      [
        ['content-length', '5'],
        ['content-length', '7'],
      ],
      'hello',
    ],
    ['an unknown Transfer-Encoding', [['transfer-encoding', 'xchunked']], '5\r\nhello\r\n0\r\n\r\n'],
  ]
  for (const [label, headers, body] of cases) {
    const c = await RawConnection.open(server.port)
    t.teardown(() => c.destroy())
    c.write(`${rawHead('POST', '/t/echo', headers)}${body}`)
    const r = await c.next()
    t.equal(r?.status, 400, label)
    t.equal(r && JSON.parse(r.body.toString()).error.code, 'INVALID_REQUEST', label)
    t.equal(r?.headers.connection, 'close', label)
    t.ok(await c.closedByServer(), `${label}: connection closed`)
  }
  const same = await RawConnection.open(server.port)
  t.teardown(() => same.destroy())
  same.write(
    `${rawHead('POST', '/t/echo', [
      ['content-type', 'application/json'],
      ['content-length', '14'],
      ['content-length', '14'],
    ])}{"name":"ann"}`,
  )
  t.equal((await same.next())?.status, 201, 'identical repeated Content-Lengths are one length')
})

t.test('a request smuggled behind ambiguous framing is never served', async (t) => {
  // uWS itself drops a connection whose request has both Transfer-Encoding and Content-Length
  // before any handler runs, and one whose Content-Length is not a plain number right after the
  // handler: no 400 can be written then, the closed connection is the answer.
  const cases: [string, [string, string][], string][] = [
    [
      'two different Content-Lengths',
      [
        ['content-length', '5'],
        ['content-length', '7'],
      ],
      'helloXX',
    ],
    ['a Content-Length list', [['content-length', '5, 7']], 'helloXX'],
    ['a Content-Length that is no number', [['content-length', '+5']], 'hello'],
    [
      'Transfer-Encoding with Content-Length',
      [
        ['content-length', '5'],
        ['transfer-encoding', 'chunked'],
      ],
      '5\r\nhello\r\n0\r\n\r\n',
    ],
  ]
  for (const [label, headers, body] of cases) {
    const c = await RawConnection.open(server.port)
    t.teardown(() => c.destroy())
    c.write(`${rawHead('POST', '/t/echo', headers)}${body}${rawHead('GET', '/t/public', [])}`)
    const answers = []
    for (let r = await c.next(); r; r = await c.next()) answers.push(r.status)
    t.notOk(answers.includes(200), `${label}: the smuggled GET got no answer (${answers})`)
    t.ok(c.closed, `${label}: connection closed`)
  }
})

t.test(
  'never writes more than the announced length; the next response on the socket is intact',
  async (t) => {
    const c = await RawConnection.open(server.port)
    t.teardown(() => c.destroy())
    c.write(rawHead('GET', '/t/overlong', []))
    const first = await c.next()
    t.equal(first?.status, 206)
    t.equal(first?.body.toString(), 'abc')
    c.write(rawHead('GET', '/t/public', []))
    const second = await c.next()
    t.equal(second?.status, 200, 'the keep-alive connection is still in step')
    t.same(JSON.parse(second!.body.toString()), { ok: true })
  },
)

t.test('rate limits a route per user when it says so', async (t) => {
  const ann = { authorization: `Bearer ${(await tokens.issue('u_annrate01', 'dev1', 's_ann')).accessToken}` }
  const bob = { authorization: `Bearer ${(await tokens.issue('u_bobrate01', 'dev1', 's_bob')).accessToken}` }
  for (let i = 0; i < 2; i++)
    t.equal((await fetch(`${base}/t/per-user`, { method: 'POST', headers: ann })).status, 204)
  const limited = await fetch(`${base}/t/per-user`, { method: 'POST', headers: ann })
  t.equal(limited.status, 429)
  t.equal((await errorOf(limited)).code, 'RATE_LIMITED')
  t.equal(
    (await fetch(`${base}/t/per-user`, { method: 'POST', headers: bob })).status,
    204,
    'another user, same address',
  )
})

t.test('streams an upload through a slow consumer without losing a byte', async (t) => {
  const data = randomBytes(6 * 1024 * 1024)
  const r = await fetch(`${base}/t/upload`, { method: 'POST', body: data, headers: await bearer() })
  t.equal(r.status, 200)
  t.same(await r.json(), { size: data.length, sha256: createHash('sha256').update(data).digest('hex') })
  const chunked = await rawRequest('POST', '/t/upload', data.subarray(0, 3_000_000), {
    chunked: true,
    headers: await bearer(),
  })
  t.equal(JSON.parse(chunked.body).size, 3_000_000, 'chunked transfer encoding')
})

t.test('cuts an upload past its limit with 413, announced or not', async (t) => {
  const headers = await bearer()
  const announced = await rawRequest('POST', '/t/upload', Buffer.alloc(9 * 1024 * 1024), { headers })
  t.equal(announced.status, 413)
  t.equal(JSON.parse(announced.body).error.code, 'PAYLOAD_TOO_LARGE')
  uploads.length = 0
  const streamed = await rawRequest('POST', '/t/upload', Buffer.alloc(9 * 1024 * 1024), {
    headers,
    chunked: true,
  })
  t.equal(streamed.status, 413)
  t.equal(JSON.parse(streamed.body).error.code, 'PAYLOAD_TOO_LARGE')
  t.same(uploads, ['PAYLOAD_TOO_LARGE'], 'the handler saw the error on its stream')
})

t.test('tells the handler when the client aborts an upload, and goes on serving', async (t) => {
  uploads.length = 0
  const headers = await bearer()
  await new Promise<void>((resolve) => {
    const req = request(`${base}/t/upload`, {
      method: 'POST',
      headers: { ...headers, 'content-length': '1000000' },
    })
    req.on('error', () => resolve())
    req.write(Buffer.alloc(100_000), () => setImmediate(() => req.destroy()))
    req.on('close', () => resolve())
  })
  await waitFor(() => uploads.length > 0, 5000)
  t.same(uploads, ['UPLOAD_ABORTED'])
  t.equal((await fetch(`${base}/t/public`)).status, 200, 'the server goes on')
})

t.test('streams a download with a known length (206) and a chunked one', async (t) => {
  const sized = await fetch(`${base}/t/download/sized`)
  t.equal(sized.status, 206)
  t.equal(sized.headers.get('content-length'), String(5 * 1024 * 1024))
  t.match(sized.headers.get('content-range'), /^bytes 0-/)
  const a = Buffer.from(await sized.arrayBuffer())
  t.ok(a.length === 5 * 1024 * 1024 && a.every((b) => b === 7), 'every byte arrived')
  const chunked = await fetch(`${base}/t/download/chunked`)
  t.equal(chunked.status, 200)
  t.equal(chunked.headers.get('transfer-encoding'), 'chunked')
  t.equal((await chunked.arrayBuffer()).byteLength, 5 * 1024 * 1024)
  const empty = await fetch(`${base}/t/download/empty`)
  t.equal((await empty.arrayBuffer()).byteLength, 0)
  const failed = await fetch(`${base}/t/download/fail`)
  t.equal(failed.status, 404, 'a stream failing before its first byte answers with its error')
  t.equal((await errorOf(failed)).code, 'MEDIA_NOT_FOUND')
})

t.test('a download to a client that stops reading is paused, and dropped when it goes away', async (t) => {
  const socket = connect(server.port, '127.0.0.1')
  socket.on('error', () => {})
  socket.write('GET /t/endless HTTP/1.1\r\nhost: x\r\n\r\n')
  await waitFor(() => endless.produced > 0, 5000)
  socket.pause() // read nothing more
  // Let the socket buffers fill up; a transport ignoring backpressure would keep producing.
  let last = -1
  while (endless.produced !== last && endless.produced < 64 * 1024 * 1024) {
    last = endless.produced
    await new Promise((r) => setTimeout(r, 200))
  }
  t.ok(
    endless.produced < 64 * 1024 * 1024,
    `stopped after ${(endless.produced / 1048576).toFixed(1)} MiB of 1 GiB`,
  )
  socket.destroy()
  await waitFor(() => endless.destroyed, 5000)
  t.ok(endless.destroyed, 'the source is destroyed when the client goes away')
  t.equal((await fetch(`${base}/t/public`)).status, 200, 'the server goes on')
})

t.test(
  'answers 204 with the route headers, ChatErrors with their status, and 500 for the rest',
  async (t) => {
    const del = await fetch(`${base}/t/thing`, { method: 'DELETE' })
    t.equal(del.status, 204)
    t.equal(del.headers.get('x-done'), 'yes')
    const refused = await fetch(`${base}/t/refused`)
    t.equal(refused.status, 404)
    t.equal((await errorOf(refused)).code, 'NOT_A_MEMBER')
    const range = await fetch(`${base}/t/range`)
    t.equal(range.status, 416)
    t.equal(range.headers.get('content-range'), 'bytes */10', 'an error reply may carry headers')
    t.equal((await errorOf(range)).code, 'RANGE_NOT_SATISFIABLE')
    const boom = await fetch(`${base}/t/boom`)
    t.equal(boom.status, 500)
    const e = await errorOf(boom)
    t.equal(e.code, 'INTERNAL')
    t.notMatch(JSON.stringify(e), /exploded/, 'the cause stays in the log')
  },
)

t.test('rate limits per client address with Retry-After', async (t) => {
  t.equal((await fetch(`${base}/t/limited`, { method: 'POST' })).status, 204)
  t.equal((await fetch(`${base}/t/limited`, { method: 'POST' })).status, 204)
  const r = await fetch(`${base}/t/limited`, { method: 'POST' })
  t.equal(r.status, 429)
  const e = (await r.json()) as { error: { code: string; retryAfterMs: number } }
  t.equal(e.error.code, 'RATE_LIMITED')
  t.ok(e.error.retryAfterMs > 0)
  t.equal(r.headers.get('retry-after'), String(Math.ceil(e.error.retryAfterMs / 1000)))
})

t.test('counts requests by route pattern and status', async (t) => {
  const text = await registry.metrics()
  t.match(text, /http_requests_total\{route="\/t\/items\/:id",method="GET",status="200"\} 2/)
  t.match(text, /http_requests_total\{route="unmatched",method="GET",status="404"\} 1/)
  t.match(text, /http_request_duration_seconds_bucket\{le="0.1",route="\/t\/public",method="GET"\}/)
})

const waitFor = async (predicate: () => boolean, timeoutMs: number): Promise<void> => {
  const until = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > until) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * A raw socket, to control chunked encoding and to read an answer the server sends (and then
 * closes the connection) before the whole body went out: write errors are expected then.
 */
function rawRequest(
  method: string,
  path: string,
  body: Buffer,
  o: { chunked?: boolean; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1')
    const headers = {
      host: '127.0.0.1',
      ...o.headers,
      ...(o.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(body.length) }),
    }
    const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`
    let received = Buffer.alloc(0)
    let done = false
    const tryParse = (final: boolean) => {
      const end = received.indexOf('\r\n\r\n')
      if (end < 0) return final ? reject(new Error('no response')) : undefined
      const lines = received.subarray(0, end).toString().split('\r\n')
      const status = Number(lines[0]!.split(' ')[1])
      const length = Number(lines.find((l) => /^content-length:/i.test(l))?.split(':')[1] ?? 'NaN')
      const content = received.subarray(end + 4)
      if (Number.isInteger(length) ? content.length >= length : final) {
        done = true
        socket.destroy()
        resolve({
          status,
          body: content.subarray(0, Number.isInteger(length) ? length : undefined).toString(),
        })
      }
    }
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d])
      tryParse(false)
    })
    socket.on('error', () => {}) // EPIPE / ECONNRESET once the server has answered and closed
    socket.on('close', () => {
      if (!done) tryParse(true)
    })
    socket.write(head)
    let i = 0
    const step = 256 * 1024
    const next = (): void => {
      if (socket.destroyed || done) return
      if (i >= body.length) {
        if (o.chunked) socket.write('0\r\n\r\n')
        return
      }
      const piece = body.subarray(i, i + step)
      i += step
      const framed = o.chunked
        ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])
        : piece
      if (socket.write(framed)) setImmediate(next)
      else socket.once('drain', next)
    }
    next()
  })
}

t.test('leaves a WebSocket endpoint on the same app to uWS, and answers plain HTTP around it', async (t) => {
  const app = uWS.App()
  app.ws('/v1/ws', {
    open: (ws) => {
      ws.send('welcome')
    },
  })
  mountHttp(app, routes, {
    tokens,
    log: createLogger('test', 'silent'),
    rateLimits: { tight: { perSecond: 1, burst: 1 } },
  })
  const token = await new Promise<uWS.us_listen_socket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (tok) => (tok ? resolve(tok) : reject(new Error('listen failed')))),
  )
  t.teardown(() => uWS.us_listen_socket_close(token))
  const port = uWS.us_socket_local_port(token)
  const first = await new Promise<string>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`)
    ws.once('message', (m) => {
      resolve(m.toString())
      ws.close()
    })
    ws.once('error', reject)
  })
  t.equal(first, 'welcome')
  t.equal((await fetch(`http://127.0.0.1:${port}/t/public`)).status, 200)
  t.equal((await fetch(`http://127.0.0.1:${port}/v1/nope`)).status, 404)
})
