import uWS from 'uWebSockets.js'
import { STATUS_CODES } from 'node:http'
import { Readable } from 'node:stream'
import { ChatError, decoder, ERRORS, type ErrorCode, errorBody, isChatError } from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import { Value } from '@sinclair/typebox/value'
import type { Registry } from 'prom-client'
import type { TokenVerifier } from '../ports.js'
import { DEFAULT_RATE_LIMITS } from './config.js'
import { createHttpMetrics, type HttpMetrics } from './http-metrics.js'
import { type BucketSpec, KeyedRateLimiter } from './rate-limiter.js'
import {
  DEFAULT_JSON_BODY_BYTES,
  type Headers,
  type HttpReply,
  type HttpRoute,
  type RequestContext,
} from './route.js'
import { createRouter } from './router.js'

/**
 * The HTTP API on uWebSockets.js: the only HTTP file that imports uWS. Its rules, all enforced
 * here so route handlers never meet them (STYLE.md):
 * - everything needed from `req` is copied before the first `await` (uWS frees it on return);
 * - `onAborted` is registered before the first `await`, and nothing touches `res` after it fired;
 * - every write made after an `await` (or from a stream event) is inside `res.cork`;
 * - request bodies are read with backpressure (`pause`/`resume`) and cut at `maxBodyBytes`;
 *   streamed replies respect backpressure (`tryEnd`/`write` + `onWritable`);
 * - an answer sent before the body was read leaves the connection open (no RST, see `end`).
 */

export interface HttpDeps {
  tokens: TokenVerifier
  log: Logger
  /** Where http_requests_total and http_request_duration_seconds are registered. */
  registry?: Registry
  /** Per-IP token buckets by name; a route names one in `rateLimit`. Overrides the defaults. */
  rateLimits?: Record<string, BucketSpec>
  /**
   * Proxies in front of the gateway that append to X-Forwarded-For. 0 (default): the peer
   * address is the client. n: the n-th address from the right of X-Forwarded-For is.
   */
  trustedProxyHops?: number
  now?: () => number
}

const text = new TextDecoder()
const statusLine = (status: number) => `${status} ${STATUS_CODES[status] ?? 'Status'}`
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i

const clientIp = (peer: string, xff: string | undefined, hops: number): string => {
  if (hops <= 0 || !xff) return peer
  const chain = xff.split(',').map((s) => s.trim())
  return chain[chain.length - hops] || peer
}

const parseQuery = (raw: string): Record<string, string> => {
  const out: Record<string, string> = Object.create(null)
  for (const [k, v] of new URLSearchParams(raw)) out[k] = v
  return out
}

class ErrorReply extends Error {
  constructor(readonly reply: HttpReply & { kind: 'error' }) {
    super(reply.code)
  }
}
const refuse = (code: ErrorCode, extra: Omit<HttpReply & { kind: 'error' }, 'kind' | 'code'> = {}) =>
  new ErrorReply({ kind: 'error', code, ...extra })

/** One request/response pair: tracks abort and completion so nothing writes twice or too late. */
class Exchange {
  aborted = false
  finished = false
  /** The request body has been read to its end (or there was none). */
  bodyComplete = true
  /** Reading of the request body is paused (backpressure from a streamed body's consumer). */
  paused = false
  readonly controller = new AbortController()
  private readonly started = performance.now()
  routeLabel = 'unmatched'
  /** Called once when the client goes away before the reply is complete. */
  readonly onAbort: (() => void)[] = []

  constructor(
    readonly res: uWS.HttpResponse,
    readonly method: string,
    private readonly metrics: HttpMetrics,
    private readonly log: Logger,
  ) {}

  abort(): void {
    this.aborted = true
    this.controller.abort()
    for (const f of this.onAbort) f()
    if (!this.finished) this.done('aborted')
  }

  get open(): boolean {
    return !this.aborted && !this.finished
  }

  done(status: number | 'aborted'): void {
    this.finished = true
    this.metrics.observe(this.routeLabel, this.method, status, (performance.now() - this.started) / 1000)
  }

