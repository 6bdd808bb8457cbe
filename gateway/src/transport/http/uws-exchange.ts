import type uWS from 'uWebSockets.js'
import { STATUS_CODES } from 'node:http'
import { Readable } from 'node:stream'
import { ChatError, ERRORS, type ErrorCode, errorBody, isChatError } from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import type { HttpMetrics } from './http-metrics.js'
import type { Headers, HttpReply } from './route.js'

/**
 * The per-request half of the uWS transport (with `uws-http.ts`): one request/response pair
 * (`Exchange`) and the readers of its body. The uWS rules these enforce are listed in `uws-http.ts`.
 */

const statusLine = (status: number) => `${status} ${STATUS_CODES[status] ?? 'Status'}`

export class ErrorReply extends Error {
  constructor(readonly reply: HttpReply & { kind: 'error' }) {
    super(reply.code)
  }
}
export const refuse = (code: ErrorCode, extra: Omit<HttpReply & { kind: 'error' }, 'kind' | 'code'> = {}) =>
  new ErrorReply({ kind: 'error', code, ...extra })

/** One request/response pair: tracks abort and completion so nothing writes twice or too late. */
export class Exchange {
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
  end(status: number, headers: Headers | undefined, body?: string, close = false): void {
    if (!this.open) return
    this.res.cork(() => {
      this.unpause()
      this.head(status, headers)
      // `close`: uWS answers with `Connection: close` and shuts the socket down after the write.
      if (body === undefined) this.res.endWithoutBody(0, close)
      else this.res.end(body, close)
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

  json(status: number, body: unknown, headers?: Headers, close = false): void {
    this.end(status, { 'content-type': 'application/json', ...headers }, JSON.stringify(body), close)
  }

  /** `close`: end the connection after the answer (what follows on it cannot be trusted). */
  error(r: HttpReply & { kind: 'error' }, headers?: Headers, close = false): void {
    const extra: Record<string, string> = { ...r.headers, ...headers }
    if (r.retryAfterMs !== undefined)
      extra['retry-after'] = String(Math.max(1, Math.ceil(r.retryAfterMs / 1000)))
    this.json(ERRORS[r.code].status, { error: errorBody(r.code, r.message, r) }, extra, close)
  }

  /**
   * Streams a Readable with backpressure; `length` known → Content-Length, else chunked. Never
   * writes more than `length`: a source that yields more (a store that ignored a range) is cut
   * there, because on a keep-alive connection the surplus would be read as the next response.
   */
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
    body.on('data', (data: Buffer) => {
      let chunk = data
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
        if (sent + chunk.length > length) {
          this.log.error(
            { route: this.routeLabel, length, sent, chunk: chunk.length },
            'streamed reply source yields more than its announced length; the surplus is dropped',
          )
          chunk = chunk.subarray(0, length - sent)
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
export const readBody = (ex: Exchange, max: number): Promise<Buffer> =>
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
export const streamBody = (ex: Exchange, max: number, hasBody: boolean): Readable => {
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
