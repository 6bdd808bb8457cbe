import uWS from 'uWebSockets.js'
import type { Readable } from 'node:stream'
import { ChatError, decoder, isChatError, NoQuery } from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import { isTransient, RETRY_AFTER_MS } from '@chatapp/kit'
import type { Registry } from 'prom-client'
import type { TokenVerifier } from '../../ports.js'
import { DEFAULT_RATE_LIMITS } from './config.js'
import { readFraming } from './framing.js'
import { createHttpMetrics } from './http-metrics.js'
import { type BucketSpec, KeyedRateLimiter } from './rate-limiter.js'
import { DEFAULT_JSON_BODY_BYTES, type HttpReply, type HttpRoute, type RequestContext } from './route.js'
import { createRouter } from './router.js'
import { ErrorReply, Exchange, readBody, refuse, streamBody } from './uws-exchange.js'

/**
 * The HTTP API on uWebSockets.js. This file and `uws-exchange.ts` (the per-request half) are the
 * only HTTP files that import uWS. Its rules, all enforced here so route handlers never meet them
 * (STYLE.md):
 * - everything needed from `req` is copied before the first `await` (uWS frees it on return);
 * - `onAborted` is registered before the first `await`, and nothing touches `res` after it fired;
 * - every write made after an `await` (or from a stream event) is inside `res.cork`;
 * - a request whose body framing is ambiguous (two Content-Lengths, Transfer-Encoding with
 *   Content-Length) is refused and its connection closed before anything else (`framing.ts`);
 * - request bodies are read with backpressure (`pause`/`resume`) and cut at `maxBodyBytes`;
 *   streamed replies respect backpressure (`tryEnd`/`write` + `onWritable`) and never carry more
 *   bytes than they announced;
 * - every query is decoded with its route's schema (none: no parameters), as bodies are;
 * - an answer sent before the body was read leaves the connection open (no RST, see `Exchange.end`).
 */

export interface HttpDeps {
  tokens: TokenVerifier
  log: Logger
  /** Where http_requests_total and http_request_duration_seconds are registered. */
  registry?: Registry
  /** Token buckets by name (per IP, or per user); a route names one in `rateLimit`. Overrides the defaults. */
  rateLimits?: Record<string, BucketSpec>
  /**
   * Proxies in front of the gateway that append to X-Forwarded-For. 0 (default): the peer
   * address is the client. n: the n-th address from the right of X-Forwarded-For is.
   */
  trustedProxyHops?: number
  now?: () => number
}

const text = new TextDecoder()
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i

const clientIp = (peer: string, xff: string | undefined, hops: number): string => {
  if (hops <= 0 || !xff) return peer
  const chain = xff.split(',').map((s) => s.trim())
  return chain[chain.length - hops] || peer
}

const noQuery = decoder(NoQuery)

const compileRoutes = (routes: readonly HttpRoute[], limits: Record<string, BucketSpec>) => {
  const checks = new Map<
    HttpRoute,
    { body?: ReturnType<typeof decoder>; query: ReturnType<typeof decoder> }
  >()
  for (const r of routes) {
    if (r.body === 'json' && !r.schema) throw new Error(`${r.method} ${r.path}: a json route needs a schema`)
    if (r.body === 'stream' && !r.maxBodyBytes)
      throw new Error(`${r.method} ${r.path}: a stream route needs maxBodyBytes`)
    if (r.rateLimit && !limits[r.rateLimit])
      throw new Error(`${r.method} ${r.path}: no rate limit "${r.rateLimit}"`)
    if (r.rateLimitBy === 'user' && !r.auth)
      throw new Error(`${r.method} ${r.path}: a per-user rate limit needs auth`)
    checks.set(r, {
      ...(r.schema ? { body: decoder(r.schema) } : {}),
      query: r.query ? decoder(r.query) : noQuery,
    })
  }
  return checks
}

/**
 * Serves `routes` on `app` through one catch-all handler (`/*`), so unknown paths get 404 and
 * known paths with another method 405. Handlers registered on more specific patterns (the
 * WebSocket endpoint) take precedence in uWS's router.
 */
