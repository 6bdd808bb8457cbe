import type { Readable } from 'node:stream'
import type { ErrorCode } from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import type { Static, TRecord, TSchema, TString } from '@sinclair/typebox'
import type { Principal } from '../../ports.js'

/**
 * What an HTTP endpoint is, independent of the server library: route modules (accounts, views,
 * media) export these, `api.ts` lists them, and the one transport file (`uws-http.ts`) serves them.
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/**
 * - `none`: the body is ignored.
 * - `json`: read fully (at most `maxBodyBytes`), parsed and checked against `schema` before
 *   `handle` runs; BAD_JSON / INVALID_REQUEST / PAYLOAD_TOO_LARGE are answered by the transport.
 * - `stream`: `handle` gets a Node Readable fed as the bytes arrive, with backpressure; it errors
 *   with ChatError PAYLOAD_TOO_LARGE past `maxBodyBytes` (the transport answers 413) and with
 *   UPLOAD_ABORTED when the client goes away.
 */
export type BodyKind = 'none' | 'json' | 'stream'

/** Default limit of a `json` body. Streams have no default: a stream route must set its own. */
export const DEFAULT_JSON_BODY_BYTES = 64 * 1024

type RawQuery = TRecord<TString, TString>

export interface RequestContext<
  A extends boolean = boolean,
  B extends BodyKind = BodyKind,
  S extends TSchema = TSchema,
  Q extends TSchema = RawQuery,
> {
  readonly method: HttpMethod
  /** The request path, without the query string. */
  readonly url: string
  /** Path parameters (`:name` segments), URL-decoded. */
  readonly params: Readonly<Record<string, string>>
  /** The query: raw strings, or converted and checked against the route's `query` schema. */
  readonly query: Static<Q>
  /** Request headers, names lower-cased; a repeated header keeps its values joined with ", ". */
  readonly headers: Readonly<Record<string, string>>
  /** The body's Content-Length when the client sent one (checked unambiguous by the transport). */
  readonly contentLength: number | undefined
  /** The client address (through `trustedProxyHops` proxies). */
  readonly ip: string
  /** Aborted when the client goes away; pass it to whatever the handler awaits. */
  readonly signal: AbortSignal
  readonly principal: A extends true ? Principal : undefined
  readonly body: B extends 'json' ? Static<S> : undefined
  readonly stream: B extends 'stream' ? Readable : undefined
  readonly log: Logger
}

export interface RouteSpec<A extends boolean, B extends BodyKind, S extends TSchema, Q extends TSchema> {
  method: HttpMethod
  /** `/v1/things/:id`: literal segments and `:name` parameters, no wildcards. */
  path: string
  /** When true, a valid `Authorization: Bearer <access token>` is required (401 otherwise). */
  auth: A
  body: B
  /** The JSON body's schema (required when `body` is `json`). */
  schema?: S
  /**
   * The query's schema (from contracts); values are converted from their canonical spellings
   * (`7` to an integer, never `1.5`) before the check. Without one, no parameter is accepted.
   */
  query?: Q
  /** Largest body accepted, bytes (`json` defaults to 64 KiB; `stream` must set it). */
  maxBodyBytes?: number
  /** Name of a token bucket in the transport's `rateLimits` (e.g. `auth`). */
  rateLimit?: string
  /** Whose bucket: the client address (default, checked first) or the authenticated user. */
  rateLimitBy?: 'ip' | 'user'
  handle(ctx: RequestContext<A, B, S, Q>): Promise<HttpReply>
}

/** A route with its types erased, as the transport sees it. */
export interface HttpRoute {
  readonly method: HttpMethod
  readonly path: string
  readonly auth: boolean
  readonly body: BodyKind
  readonly schema?: TSchema
  readonly query?: TSchema
  readonly maxBodyBytes?: number
  readonly rateLimit?: string
  readonly rateLimitBy?: 'ip' | 'user'
  handle(ctx: RequestContext): Promise<HttpReply>
}

/** Defines a route with `handle`'s context typed from `auth`, `body`, `schema` and `query`. */
export const defineRoute = <
  A extends boolean,
  B extends BodyKind,
  S extends TSchema = TSchema,
  Q extends TSchema = RawQuery,
>(
  spec: RouteSpec<A, B, S, Q>,
): HttpRoute => spec as unknown as HttpRoute

export type Headers = Readonly<Record<string, string>>

/**
 * What a handler answers. Handlers return values; only the transport writes to the socket.
 * Security headers (nosniff, and `cache-control: no-store` unless the reply sets its own) are
 * added by the transport.
 */
export type HttpReply =
  | { kind: 'json'; status: number; body: unknown; headers?: Headers }
  | { kind: 'empty'; status: number; headers?: Headers }
  | {
      kind: 'stream'
      status: number
      body: Readable
      /** Known length: sent as Content-Length (and written with tryEnd); else chunked. */
      length?: number
      headers?: Headers
    }
  | {
      kind: 'error'
      code: ErrorCode
      message?: string
      details?: string[]
      retryAfterMs?: number
      /** E.g. `content-range: bytes *\/<size>` on a 416. */
      headers?: Headers
    }

export const reply = {
  json: (body: unknown, status = 200, headers?: Headers): HttpReply => ({
    kind: 'json',
    status,
    body,
    headers,
  }),
  empty: (status = 204, headers?: Headers): HttpReply => ({ kind: 'empty', status, headers }),
  stream: (body: Readable, o: { status?: number; length?: number; headers?: Headers } = {}): HttpReply => ({
    kind: 'stream',
    status: o.status ?? 200,
    body,
    length: o.length,
    headers: o.headers,
  }),
  /** An expected refusal; throwing a ChatError does the same. */
  error: (
    code: ErrorCode,
    extra: { message?: string; details?: string[]; retryAfterMs?: number; headers?: Headers } = {},
  ): HttpReply => ({ kind: 'error', code, ...extra }),
}