  private head(status: number, headers: Headers | undefined, noStore = true): void {
    const res = this.res
    res.writeStatus(statusLine(status))
    res.writeHeader('x-content-type-options', 'nosniff')
    let cache = false
    if (headers) {
      for (const [k, v] of Object.entries(headers)) {
        const name = k.toLowerCase()
        if (name === 'content-length' || name === 'transfer-encoding') continue // uWS frames the body
        if (name === 'cache-control') cache = true
        res.writeHeader(name, v)
      }
    }
    // API answers carry tokens and private data: never cached unless the route says otherwise.
    if (!cache && noStore) res.writeHeader('cache-control', 'no-store')
  }

  /**
   * Ends with a complete body. When the request body was not read to its end (413, 401, a handler
   * that answered early) the connection is NOT closed: closing a socket with unread input makes
   * the kernel send RST, which can destroy the answer before the client reads it. uWS discards the
   * rest of the body instead (a polite client stops sending when it sees the answer).
   */
  end(status: number, headers: Headers | undefined, body?: string): void {
    if (!this.open) return
    this.res.cork(() => {
      this.unpause()
      this.head(status, headers)
      if (body === undefined) this.res.endWithoutBody(0)
      else this.res.end(body)
    })
    this.done(status)
  }

  /** A paused socket would never drain the rest of the body after an early answer. */
  unpause(): void {
    if (this.paused && !this.bodyComplete) {
      this.paused = false
      this.res.resume()
    }
  }

  json(status: number, body: unknown, headers?: Headers): void {
    this.end(status, { 'content-type': 'application/json', ...headers }, JSON.stringify(body))
  }

  error(r: HttpReply & { kind: 'error' }, headers?: Headers): void {
    const extra: Record<string, string> = { ...r.headers, ...headers }
    if (r.retryAfterMs !== undefined)
      extra['retry-after'] = String(Math.max(1, Math.ceil(r.retryAfterMs / 1000)))
    this.json(ERRORS[r.code].status, { error: errorBody(r.code, r.message, r) }, extra)
  }

  /** Streams a Readable with backpressure; `length` known → Content-Length, else chunked. */
  stream(status: number, body: Readable, length: number | undefined, headers: Headers | undefined): void {
    if (!this.open) {
      body.destroy()
      return
    }
    const res = this.res
    let headWritten = false
    const writeHead = () => {
      if (!headWritten) {
        this.unpause()
        this.head(status, headers)
      }
      headWritten = true
    }
    this.onAbort.push(() => body.destroy())
    let sent = 0
    body.on('data', (chunk: Buffer) => {
      if (!this.open) return
      res.cork(() => {
        writeHead()
        if (length === undefined) {
          if (!res.write(chunk)) {
            body.pause()
            res.onWritable(() => {
              body.resume()
              return true
            })
          }
          return
        }
        const offset = res.getWriteOffset()
        const [ok, complete] = res.tryEnd(chunk, length)
        sent += chunk.length
        if (complete) {
          this.done(status)
          body.destroy()
        } else if (!ok) {
          body.pause()
          res.onWritable((at) => {
            const [ok2, complete2] = res.tryEnd(chunk.subarray(at - offset), length)
            if (complete2) {
              this.done(status)
              body.destroy()
            } else if (ok2) body.resume()
            return ok2
          })
        }
      })
    })
    body.on('end', () => {
      if (!this.open) return
      if (length === undefined || (length === 0 && sent === 0)) {
        res.cork(() => {
          writeHead()
          res.end()
        })
        this.done(status)
      } else {
        // Fewer bytes than announced: the client must not take a truncated body for a whole one.
        this.log.error({ route: this.routeLabel, length, sent }, 'streamed reply ended short')
        res.close()
        this.done(500)
      }
    })
    body.on('error', (err) => {
      if (!this.open) return
      if (!headWritten) {
        if (isChatError(err)) this.error({ kind: 'error', code: err.code, message: err.message })
        else {
          this.log.error({ err, route: this.routeLabel }, 'streamed reply failed before its first byte')
          this.error({ kind: 'error', code: 'INTERNAL' })
        }
        return
      }
      this.log.error({ err, route: this.routeLabel }, 'streamed reply failed midway; connection closed')
      res.close()
      this.done(500)
    })
  }
}