export const mountHttp = (app: uWS.TemplatedApp, routes: readonly HttpRoute[], deps: HttpDeps): void => {
  const log = deps.log
  const now = deps.now ?? Date.now
  const hops = deps.trustedProxyHops ?? 0
  const limitSpecs = { ...DEFAULT_RATE_LIMITS, ...deps.rateLimits }
  const limiters = new Map(Object.entries(limitSpecs).map(([k, spec]) => [k, new KeyedRateLimiter(spec)]))
  const checks = compileRoutes(routes, limitSpecs)
  const match = createRouter(routes)
  const metrics = createHttpMetrics(deps.registry)

  app.any('/*', (res, req) => {
    // Everything from `req` now: it is invalid after this function returns.
    const method = req.getCaseSensitiveMethod().toUpperCase()
    const url = req.getUrl()
    const rawQuery = req.getQuery() ?? ''
    // No prototype: a header or query key named `__proto__` or `constructor` is just a key.
    const headers: Record<string, string> = Object.create(null)
    req.forEach((k, v) => {
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`
    })
    const ex = new Exchange(res, method, metrics, log)
    res.onAborted(() => ex.abort())
    const ip = clientIp(text.decode(res.getRemoteAddressAsText()), headers['x-forwarded-for'], hops)

    // Before routing: where this request's body ends is unclear, so nothing after it on this
    // connection can be trusted either. Answered, and the connection closed.
    const framing = readFraming(headers)
    if (!framing.ok) {
      ex.bodyComplete = false
      return ex.error({ kind: 'error', code: 'INVALID_REQUEST', message: framing.problem }, undefined, true)
    }

    const m = match(method, url)
    if (m.kind === 'not-found') return ex.error({ kind: 'error', code: 'NOT_FOUND' })
    if (m.kind === 'method-not-allowed') {
      return ex.error({ kind: 'error', code: 'METHOD_NOT_ALLOWED' }, { allow: m.allow.join(', ') })
    }
    const route = m.route
    ex.routeLabel = route.path
    const check = checks.get(route)!

    if (route.rateLimit && route.rateLimitBy !== 'user') {
      const r = limiters.get(route.rateLimit)!.take(ip, now())
      if (!r.ok) return ex.error({ kind: 'error', code: 'RATE_LIMITED', retryAfterMs: r.retryAfterMs })
    }

    // Start reading the body now (uWS requires onData before any await); it is used after auth.
    const declared = framing.length
    const hasBody = (declared !== undefined && declared > 0) || framing.chunked
    const max = route.maxBodyBytes ?? DEFAULT_JSON_BODY_BYTES
    if (route.body !== 'none' && declared !== undefined && declared > max) {
      ex.bodyComplete = false
      return ex.error({ kind: 'error', code: 'PAYLOAD_TOO_LARGE', message: `the body exceeds ${max} bytes` })
    }
    let jsonBody: Promise<Buffer> | undefined
    let stream: Readable | undefined
    if (route.body === 'json') {
      jsonBody = hasBody ? readBody(ex, max) : Promise.resolve(Buffer.alloc(0))
      jsonBody.catch(() => {}) // observed below; an auth failure may come first
    } else if (route.body === 'stream') {
      stream = streamBody(ex, max, hasBody)
      stream.on('error', () => {}) // the handler sees the error through its own reads
      ex.onAbort.push(() => {
        if (!stream!.readableEnded) stream!.destroy(new ChatError('UPLOAD_ABORTED'))
      })
    }

    void (async () => {
      let principal: RequestContext['principal']
      if (route.auth) {
        const bearer = BEARER.exec(headers.authorization ?? '')?.[1]
        if (!bearer) throw refuse('UNAUTHENTICATED', { message: 'missing Authorization: Bearer <token>' })
        const verified = await deps.tokens.verifyAccessToken(bearer)
        principal = verified as never
        if (route.rateLimit && route.rateLimitBy === 'user') {
          const r = limiters.get(route.rateLimit)!.take(verified.userId, now())
          if (!r.ok) throw refuse('RATE_LIMITED', { retryAfterMs: r.retryAfterMs })
        }
      }
      let body: unknown
      if (jsonBody) {
        const decoded = check.body!.decode(await jsonBody)
        if (!decoded.ok) throw new ErrorReply({ kind: 'error', ...decoded.error })
        body = decoded.value
      }
      const query = check.query.fromQuery(rawQuery)
      if (!query.ok) throw new ErrorReply({ kind: 'error', ...query.error })
      const ctx = {
        method: route.method,
        url,
        params: m.params,
        query: query.value,
        headers,
        contentLength: declared,
        ip,
        signal: ex.controller.signal,
        principal,
        body,
        stream,
        log,
      } as RequestContext
      return route.handle(ctx)
    })().then(
      (r) => send(ex, r),
      (e: unknown) => {
        if (e instanceof ErrorReply) return send(ex, e.reply)
        if (isChatError(e)) {
          const authHeader =
            e.code === 'UNAUTHENTICATED' || e.code === 'TOKEN_EXPIRED'
              ? { 'www-authenticate': 'Bearer error="invalid_token"' }
              : undefined
          return ex.error(
            {
              kind: 'error',
              code: e.code,
              message: e.message,
              ...(e.details ? { details: e.details } : {}),
              ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}),
            },
            authHeader,
          )
        }
        if (isTransient(e)) {
          // NATS unreachable or electing a leader: a pause, answered as one (never a 500).
          log.warn({ err: e, route: route.path, method }, 'HTTP handler: a dependency is unavailable')
          return ex.error({ kind: 'error', code: 'UNAVAILABLE', retryAfterMs: RETRY_AFTER_MS })
        }
        log.error({ err: e, route: route.path, method }, 'HTTP handler failed')
        ex.error({ kind: 'error', code: 'INTERNAL' })
      },
    )
  })
}

const send = (ex: Exchange, r: HttpReply): void => {
  switch (r.kind) {
    case 'json':
      ex.json(r.status, r.body, r.headers)
      return
    case 'empty':
      ex.end(r.status, r.headers)
      return
    case 'stream':
      ex.stream(r.status, r.body, r.length, r.headers)
      return
    case 'error':
      ex.error(r)
      return
    default: {
      const never: never = r
      throw new Error(`unknown reply ${JSON.stringify(never)}`)
    }
  }
}

export interface HttpServer {
  readonly port: number
  close(): void
}

/** A uWS app serving only the HTTP API: for tests and tools (the gateway mounts on its own app). */
export const startHttpServer = (o: {
  host?: string
  port?: number
  routes: readonly HttpRoute[]
  deps: HttpDeps
}): Promise<HttpServer> =>
  new Promise((resolve, reject) => {
    const app = uWS.App()
    mountHttp(app, o.routes, o.deps)
    app.listen(o.host ?? '127.0.0.1', o.port ?? 0, (token) => {
      if (!token) return reject(new Error(`cannot listen on ${o.host ?? '127.0.0.1'}:${o.port ?? 0}`))
      resolve({
        port: uWS.us_socket_local_port(token),
        close: () => {
          uWS.us_listen_socket_close(token)
        },
      })
    })
  })