/** Reads a whole body into memory, at most `max` bytes. Must be called before the first await. */
const readBody = (ex: Exchange, max: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    ex.bodyComplete = false
    ex.res.onData((ab, last) => {
      if (!ex.open) return
      size += ab.byteLength
      if (size > max) {
        reject(refuse('PAYLOAD_TOO_LARGE', { message: `the body exceeds ${max} bytes` }))
        return
      }
      chunks.push(Buffer.from(ab.slice(0))) // copy: uWS reuses the chunk's memory after return
      if (last) {
        ex.bodyComplete = true
        resolve(Buffer.concat(chunks, size))
      }
    })
  })

/** Feeds the body into a Readable, pausing the socket while the consumer is behind. */
const streamBody = (ex: Exchange, max: number, hasBody: boolean): Readable => {
  const stream = new Readable({
    highWaterMark: 256 * 1024,
    read() {
      if (ex.paused && ex.open) {
        ex.paused = false
        ex.res.resume()
      }
    },
  })
  if (!hasBody) {
    stream.push(null)
    return stream
  }
  ex.bodyComplete = false
  let size = 0
  ex.res.onData((ab, last) => {
    if (stream.destroyed || !ex.open) return
    size += ab.byteLength
    if (size > max) {
      const message = `the body exceeds ${max} bytes`
      stream.destroy(new ChatError('PAYLOAD_TOO_LARGE', message))
      ex.error({ kind: 'error', code: 'PAYLOAD_TOO_LARGE', message })
      return
    }
    if (!stream.push(Buffer.from(ab.slice(0))) && !last) {
      ex.paused = true
      ex.res.pause()
    }
    if (last) {
      ex.bodyComplete = true
      stream.push(null)
    }
  })
  return stream
}

const compileRoutes = (routes: readonly HttpRoute[], limits: Record<string, BucketSpec>) => {
  const checks = new Map<
    HttpRoute,
    { body?: ReturnType<typeof decoder>; query?: ReturnType<typeof decoder> }
  >()
  for (const r of routes) {
    if (r.body === 'json' && !r.schema) throw new Error(`${r.method} ${r.path}: a json route needs a schema`)
    if (r.body === 'stream' && !r.maxBodyBytes)
      throw new Error(`${r.method} ${r.path}: a stream route needs maxBodyBytes`)
    if (r.rateLimit && !limits[r.rateLimit])
      throw new Error(`${r.method} ${r.path}: no rate limit "${r.rateLimit}"`)
    checks.set(r, {
      ...(r.schema ? { body: decoder(r.schema) } : {}),
      ...(r.query ? { query: decoder(r.query) } : {}),
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

    const m = match(method, url)
    if (m.kind === 'not-found') return ex.error({ kind: 'error', code: 'NOT_FOUND' })
    if (m.kind === 'method-not-allowed') {
      return ex.error({ kind: 'error', code: 'METHOD_NOT_ALLOWED' }, { allow: m.allow.join(', ') })
    }
    const route = m.route
    ex.routeLabel = route.path
    const check = checks.get(route)!

    if (route.rateLimit) {
      const r = limiters.get(route.rateLimit)!.take(ip, now())
      if (!r.ok) return ex.error({ kind: 'error', code: 'RATE_LIMITED', retryAfterMs: r.retryAfterMs })
    }

    // Start reading the body now (uWS requires onData before any await); it is used after auth.
    const declared = headers['content-length']
    const hasBody = (declared !== undefined && declared !== '0') || headers['transfer-encoding'] !== undefined
    const max = route.maxBodyBytes ?? DEFAULT_JSON_BODY_BYTES
    if (route.body !== 'none' && declared !== undefined && Number(declared) > max) {
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
        principal = (await deps.tokens.verifyAccessToken(bearer)) as never
      }
      let body: unknown
      if (jsonBody) {
        const decoded = check.body!.decode(await jsonBody)
        if (!decoded.ok) throw new ErrorReply({ kind: 'error', ...decoded.error })
        body = decoded.value
      }
      let query: unknown = parseQuery(rawQuery)
      if (check.query) {
        const decoded = check.query.fromValue(Value.Convert(route.query!, query))
        if (!decoded.ok) throw new ErrorReply({ kind: 'error', ...decoded.error })
        query = decoded.value
      }
      const ctx = {
        method: route.method,
        url,
        params: m.params,
        query,
        headers,
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
          return ex.error({ kind: 'error', code: e.code, message: e.message, details: e.details }, authHeader)
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
